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
from reportlib import *  # noqa: E402,F401,F403




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
    r = run([victim("sleeper"), "120"], env={"LEAKSPY_INTERVAL": "0.03"},
            want_rc=0)
    return one_dump(r)


def test_help_write_error():
    """--help and --version that cannot be written (a full device) are an
    error, for the report and the launcher alike."""
    for prog in (REPORT, LAUNCHER):
        for opt in ("--help", "--version"):
            with open("/dev/full", "w") as full:
                p = subprocess.run([prog, opt], stdout=full,
                                   stderr=subprocess.PIPE, timeout=TIMEOUT)
            eq((p.returncode, p.stderr.decode()),
               (2, "%s: write error on standard output\n" %
                os.path.basename(prog)), "%s %s to /dev/full" % (prog, opt))


def test_out_of_memory():
    """Memory that runs out is leakspy-report's own error (exit 4, one
    message), not findings (1) nor a damaged dump (3): a dump of 16,384 stacks under a
    35 MiB address-space limit that a small dump reads within."""
    import resource
    r = run([victim("manystacks"), "16384", "4"], want_rc=0)
    limit = 35 << 20

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    for dump, want in ((os.path.join(DATA, "seed1.lsd"), 0),
                       (one_dump(r), 4)):
        p = subprocess.run([REPORT, "--format", "json", dump],
                           preexec_fn=limited, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq(p.returncode, want, "exit status of %s under %d MiB (stderr: %s)"
           % (os.path.basename(dump), limit >> 20, p.stderr[-300:]))
    # Where libdw (symbolizing) runs out first, its handler is ours.
    last = p.stderr.decode().splitlines()[-1]
    eq(last, "leakspy-report: out of memory: Cannot allocate memory",
       "the message")


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
    # 3, a message with the byte offset, and what came before is printed:
    # the snapshots whose SNAPSHOT_END record is whole before the cut, the
    # last of them as a cut right at its end shows it, with the figures
    # lsdump.py reads for it.
    dump = fresh_dump()
    with open(dump, "rb") as f:
        data = f.read()
    bounds = lsdump.boundaries(data)
    cuts = bounds + [(a + b) // 2 for a, b in zip(bounds, bounds[1:])] + \
        [0, 5]
    snaps = lsdump.snapshot_spans(data)
    state = [s["sites"] for s in lsdump.parse(data)["snapshots"]]
    tmp = tempfile.mkdtemp(prefix="lst.")
    path = os.path.join(tmp, "cut.lsd")
    whole = report(dump, binary=REPORT_SAN)
    eq(whole["snapshots"], len(snaps), "snapshots of the whole dump")
    check(len(snaps) >= 3, "snapshots to cut between: %d" % len(snaps))
    at_end = {}     # snapshots -> the report of a cut right after the last
    for n in sorted(set(cuts)):
        if n >= len(data):
            continue
        what = "cut at %d of %d" % (n, len(data))
        with open(path, "wb") as f:
            f.write(data[:n])
        rc, out, err = tool(["--format", "json", path], binary=REPORT_SAN)
        eq(rc, 3, what + ": exit status")
        check("runtime error" not in err and "Sanitizer" not in err,
              "%s: sanitizer report: %s" % (what, err))
        check(": %s: " % path in err, "%s: message names the file: %r" %
              (what, err))
        rep = json.loads(out)
        eq(rep["complete"], False, what + ": complete")
        # Where the reading stopped: in the first line, at the start of
        # the record cut short, or at the cut inside an open snapshot.
        if n < len(lsdump.MAGIC):
            off = 0
        elif n not in bounds:
            off = max(b for b in bounds if b < n)
        else:
            off = n if any(s < n < e for s, e in snaps) else None
        eq(rep["error"]["offset"], off, what + ": offset of the damage")
        k = len([e for s, e in snaps if e <= n])
        eq(rep["snapshots"], k, what + ": complete snapshots")
        if k == 0:
            eq((rep["snapshot"], rep["sites"]), (None, []),
               what + ": no snapshot, no sites")
            continue
        sites = state[k - 1].values()
        eq((rep["snapshot"]["index"], rep["totals"]["live_bytes"],
            rep["totals"]["live_blocks"], rep["totals"]["allocated_bytes"],
            rep["totals"]["allocated_blocks"]),
           (k - 1, sum(v[0] for v in sites), sum(v[1] for v in sites),
            sum(v[2] for v in sites), sum(v[3] for v in sites)),
           what + ": the last snapshot's index and totals, as lsdump.py "
           "reads them")
        if n == snaps[k - 1][1]:
            at_end[k] = rep
            continue
        eq((rep["snapshot"], rep["totals"], rep["sites"]),
           (at_end[k]["snapshot"], at_end[k]["totals"], at_end[k]["sites"]),
           "%s: the last snapshot as cut right after it, at %d" %
           (what, snaps[k - 1][1]))
    eq(sorted(at_end), list(range(1, len(snaps) + 1)),
       "a cut right after each snapshot")
    # Inside a record: the message gives the record's offset.
    mid = (bounds[3] + bounds[4]) // 2
    with open(path, "wb") as f:
        f.write(data[:mid])
    rc, out, err = tool([path], binary=REPORT_SAN)
    eq(rc, 3, "exit status for a dump cut inside a record")
    check("offset %d: record cut short" % bounds[3] in err,
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
    rc, out, err = tool(["-f", "json", "data/leaky.lsd"])
    eq((rc, type(json.loads(out))), (0, dict), "one object for one file")


# Inputs that crashed the reader or made it print invalid JSON before
# issue 13 (tests/fuzz/regress/, found by tests/fuzz/report_fuzz but
# process-argc-max, made by hand), with the options the fuzzer used:
# (file, options, exit status, message).
REGRESSIONS = [
    ("process-argc-max", [], 3, "offset 15: argument count out of range"),
    ("old-argv-null", ["-n", "1"], 3,
     "offset 15: argument count out of range"),
    ("old-diff-overflow-1", ["-d", "0..1", "-n", "1", "-t"], 3,
     "offset 1425: bad ages_complete flag (not 0 or 1)"),
    ("old-diff-overflow-2", ["-n", "2"], 3,
     "offset 1652: age epochs out of order"),
    ("old-json-exe", ["-s", "0", "-n", "1", "-t"], 0, None),
    ("old-json-argv-note", ["-n", "2"], 3,
     "offset 152: record length out of range"),
    ("old-json-module-path", ["-s", "0", "-n", "1"], 3,
     "offset 1318: snapshot epoch out of range"),
    ("old-json-stack-thread", ["-s", "0", "-n", "2", "-t"], 3,
     "offset 1311: snapshot epoch out of range"),
    ("old-json-thread", ["-n", "20", "-t"], 3,
     "offset 15: PROCESS record cut short"),
    ("old-json-name", ["-n", "20", "-t"], 3,
     "offset 15: bad inherited epoch"),
]


def test_regressions():
    stored = sorted(os.listdir(os.path.join(FUZZ, "regress")))
    eq(sorted(r[0] for r in REGRESSIONS), stored,
       "every stored crasher has its case here")
    for name, args, want_rc, msg in REGRESSIONS:
        path = os.path.join(FUZZ, "regress", name)
        rc, rep, err, text = san(path, *args, want_rc=want_rc)
        if msg is not None:
            check_error(rep, err, path, msg)
            check("dump damaged" in text, "text says the dump is damaged")
        else:
            eq(rep["complete"], True, "%s: complete" % name)


def test_corpus():
    # The fuzzer's seeds, real dumps among them: read whole, whatever
    # they hold (threads, forks, exec, sampling, the new records).
    corpus = os.path.join(FUZZ, "corpus")
    names = sorted(os.listdir(corpus))
    check(len(names) >= 10, "seeds: %d" % len(names))
    for name in names:
        # Exit 0 for a whole dump (its last record FINAL, malloc bound to
        # the shim), 3 for one cut short.
        recs = list(lsdump.records(load(os.path.join(corpus, name))))
        whole = recs[-1][1] == lsdump.T["FINAL"] and not \
            lsdump.parse_process(recs[0][2])["flags"] & 1
        rc, rep, err, text = san(os.path.join(corpus, name),
                                 want_rc=0 if whole else 3)
        eq(rep["complete"], whole, "%s: complete" % name)
        check(rep["snapshots"] >= 1 or rep["lost"], "%s: snapshots" % name)
    # Two written by the shim itself: a last write-out lost to a full
    # device, and a run ended by SIGTERM after its final snapshot.
    rc, rep, err, text = san(os.path.join(corpus, "lost-real-0"), want_rc=3)
    eq([(l["last"], l["errno"]) for l in rep["lost"]], [(True, 28)], "LOST")
    check("could not be written (no space left on device)" in
          rep["error"]["message"], "why: %r" % rep["error"])
    rc, rep, err, text = san(os.path.join(corpus, "sigterm-real-0"),
                             want_rc=0)
    eq((rep["final"]["signal"], rep["process"]["name"]),
       ("SIGTERM", "redis-server"), "ended by SIGTERM, name run as")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
