# SPDX-License-Identifier: MIT
"""Helpers for leakspy's shim and report tests.

A test is a function; main() runs the one named on the command line and
exits 0 (pass), 1 (fail), 77 (skip) or 99 (harness error), as meson
expects; main() with --list prints their names, which is how meson
learns them (tests/*/meson.build), so that none can drop out of CI.
Victims run with a timeout, with and without the shim, and their dumps
are read back through leakspy-report --format json.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

BUILD = os.environ.get("LS_BUILD", "")
SRC = os.environ.get("LS_SRC", "")
LIB = os.path.join(BUILD, "preload", "libleakspy.so")
REPORT = os.path.join(BUILD, "tools", "leakspy-report")
REPORT_SAN = os.path.join(BUILD, "tests", "unit", "leakspy-report-san")
LAUNCHER = os.path.join(BUILD, "tools", "leakspy")
VICTIMS = os.path.join(BUILD, "tests", "victims")
TIMEOUT = 30


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


def victim(name):
    path = os.path.join(VICTIMS, name)
    if not os.path.exists(path):
        raise Skip("victim %s not built" % name)
    return path


# The runs of the test under way, to check that it looked at each one's
# exit status.
_runs = []


class Run:
    """A finished run: its exit status rc, out, err, the dumps it left and
    its directory.  A test must look at rc (or have run() or
    same_as_native() check it): main() fails a test that leaves the exit
    status of one of its runs unchecked."""

    def __init__(self, rc, out, err, dumps, tmp, argv=None):
        self._rc, self.out, self.err, self.dumps, self.tmp = \
            rc, out, err, dumps, tmp
        self.argv = argv
        self.checked = False
        _runs.append(self)

    @property
    def rc(self):
        self.checked = True
        return self._rc


def tmpdir():
    """A fresh directory (mode 0700), as run() makes them."""
    return tempfile.mkdtemp(prefix="lst.")


def run(argv, preload=True, env=None, cwd=None, timeout=TIMEOUT, stdin=None,
        want_rc=None):
    """Run argv in a fresh directory; return Run with the dumps it left.
    With want_rc, its exit status must be that."""
    tmp = tmpdir()
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKSPY_") or k == "LD_PRELOAD":
            del e[k]
    e["LEAKSPY_INTERVAL"] = "0"
    if preload:
        e["LD_PRELOAD"] = LIB
    if env:
        e.update(env)
    p = subprocess.run(argv, cwd=cwd or tmp, env=e, stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    dumps = sorted(os.path.join(tmp, f) for f in os.listdir(tmp)
                   if f.endswith(".lsd"))
    r = Run(p.returncode, p.stdout, p.stderr, dumps, tmp, argv)
    if want_rc is not None:
        err = r.err.decode(errors="replace")[-2000:]
        eq(r.rc, want_rc, "exit status of %s%s%s" %
           (os.path.basename(argv[0]), " under leakspy" if preload else "",
            " (stderr: %s)" % err if err else ""))
    return r


def report(dump, *args, want_rc=0, binary=None):
    """leakspy-report --format json on dump; returns the parsed object."""
    p = subprocess.run([binary or REPORT, "--format", "json"] + list(args) +
                       [dump], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    if p.returncode != want_rc:
        raise Fail("leakspy-report %s: exit %d, want %d; stderr: %s" %
                   (dump, p.returncode, want_rc, p.stderr.decode()))
    try:
        return json.loads(p.stdout)
    except ValueError as ex:
        raise Fail("leakspy-report produced invalid JSON: %s\n%s" %
                   (ex, p.stdout[:2000].decode(errors="replace")))


def report_text(dump, *args, want_rc=0):
    p = subprocess.run([REPORT] + list(args) + [dump], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    if p.returncode != want_rc:
        raise Fail("leakspy-report %s: exit %d, want %d; stderr: %s" %
                   (dump, p.returncode, want_rc, p.stderr.decode()))
    return p.stdout.decode(), p.stderr.decode()


def by_function(rep, fn):
    """Sum of the sites whose first frame is function fn: (bytes, blocks)."""
    b = n = 0
    for s in rep["sites"]:
        if s["frames"] and s["frames"][0]["function"] == fn:
            b += s["live_bytes"]
            n += s["live_blocks"]
    return b, n


def sites_of(rep, fn):
    return [s for s in rep["sites"]
            if s["frames"] and s["frames"][0]["function"] == fn]


def expect_site(rep, fn, nbytes, nblocks):
    eq(by_function(rep, fn), (nbytes, nblocks),
       "live (bytes, blocks) of %s" % fn)


def one_dump(r):
    if len(r.dumps) != 1:
        raise Fail("want one dump, found %r (stderr: %s)" %
                   (r.dumps, r.err.decode(errors="replace")))
    return r.dumps[0]


def same_as_native(argv, want_rc=None, **kw):
    """Run argv with and without the shim: same exit status (want_rc, if
    given) and output."""
    native = run(argv, preload=False, want_rc=want_rc, **kw)
    traced = run(argv, preload=True, **kw)
    eq(traced.rc, native.rc, "exit status under leakspy")
    eq(traced.out, native.out, "standard output under leakspy")
    return traced


def main(tests):
    """Run the test named by the one argument; with --list, print the
    names of all tests, one a line, in their order (meson reads them)."""
    if sys.argv[1:] == ["--list"]:
        for name in tests:
            print(name)
        return 0
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print("usage: %s {--list,%s}" % (sys.argv[0],
                                         ",".join(sorted(tests))))
        return 99
    try:
        tests[sys.argv[1]]()
        unchecked = [r.argv for r in _runs if not r.checked]
        if unchecked:
            raise Fail("the exit status of %d runs never checked: %r" %
                       (len(unchecked), unchecked[:5]))
    except Skip as ex:
        print("SKIP:", ex)
        return 77
    except Fail as ex:
        print("FAIL:", ex)
        return 1
    except Exception:
        traceback.print_exc()
        return 99
    print("ok")
    return 0
