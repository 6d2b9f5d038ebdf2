#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Services that change themselves under leakspy: they drop privileges,
chroot, sandbox themselves, are stopped by signals, allocate before libc
is up.  Each runs as without leakspy and leaves its data.
Usage: test_fidelity.py TEST"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403


def need_root():
    if os.getuid() != 0:
        raise Skip("needs root")


def open_dir():
    """A directory nobody may read and write in, as run() makes them."""
    d = tempfile.mkdtemp(prefix="lst.")
    os.chmod(d, 0o755)
    return d


def check_privdrop(argv, what, dumps_want=1):
    """privdrop's dump (or its fork child's) has snapshots from after the
    drop, the final one, and exact figures."""
    r = same_as_native(argv, env={"LEAKSPY_INTERVAL": "0.05"})
    eq((r.rc, r.out, r.err), (0, b"ok\n", b""), what +
       ": exit status, output, messages")
    eq(len(r.dumps), dumps_want, what + ": dumps")
    reps = [report(d) for d in r.dumps]
    pids = {x["process"]["pid"] for x in reps}
    # The one that dropped: the fork child's, if there is one.
    rep = [x for x in reps if x["process"]["ppid"] in pids or
           len(reps) == 1][0]
    eq(rep["complete"], True, what + ": the final snapshot")
    expect_site(rep, "after_drop", 15 * 500, 15)
    expect_site(rep, "before_drop", 2000, 2)
    check(rep["snapshots"] >= 4, what + ": %d snapshots" % rep["snapshots"])
    return r, rep


def test_privdrop():
    """A program that gives up root (setgroups, setgid, setuid to nobody)
    goes on writing snapshots to its dump, created 0600 by root, and its
    final one; so does one that chroots first (nothing is written inside
    the new root) and a fork child that gives up root itself."""
    need_root()
    prog = victim("privdrop")
    r, rep = check_privdrop([prog, "setuid"], "setuid")
    dump = one_dump(r)
    eq(os.stat(dump).st_uid, 0, "the dump stays root's")
    eq(os.stat(dump).st_mode & 0o777, 0o600, "mode 0600")
    # The snapshots after the drop saw after_drop grow.
    seen = [by_function(report(dump, "--snapshot", str(i)), "after_drop")[1]
            for i in range(rep["snapshots"])]
    check(len(set(seen)) >= 3, "growth seen after the drop: %r" % seen)
    jail = tempfile.mkdtemp(prefix="lst.jail.")
    check_privdrop([prog, "chroot", jail], "chroot")
    eq(os.listdir(jail), [], "nothing written inside the chroot")
    r, rep = check_privdrop([prog, "fork"], "fork", dumps_want=2)


TESTS = {k[5:]: v for k, v in globals().items() if k.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
