#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report on stored, fresh and damaged dumps.  Usage:
test_report.py TEST"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402

DATA = os.path.join(HERE, "data")
TEST_READER = os.path.join(BUILD, "tests", "unit", "test_reader")


def tool(args, binary=None, cwd=HERE):
    p = subprocess.run([binary or REPORT] + args, cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


def golden(args, expected):
    rc, out, err = tool(args)
    eq(rc, 0, "exit status (stderr: %s)" % err)
    with open(os.path.join(DATA, expected)) as f:
        want = f.read()
    if out != want:
        with tempfile.NamedTemporaryFile("w", suffix=".out",
                                         delete=False) as g:
            g.write(out)
        d = subprocess.run(["diff", "-u", os.path.join(DATA, expected),
                            g.name], stdout=subprocess.PIPE).stdout.decode()
        raise Fail("output differs from %s:\n%s" % (expected, d))


def test_golden_text():
    golden(["--top", "0", "data/leaky.lsd"], "leaky.txt")


def test_golden_json():
    golden(["--format", "json", "data/leaky.lsd"], "leaky.json")


def test_golden_growth():
    # A stored run of pattern seed1: series, verdicts and sparklines.
    golden(["--top", "0", "data/seed1.lsd"], "seed1.txt")
    golden(["--format", "json", "data/seed1.lsd"], "seed1.json")


def test_crosscheck():
    # The report agrees with a reader written from leakspy-dump(5) alone.
    with open(os.path.join(DATA, "leaky.lsd"), "rb") as f:
        d = lsdump.parse(f.read())
    last = d["snapshots"][-1]["sites"]
    rep = report(os.path.join(DATA, "leaky.lsd"))
    eq(rep["totals"]["live_bytes"], sum(v[0] for v in last.values()),
       "live bytes")
    eq(rep["totals"]["live_blocks"], sum(v[1] for v in last.values()),
       "live blocks")
    eq(rep["totals"]["allocated_bytes"], sum(v[2] for v in last.values()),
       "allocated bytes")
    eq(rep["process"]["pid"], d["process"]["pid"], "pid")
    eq(rep["snapshots"], len(d["snapshots"]), "snapshots")
    # Ages as the independent reader sees them, in a fresh dump.
    dump = fresh_dump()
    with open(dump, "rb") as f:
        d = lsdump.parse(f.read())
    last = d["snapshots"][-1]
    eq(last["ages_complete"], 1, "ages complete")
    eq(sum(v[0] for v in last["ages"].values()),
       sum(v[1] for v in last["sites"].values()),
       "blocks by age add up to the live blocks")
    eq(sum(v[1] for v in last["ages"].values()),
       sum(v[0] for v in last["sites"].values()),
       "bytes by age add up to the live bytes")


def fresh_dump():
    """A real dump with several snapshots, sites and modules."""
    r = run([victim("sleeper"), "120"], env={"LEAKSPY_INTERVAL": "0.03"})
    eq(r.rc, 0, "sleeper's exit status")
    return one_dump(r)


def test_damaged():
    # Every cut and every flipped bit, in-process under ASan and UBSan.
    if not os.path.exists(TEST_READER):
        raise Skip("test_reader not built")
    dump = fresh_dump()
    p = subprocess.run([TEST_READER, dump], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600)
    eq(p.returncode, 0, "test_reader: %s" % p.stderr.decode()[-3000:])


def test_truncated_cli():
    # Cut at every record boundary and in the middle of every record: exit
    # 3, a message with the byte offset, and what came before is printed.
    dump = fresh_dump()
    with open(dump, "rb") as f:
        data = f.read()
    cuts = lsdump.boundaries(data)
    cuts += [(a + b) // 2 for a, b in zip(cuts, cuts[1:])] + [0, 5]
    tmp = tempfile.mkdtemp(prefix="lst.")
    whole = report(dump, binary=REPORT_SAN)
    for n in sorted(set(cuts)):
        if n >= len(data):
            continue
        path = os.path.join(tmp, "cut.lsd")
        with open(path, "wb") as f:
            f.write(data[:n])
        rc, out, err = tool(["--format", "json", path], binary=REPORT_SAN)
        eq(rc, 3, "exit status for a dump cut at %d of %d" % (n, len(data)))
        check("runtime error" not in err and "Sanitizer" not in err,
              "sanitizer report at cut %d: %s" % (n, err))
        check(": %s: " % path in err, "message names the file "
              "at cut %d: %r" % (n, err))
        rep = json.loads(out)
        eq(rep["complete"], False, "complete at cut %d" % n)
        check(rep["snapshots"] <= whole["snapshots"], "snapshots")
        if n in lsdump.boundaries(data)[1:] and n > 200:
            check(rep["snapshots"] >= 0, "partial report")
    # Inside a record: the message gives the record's offset.
    mid = (cuts[3] + cuts[4]) // 2
    with open(path, "wb") as f:
        f.write(data[:mid])
    rc, out, err = tool([path], binary=REPORT_SAN)
    check("offset %d: record cut short" % cuts[3] in err,
          "offset of the cut record in %r" % err)


def test_flipped_cli():
    dump = fresh_dump()
    with open(dump, "rb") as f:
        data = bytearray(f.read())
    tmp = tempfile.mkdtemp(prefix="lst.")
    path = os.path.join(tmp, "flip.lsd")
    for i in range(0, len(data), max(1, len(data) // 40)):
        d = bytearray(data)
        d[i] ^= 0x10
        with open(path, "wb") as f:
            f.write(d)
        rc, out, err = tool([path], binary=REPORT_SAN)
        eq(rc, 3, "exit status with byte %d flipped" % i)
        check("Sanitizer" not in err and "runtime error" not in err,
              "sanitizer report: %s" % err)
        check("offset" in err or "not a leakspy dump" in err or
              "version" in err, "reason given: %r" % err)


def test_bad_inputs():
    tmp = tempfile.mkdtemp(prefix="lst.")
    empty = os.path.join(tmp, "empty.lsd")
    open(empty, "w").close()
    junk = os.path.join(tmp, "junk.lsd")
    with open(junk, "wb") as f:
        f.write(b"\x7fELF" + b"\0" * 100)
    future = os.path.join(tmp, "future.lsd")
    with open(future, "wb") as f:
        f.write(b"leakspy-dump 2\n")
    with open(os.path.join(DATA, "leaky.lsd"), "rb") as f:
        good = f.read()
    recs = list(lsdump.records(good))
    second = len(lsdump.MAGIC) + 12 + len(recs[0][2])

    def insert(name, rec):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(good[:second] + rec + good[second:])
        return path

    unknown = insert("unknown.lsd", lsdump.record(77, b"x"))
    optional = insert("optional.lsd", lsdump.record(0x8077, b"later"))
    cases = [
        ([os.path.join(tmp, "missing.lsd")], 2, "No such file"),
        ([tmp], 2, "not a regular file"),
        (["/dev/zero"], 2, "not a regular file"),
        ([empty], 3, "empty file"),
        ([junk], 3, "not a leakspy dump"),
        ([future], 3, "unsupported dump version"),
        ([unknown], 3, "offset %d: unknown record type 77" % second),
        (["--format", "xml", empty], 2, "unknown format"),
        (["--top", "-1", empty], 2, "--top"),
        (["--snapshot", "x", empty], 2, "--snapshot"),
        (["--diff", "3", empty], 2, "--diff wants A..B"),
        (["--diff", "x..y", empty], 2, "--diff wants A..B"),
        (["--diff", "1..2", "-s", "1", empty], 2, "cannot be combined"),
        (["--diff", "0..", "data/leaky.lsd"], 2, "--diff wants two"),
        (["--snapshot", "5", "data/leaky.lsd"], 2, "no such snapshot"),
        (["--bogus"], 2, "usage"),
        ([], 2, "usage"),
    ]
    for args, want_rc, msg in cases:
        rc, out, err = tool(args, binary=REPORT_SAN)
        eq(rc, want_rc, "exit status of leakspy-report %r" % args)
        check(msg in err, "message %r for %r, got %r" % (msg, args, err))
        check("Sanitizer" not in err, "sanitizer report: %s" % err)
    rc, out, err = tool([optional], binary=REPORT_SAN)
    eq(rc, 0, "an unknown optional record is skipped: %s" % err)
    rc, out, err = tool(["--help"])
    eq(rc, 0, "--help")
    check(out.startswith("usage: leakspy-report"), "--help prints usage")


def test_snapshots_and_top():
    dump = fresh_dump()
    whole = report(dump)
    check(whole["snapshots"] >= 3, "several snapshots")
    first = report(dump, "--snapshot", "0")
    eq(first["snapshot"]["index"], 0, "--snapshot 0")
    last = report(dump, "--snapshot", "-1")
    eq(last["snapshot"]["index"], whole["snapshots"] - 1, "--snapshot -1")
    check(by_function(first, "grow")[1] < by_function(last, "grow")[1],
          "grow() kept more blocks later")
    top = report(os.path.join(DATA, "leaky.lsd"), "--top", "2")
    eq(len(top["sites"]), 2, "--top 2")
    eq(top["totals"]["sites"], 13, "totals.sites counts all sites")
    rc, out, err = tool(["-n", "1", "data/leaky.lsd", "data/leaky.lsd"])
    eq(rc, 0, "two files")
    eq(out.count("leakspy report: data/leaky.lsd"), 2, "a report per file")
    # Several files: one JSON value, an array of the per-file objects.
    p = subprocess.run([REPORT, "-f", "json", "data/leaky.lsd",
                        "data/seed1.lsd", "data/leaky.lsd"], cwd=HERE,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 0, "three files")
    objs = json.loads(p.stdout)
    eq(type(objs), list, "one JSON array for three files")
    eq([o["file"] for o in objs], ["data/leaky.lsd", "data/seed1.lsd",
                                   "data/leaky.lsd"], "an object a file")
    # One that cannot be opened is left out, and said so.
    p = subprocess.run([REPORT, "-f", "json", "data/leaky.lsd",
                        "data/missing.lsd"], cwd=HERE,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 2, "exit status with a missing file")
    eq([o["file"] for o in json.loads(p.stdout)], ["data/leaky.lsd"],
       "the files that could be read")
    check(b"data/missing.lsd" in p.stderr, "missing file named")
    # One file: the object itself, as before.
    eq(type(json.loads(tool(["-f", "json", "data/leaky.lsd"])[1])), dict,
       "one object for one file")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
