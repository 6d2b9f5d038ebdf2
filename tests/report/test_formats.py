#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The report's line formats on a real dump (the demo service's):
folded stacks (--format collapsed) and memprof2's line (--format brief)
give the JSON's exact figures.  Usage: test_formats.py TEST"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

DEMO = os.path.join(BUILD, "tools", "leakspy-demo")
# A name has no ';' and does not begin or end with a space.
NAME = r"([^;\n ]|[^;\n ][^;\n]*[^;\n ])"
FOLDED = [None] + [re.compile(r"^%s(;%s)*%s$" % (NAME, NAME, r" (\d+)" * n))
                   for n in (1, 2)]
BRIEF = re.compile(r"^(\d+) ([^:\n]+):(\d+):([^\n]+)$")

_dump = []


def demo_dump():
    """The demo service's dump, 5 snapshots a second: made once."""
    if not _dump:
        r = run([DEMO], env={"LEAKSPY_INTERVAL": "0.2"}, want_rc=0)
        _dump.append(one_dump(r))
    return _dump[0]


def lines(*args, want_rc=0):
    p = subprocess.run([REPORT] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, want_rc, "leakspy-report %s: exit status (stderr %s)" %
       (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout.decode().splitlines(), p.stderr.decode()


def folded(*args, counts=1):
    """{stack: counts} of leakspy-report --format collapsed, every line
    checked against the folded grammar with that many counts."""
    out = {}
    for ln in lines("--format", "collapsed", *args)[0]:
        check(FOLDED[counts].match(ln), "a folded line: %r" % ln)
        fields = ln.rsplit(" ", counts)
        stack = fields[0]
        check(stack not in out, "one line a stack: %r" % ln)
        out[stack] = tuple(int(x) for x in fields[1:])
    check(out, "folded lines")
    return out


def json_by_leaf(rep, key="live_bytes"):
    """{innermost function: sum of key} over rep's sites, and the stacks
    root first as the folded lines write them."""
    sums, stacks = {}, {}
    for s in rep["sites"]:
        fns = [f["function"] for f in s["frames"]]
        v = s["diff"][key] if key == "new_bytes" else s[key]
        sums[fns[0]] = sums.get(fns[0], 0) + v
        stacks.setdefault(";".join(reversed(fns)), 0)
        stacks[";".join(reversed(fns))] += v
    return sums, stacks


def leaf_sums(fold, i=0):
    out = {}
    for stack, counts in fold.items():
        leaf = stack.split(";")[-1]
        out[leaf] = out.get(leaf, 0) + counts[i]
    return out


def nonzero(d):
    return {k: v for k, v in d.items() if v}


def test_collapsed():
    """Folded stacks, root first: one line a stack, its live bytes (or
    with --weight blocks its blocks) exactly the JSON's, sum included."""
    dump = demo_dump()
    rep = report(dump)
    for weight, key in (("bytes", "live_bytes"), ("blocks", "live_blocks")):
        fold = folded("--weight", weight, dump)
        sums, stacks = json_by_leaf(rep, key)
        eq({k: v[0] for k, v in fold.items()}, nonzero(stacks),
           "folded stacks weighted by " + weight)
        eq(leaf_sums(fold), nonzero(sums), "per function, " + weight)
        eq(sum(v[0] for v in fold.values()), rep["totals"][key],
           "total " + weight)
    check(any(k.endswith(";run_query;fetch_result") for k in fold),
          "main calls run_query calls fetch_result: %r" % list(fold))
    # -n N: the N biggest lines, counted once merged.
    fold = folded(dump)
    biggest = sorted(fold.items(), key=lambda kv: (-kv[1][0], kv[0]))
    for n in (1, 2, len(fold) + 5):
        top = folded("-n", str(n), dump)
        eq(top, dict(biggest[:n]), "-n %d: the %d biggest stacks" % (n, n))


def test_collapsed_diff():
    """With --diff A..B: inferno's differential lines, live at A then
    live at B, for every site live at either; with --weight window what
    was allocated after A and is live at B, as the JSON's new_bytes."""
    dump = demo_dump()
    at_a = report(dump, "--snapshot", "3")
    at_b = report(dump, "--snapshot", "-2")
    fold = folded("--diff", "3..-2", dump, counts=2)
    eq(nonzero(leaf_sums(fold, 0)), nonzero(json_by_leaf(at_a)[0]),
       "live bytes at A")
    eq(nonzero(leaf_sums(fold, 1)), nonzero(json_by_leaf(at_b)[0]),
       "live bytes at B")
    win = folded("--diff", "3..-2", "--weight", "window", dump)
    d = report(dump, "--diff", "3..-2")
    eq(leaf_sums(win), nonzero(json_by_leaf(d, "new_bytes")[0]),
       "the window's bytes per function")
    check(all(len(v) == 1 for v in win.values()), "one count a line")
    eq(sum(v[0] for v in win.values()), d["diff"]["new_bytes"],
       "the window's total")


def test_brief():
    """One line an allocation point, bytes first, file:line:function,
    biggest first: per function the JSON's live bytes; with --diff its
    new bytes."""
    dump = demo_dump()
    for args, key in (((), "live_bytes"), (("--diff", "2.."), "new_bytes")):
        rep = report(dump, *args)
        out, err = lines("--format", "brief", *args, dump)
        eq(err, "", "stderr")
        got, sizes = {}, []
        for ln in out:
            m = BRIEF.match(ln)
            check(m, "a brief line: %r" % ln)
            sizes.append(int(m.group(1)))
            got[m.group(4)] = got.get(m.group(4), 0) + int(m.group(1))
            check(m.group(2).endswith("demo-service.c") or
                  m.group(4) not in ("fetch_result", "command_new"),
                  "the demo's own file: %r" % ln)
        eq(sizes, sorted(sizes, reverse=True), "biggest first")
        eq(got, nonzero(json_by_leaf(rep, key)[0]),
           "bytes per function " + " ".join(args))
        check(len(set(out)) == len(out), "one line a point")
        # -n N: the first N of those lines.
        for n in (1, 2):
            top, _ = lines("--format", "brief", "-n", str(n), *args, dump)
            eq(top, out[:n], "-n %d %s" % (n, " ".join(args)))


def test_format_usage():
    """Wrong combinations are usage errors (exit 2) with a message."""
    dump = demo_dump()
    for args, word in ((("--format", "flame", dump), "unknown format"),
                       (("--weight", "blocks", dump), "--weight"),
                       (("-f", "collapsed", "-w", "window", dump),
                        "--weight"),
                       (("-f", "collapsed", "-w", "lines", dump),
                        "--weight"),
                       (("-f", "junit", dump), "unknown format"),
                       (("--check", "-f", "brief", dump),
                        "unknown format")):
        _, err = lines(*args, want_rc=2)
        check(word in err, "%r says %r: %r" % (args, word, err))


def wait_open(pid, path):
    """Until process pid has path open (leakspy-report opens a FIFO
    without waiting for a writer, and would read an empty dump if it came
    first): a writer is then there when it reads."""
    deadline = time.monotonic() + TIMEOUT
    fds = "/proc/%d/fd" % pid
    while True:
        try:
            if any(os.readlink(os.path.join(fds, f)) == path
                   for f in os.listdir(fds)):
                return
        except OSError:
            pass
        check(time.monotonic() < deadline, "leakspy-report did not open "
              "%s in %d s" % (path, TIMEOUT))
        time.sleep(0.01)


def test_progress():
    """A dump that takes more than a second to read (from a FIFO whose
    writer pauses) has its progress said on stderr, and the report is
    the same; a quick read says nothing."""
    dump = demo_dump()
    with open(dump, "rb") as f:
        data = f.read()
    want, err = lines("--format", "brief", dump)
    eq(err, "", "a quick read: stderr")
    fifo = os.path.join(tmpdir(), "slow.lsd")
    os.mkfifo(fifo)
    # Read and write, so that opening does not wait and leakspy-report
    # finds a writer whenever it comes.
    with os.fdopen(os.open(fifo, os.O_RDWR), "wb") as f:
        p = subprocess.Popen([REPORT, "--format", "brief", fifo],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_open(p.pid, fifo)
        f.write(data[:len(data) // 2])
        f.flush()
        time.sleep(1.5)
        f.write(data[len(data) // 2:])
    out, err = p.communicate(timeout=TIMEOUT)
    eq(p.returncode, 0, "exit status")
    eq(out.decode().splitlines(), want, "the report")
    eq(err.decode(), "leakspy-report: %s: read %d of %d MiB (100%%)\n" %
       (fifo, len(data) >> 20, len(data) >> 20), "the progress line")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
