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


def build_id(path):
    p = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    ids = [l.split()[-1] for l in p.stdout.decode().splitlines()
           if "Build ID:" in l]
    check(len(ids) == 1, "%s's build id: %r" % (path, ids))
    return ids[0]


def raw_parts(prof):
    """-raw's header fields, locations {id: [(function, place), ...]},
    inlined first, and mappings [(path, build id)]."""
    head, locs, maps, part, last = {}, {}, [], "head", None
    for l in go_pprof(prof, "-raw").splitlines():
        if l in ("Samples:", "Locations", "Mappings"):
            part = l
            continue
        w = l.split()
        if part == "head" and ": " in l:
            k, v = l.split(": ", 1)
            head[k] = v
        elif part == "Locations" and w and w[0].endswith(":"):
            last = int(w[0][:-1])
            locs[last] = [(w[3], w[4])]
        elif part == "Locations" and w:
            locs[last].append((w[0], w[1]))
        elif part == "Mappings" and w:
            maps.append((w[2], w[3]))
    return head, locs, maps


ALLOC = {"malloc", "calloc", "realloc", "free", "posix_memalign",
         "aligned_alloc", "memalign", "valloc", "pvalloc"}


def test_pprof_raw():
    """The demo's profile as -raw prints it: the snapshot's time and the
    run's duration, the demo's and libc's mappings with their build ids
    (none of leakspy's), no frame of leakspy or of the allocator."""
    go()
    dump = demo_dump()
    rep = report(dump)
    head, locs, maps = raw_parts(pprof_file(dump))
    at = (rep["process"]["start_time_ns"] / 1e9 +
          rep["snapshot"]["time_s"])
    day, clock = head["Time"].split()[:2]
    secs = subprocess.run(["date", "-u", "-d", day + " " + clock, "+%s.%N"],
                          stdout=subprocess.PIPE, check=True).stdout
    check(abs(float(secs) - at) < 0.002, "Time: %s, the snapshot at %.3f" %
          (head["Time"], at))
    check(abs(float(head["Duration"]) - rep["snapshot"]["time_s"]) < 0.01,
          "Duration: %s, the snapshot at %.3f s" %
          (head["Duration"], rep["snapshot"]["time_s"]))
    paths = dict(maps)
    eq(paths.get(DEMO), build_id(DEMO), "the demo's mapping and build id")
    libc = [m for m in paths if os.path.basename(m) == "libc.so.6"]
    check(len(libc) == 1, "libc's mapping: %r" % maps)
    eq(paths[libc[0]], build_id(libc[0]), "libc's build id")
    check(not [m for m in paths if "leakspy.so" in m],
          "no mapping of leakspy's: %r" % maps)
    fns = {fn for lines in locs.values() for fn, _ in lines}
    check(not [f for f in fns if f in ALLOC or f.startswith("lsp_")],
          "no allocator or leakspy frame: %r" % sorted(fns))
    check({"fetch_result", "register_cancel", "main"} <= fns,
          "the demo's functions: %r" % sorted(fns))


def test_pprof_inline():
    """An inlined allocation: one location, make_node at its line, then
    build_list; -traces shows it as inline."""
    go()
    dump = one_dump(run([victim("inlined")], want_rc=0))
    prof = pprof_file(dump)
    head, locs, maps = raw_parts(prof)
    src = os.path.join(SRC, "tests", "victims", "inlined.c")
    rep = report(dump)
    fr = rep["sites"][0]["frames"]
    eq([(f["function"], f["inlined"]) for f in fr[:2]],
       [("make_node", True), ("build_list", False)], "the JSON's frames")
    want = [("make_node", "%s:%d" % (src, fr[0]["line"])),
            ("build_list", "%s:%d" % (src, fr[1]["line"]))]
    check(want in locs.values(), "a location of %r: %r" % (want, locs))
    out = go_pprof(prof, "-traces")
    check("make_node (inline)\n" in out and
          "make_node (inline)\n             build_list\n" in out,
          "-traces: %s" % out)


def test_pprof_diff_base():
    """pprof -diff_base of the profile at snapshot 1 against the last:
    each function's flat figure is its live bytes' change between them,
    as the JSON has it."""
    go()
    dump = demo_dump()
    base = pprof_file(dump, "--snapshot", "1")
    os.rename(base, base + ".1")
    base += ".1"
    last = pprof_file(dump)
    was, now = by_leaf(report(dump, "--snapshot", "1"), "live_bytes"), \
        by_leaf(report(dump), "live_bytes")
    want = {f: now.get(f, 0) - was.get(f, 0) for f in set(was) | set(now)}
    want = {f: v for f, v in want.items() if v}
    check(want, "a change between snapshot 1 and the last")
    out = go_pprof(last, "-top", "-nodefraction=0", "-nodecount=1000000",
                   "-diff_base=" + base)
    lines = out.splitlines()
    k = next(i for i, l in enumerate(lines) if l.split()[:1] == ["flat"])
    got = {" ".join(w[5:]): num(w[0]) for w in
           (l.split() for l in lines[k + 1:]) if num(w[0]) != 0}
    eq(got, want, "-diff_base: the change per function")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
