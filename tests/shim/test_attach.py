#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tracking that starts in a running process: libleakspy.so loaded by
dlopen(RTLD_LOCAL) stays dormant, leakspy_attach() redirects the loaded
objects' GOT entries (and those of objects loaded later), and
leakspy_detach() puts them back.  tests/victims/selfattach.c makes the
calls itself, as `leakspy attach` makes them from outside.
Usage: test_attach.py TEST"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

PLUGIN = os.path.join(VICTIMS, "libplugin.so")


def selfattach(tmp_settings=""):
    settings = "LEAKSPY_OUTPUT=%s/attach.lsd\nLEAKSPY_INTERVAL=0\n" + \
        tmp_settings
    d = tmpdir()
    r = run([victim("selfattach"), LIB, settings % d, PLUGIN],
            preload=False, cwd=d, want_rc=0)
    dumps = sorted(f for f in os.listdir(d) if f.endswith(".lsd"))
    eq(dumps, ["attach.lsd"], "the dumps written (the settings' path only)")
    return r, os.path.join(d, "attach.lsd")


def test_figures():
    """Exactly what was allocated after the attach and still live at the
    detach; blocks from before are unknown, their frees counted."""
    r, dump = selfattach()
    eq(r.out.decode().splitlines(), [
        "errno after attach: 1234",
        "second attach: -17 (leakspy is attached already)",
        "detach: 0, errno 4321",
        "second detach: -2 (leakspy is not attached)",
        "selfattach: ok"], "the victim's output")
    eq(r.err, b"", "nothing written to the program's stderr")
    rep = report(dump)
    expect_site(rep, "after_attach", 48000, 1000)
    expect_site(rep, "after_calloc", 6 * 4096, 6)
    expect_site(rep, "after_realloc", 5000, 1)
    # Loaded after the attach: redirected by the writer's look.
    expect_site(rep, "plugin_leak", 2 * 777, 2)
    for fn in ("before_attach", "after_detach"):
        eq(by_function(rep, fn), (0, 0), "live figures of %s" % fn)
    # 50 frees and a realloc of blocks from before the attach.
    eq(rep["coverage"]["unknown_frees"], 51, "frees of unknown blocks")
    eq(rep["coverage"]["attached"], True, "coverage.attached")
    eq(rep["final"]["how"], "detach", "how the dump ended")
    eq(rep["snapshot"]["reason"], "detach", "the last snapshot's reason")
    eq((rep["scan"]["complete"], rep["scan"]["reason"]),
       (False, "blocks allocated before the attach are not known"),
       "the scan at the detach")
    text, _ = report_text(dump)
    check("\nattached:  " in text and "tracking since the attach" in text,
          "the text report says tracking began at the attach:\n" + text)


def test_dormant():
    """Loaded by dlopen and never attached: no dump, nothing changed."""
    d = tmpdir()
    r = run([victim("selfattach"), LIB, "", PLUGIN, "dormant"],
            preload=False, cwd=d, want_rc=0)
    eq(r.out, b"dormant: ok\n", "the victim's output")
    eq([f for f in os.listdir(d) if f.endswith(".lsd")], [], "dumps")


if __name__ == "__main__":
    sys.exit(main({"attach_figures": test_figures,
                  "attach_dormant": test_dormant}))
