#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report --format pprof, read back by go tool pprof: the figures
per allocating function equal the JSON's.  Without go the tests skip, and
fail under .ci/run (LS_CI=1).  Usage: test_pprof.py TEST"""

import collections
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
from cireaders import missing  # noqa: E402

DEMO = os.path.join(BUILD, "tools", "leakspy-demo")


def go():
    g = shutil.which("go")
    if g is None:
        missing("go not found (Debian: apt-get install golang-go)")
    return g


def pprof_file(dump, *args):
    """The profile of dump, in the dump's directory."""
    out = os.path.join(os.path.dirname(dump), "profile.pb.gz")
    p = subprocess.run([REPORT, "--format", "pprof", "-o", out] +
                       list(args) + [dump], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 0, "leakspy-report --format pprof exit status "
       "(stderr: %s)" % p.stderr.decode(errors="replace"))
    with open(out, "rb") as f:
        eq(f.read(2), b"\x1f\x8b", "gzip magic")
    return out


def go_pprof(prof, *args):
    p = subprocess.run([go(), "tool", "pprof", "-unit=B"] + list(args) +
                       [prof], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    eq(p.returncode, 0, "go tool pprof %s exit status (stderr: %s)" %
       (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def num(word):
    return int(word[:-1] if word.endswith("B") else word)


def top(prof, index):
    """Flat figures by function, from -top (no node dropped)."""
    out = go_pprof(prof, "-top", "-nodefraction=0", "-nodecount=1000000",
                   "-sample_index=" + index)
    lines = out.splitlines()
    k = next(i for i, l in enumerate(lines) if l.split()[:1] == ["flat"])
    flat = {}
    for l in lines[k + 1:]:
        w = l.split()
        if num(w[0]) != 0:
            flat[" ".join(w[5:])] = num(w[0])
    return flat


def traces(prof, index):
    """Figures by leaf function, from -traces."""
    out = go_pprof(prof, "-traces", "-sample_index=" + index)
    leaf = collections.Counter()
    first = False
    for l in out.splitlines():
        if l.startswith("-----------+"):
            first = True
            continue
        if first and l.strip():
            w = l.split()
            if num(w[0]) != 0:
                leaf[" ".join(w[1:])] += num(w[0])
            first = False
    return dict(leaf)


def by_leaf(rep, field):
    """The JSON's figures by the first frame's function."""
    c = collections.Counter()
    for s in rep["sites"]:
        fr = s["frames"]
        name = fr[0]["function"] if fr and fr[0]["function"] else None
        check(name is not None, "a site without a function name: %r" %
              fr[:1])
        c[name] += s[field]
    return {k: v for k, v in c.items() if v != 0}


def agree(prof, rep, pairs):
    for index, field in pairs:
        want = by_leaf(rep, field)
        check(want, "the JSON has %s" % field)
        eq(top(prof, index), want, "-top %s against the JSON's %s" %
           (index, field))
        eq(traces(prof, index), want, "-traces %s against the JSON's %s" %
           (index, field))


def demo_dump(env=None):
    e = {"LEAKSPY_INTERVAL": "0.5"}
    e.update(env or {})
    r = run([DEMO], env=e, want_rc=0, timeout=60)
    return one_dump(r)


def test_pprof_demo():
    """The demo's profile: inuse and alloc, space and objects, as the
    JSON has them."""
    go()
    dump = demo_dump()
    prof = pprof_file(dump)
    agree(prof, report(dump), (("inuse_space", "live_bytes"),
                               ("inuse_objects", "live_blocks"),
                               ("alloc_space", "allocated_bytes"),
                               ("alloc_objects", "allocated_blocks")))
    out = go_pprof(prof, "-top")
    check("Type: inuse_space" in out, "inuse_space is the default: %s" %
          out[:400])


def test_pprof_diff():
    """--diff: inuse is what was allocated after A and is live at B."""
    go()
    dump = demo_dump()
    prof = pprof_file(dump, "--diff", "1..")
    rep = report(dump, "--diff", "1..")
    for s in rep["sites"]:
        s["new_bytes"] = s["diff"]["new_bytes"]
        s["new_blocks"] = s["diff"]["new_blocks"]
    agree(prof, rep, (("inuse_space", "new_bytes"),
                      ("inuse_objects", "new_blocks")))


def test_pprof_sampled():
    """A sampled dump: its figures are already estimates; the profile's
    equal the JSON's, and its period is the sampling rate."""
    go()
    dump = demo_dump({"LEAKSPY_SAMPLE": "64k"})
    rep = report(dump)
    eq(rep["estimated"], True, "estimated")
    prof = pprof_file(dump)
    agree(prof, rep, (("inuse_space", "live_bytes"),
                      ("inuse_objects", "live_blocks")))
    raw = go_pprof(prof, "-raw")
    check("Period: 65536" in raw, "period 65536: %s" % raw[:400])


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
