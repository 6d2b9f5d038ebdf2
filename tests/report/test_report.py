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
from lsdump import with_module, with_process, with_thread  # noqa: E402

DATA = os.path.join(HERE, "data")
FUZZ = os.path.join(HERE, "..", "fuzz")
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


def san(path, *args, want_rc=None):
    """Text and JSON reports of path by the ASan and UBSan build: no
    sanitizer report, and the JSON (raw bytes) loads.  Returns (exit
    status, JSON object, stderr of the JSON run, text)."""
    out = {}
    for fmt in ("text", "json"):
        p = subprocess.run([REPORT_SAN, "-f", fmt] + list(args) + [path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        err = p.stderr.decode(errors="replace")
        check("Sanitizer" not in err and "runtime error" not in err,
              "sanitizer report on %s (%s): %s" % (path, fmt, err[-3000:]))
        out[fmt] = (p.returncode, p.stdout, err)
    eq(out["text"][0], out["json"][0], "same exit status for text and json")
    rc, raw, err = out["json"]
    try:
        rep = json.loads(raw)
    except ValueError as ex:
        raise Fail("invalid JSON for %s: %s" % (path, ex))
    if want_rc is not None:
        eq(rc, want_rc, "exit status for %s %r (stderr: %s)" %
           (os.path.basename(path), list(args), err))
    return rc, rep, err, out["text"][1].decode(errors="replace")


def write(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def load(path):
    with open(path, "rb") as f:
        return f.read()


def check_error(rep, err, path, msg):
    """A damaged dump: its message with the offset on stderr and in the
    JSON; msg is "offset N: why"."""
    check("%s: %s" % (path, msg) in err, "message %r in %r" % (msg, err))
    off, why = msg[len("offset "):].split(": ", 1)
    eq((rep["complete"], rep["error"]["offset"], rep["error"]["message"]),
       (False, int(off), why), "error in the JSON report")


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


def rewrite_uvs(data, typ, fn, nth=0):
    """data with the nth record of type typ (a payload of varints only)
    changed by fn(list of values) -> list."""
    seen = [0]

    def fix(t, p):
        if t != lsdump.T[typ]:
            return p
        seen[0] += 1
        if seen[0] - 1 != nth:
            return p
        return lsdump.from_uvs(fn(lsdump.uvs(p)))
    out = lsdump.rewrite(data, fix)
    check(seen[0] > nth, "a %s record to change" % typ)
    return out


def insert_after(data, typ, rec, nth=0):
    """data with record rec inserted after the nth record of type typ."""
    out, seen = bytearray(lsdump.MAGIC), 0
    for off, t, p in lsdump.records(data):
        out += lsdump.record(t, p)
        if t == lsdump.T[typ]:
            if seen == nth:
                out += rec
            seen += 1
    return bytes(out)


def offset_of(data, typ, nth=0, after=False):
    """Offset of the nth record of type typ, or of the record after it."""
    recs = [(off, p) for off, t, p in lsdump.records(data)
            if t == lsdump.T[typ]]
    off, p = recs[nth]
    return off + 12 + len(p) if after else off


def setv(i, v):
    """For rewrite_uvs: set value i to v."""
    def fn(vals):
        vals[i] = v
        return vals
    return fn


M64 = 2**64 - 1


def process_counts(leaky):
    """leaky with PROCESS argc, then its address count, as 2^64 - 1 (the
    fields after them as they were)."""
    p = next(p for o, t, p in lsdump.records(leaky) if t == 1)
    pr = lsdump.parse_process(p)
    head = lsdump.uv(pr["pid"]) + lsdump.uv(pr["ppid"]) + \
        lsdump.uv(pr["start_ns"]) + lsdump.string(pr["exe"])
    argc = head + lsdump.uv(M64) + p[len(head) + 1:]
    # Up to the address count: a PROCESS record without the addresses.
    upto = lsdump.process_record(dict(pr, alloc_addrs=[]))
    upto = upto[:upto.rindex(lsdump.uv(0) + lsdump.uv(pr["max_depth"]))]
    addrs = upto + lsdump.uv(M64) + p[len(upto) + 1:]
    return [lsdump.rewrite(leaky, lambda t, q, new=new: new if t == 1 else q)
            for new in (argc, addrs)]


def test_range_checks():
    # Right checksums, wrong fields: each is refused with the offset of
    # its record, and what came before is still reported.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    threads = load(os.path.join(FUZZ, "corpus", "threadlife-0"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    argc, addrs = process_counts(leaky)
    gone = lsdump.record(lsdump.T["MODULE_GONE"], lsdump.from_uvs([99, 1]))

    def lost(last, errno):
        return lsdump.record(lsdump.T["LOST"], lsdump.lost_record(1, last,
                                                                  errno))

    def nseg(t, p):
        if t != lsdump.T["MODULE"]:
            return p
        m = lsdump.parse_module(p)
        return lsdump.module_record(dict(m, segs=[]))[:-1] + \
            lsdump.uv(2**63) + b"\0" * 8
    cases = [
        ("argc", argc, 15, "argument count out of range"),
        ("addr count", addrs, 15, "address count out of range"),
        ("inherited", with_process(leaky, inherited_epoch=0x10000), 15,
         "bad inherited epoch"),
        ("module gen", with_module(leaky, gen=2**32),
         offset_of(leaky, "MODULE"), "module generation out of range"),
        ("build id", with_module(leaky, build_id="ab" * 65),
         offset_of(leaky, "MODULE"), "build id too long"),
        ("segments", lsdump.rewrite(leaky, nseg),
         offset_of(leaky, "MODULE"), "segment count out of range"),
        ("gone", insert_after(leaky, "MODULE", gone),
         offset_of(leaky, "MODULE", 0, after=True),
         "MODULE_GONE for an unknown module"),
        ("stack count", rewrite_uvs(leaky, "STACKS", setv(0, M64)),
         offset_of(leaky, "STACKS"), "stack count out of range"),
        ("stack id", rewrite_uvs(leaky, "STACKS", setv(1, 2**32)),
         offset_of(leaky, "STACKS"), "stack ids out of order"),
        ("stack gen", rewrite_uvs(leaky, "STACKS", setv(2, 2**32)),
         offset_of(leaky, "STACKS"), "stack generation out of range"),
        ("frames", rewrite_uvs(leaky, "STACKS", setv(5, 5000)),
         offset_of(leaky, "STACKS"), "frame count out of range"),
        ("snap index", rewrite_uvs(seed1, "SNAPSHOT", setv(0, 2**32 + 1),
                                   1),
         offset_of(seed1, "SNAPSHOT", 1), "snapshot numbers out of order"),
        ("snap time", rewrite_uvs(seed1, "SNAPSHOT", setv(1, 0), 1),
         offset_of(seed1, "SNAPSHOT", 1), "snapshot times out of order"),
        ("snap epoch", rewrite_uvs(seed1, "SNAPSHOT",
                                   lambda v: v[:-2] + [0x10000, 1], 2),
         offset_of(seed1, "SNAPSHOT", 2), "snapshot epoch out of range"),
        ("ages flag", rewrite_uvs(seed1, "SNAPSHOT",
                                  lambda v: v[:-1] + [2]),
         offset_of(seed1, "SNAPSHOT"),
         "bad ages_complete flag (not 0 or 1)"),
        ("site stack", rewrite_uvs(leaky, "SITES", setv(2, 2**32)),
         offset_of(leaky, "SITES"), "site of an unknown stack"),
        ("age delta", rewrite_uvs(seed1, "AGES", setv(5, M64), 1),
         offset_of(seed1, "AGES", 1), "age epochs out of order"),
        ("final signo 0", rewrite_uvs(leaky, "FINAL", lambda v: [3, 0]),
         offset_of(leaky, "FINAL"), "FINAL: bad signal number"),
        ("final signo 65", rewrite_uvs(leaky, "FINAL", lambda v: [3, 65]),
         offset_of(leaky, "FINAL"), "FINAL: bad signal number"),
        ("final no signo", rewrite_uvs(leaky, "FINAL", lambda v: [3]),
         offset_of(leaky, "FINAL"), "FINAL record cut short"),
        ("thread gen", with_thread(threads, gen=2**32),
         offset_of(threads, "THREADS"), "thread generation out of range"),
        ("thread exited", with_thread(threads, exited=2),
         offset_of(threads, "THREADS"),
         "bad thread exited flag (not 0 or 1)"),
        ("lost inside", insert_after(leaky, "SITES", lost(0, 28)),
         offset_of(leaky, "SITES", 0, after=True), "LOST inside a snapshot"),
        ("lost last", insert_after(leaky, "SNAPSHOT_END", lost(2, 28)),
         offset_of(leaky, "FINAL"), "LOST: bad last flag (not 0 or 1)"),
        ("lost errno", insert_after(leaky, "SNAPSHOT_END", lost(0, 5000)),
         offset_of(leaky, "FINAL"), "LOST: errno out of range"),
    ]
    for name, data, off, why in cases:
        path = write(tmp, name.replace(" ", "-") + ".lsd", data)
        rc, rep, err, text = san(path, want_rc=3)
        check_error(rep, err, path, "offset %d: %s" % (off, why))
        check("dump damaged" in text, "%s: text says so" % name)


def test_unknown_values():
    # Enum values this reader does not know are shown as "unknown".
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    threads = load(os.path.join(FUZZ, "corpus", "threadlife-0"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    data = rewrite_uvs(rewrite_uvs(leaky, "SNAPSHOT", setv(3, 77)),
                       "FINAL", lambda v: [9, 1, 2])
    data = rewrite_uvs(data, "STACKS", setv(3, 99))
    rc, rep, err, text = san(write(tmp, "enums.lsd", data), "-n", "0",
                             want_rc=0)
    eq(rep["snapshot"]["reason"], "unknown", "snapshot reason")
    eq(rep["final"], {"how": "unknown", "signal": None, "signo": None},
       "FINAL how 9")
    check("snapshot:  #0 of 1 (unknown, at" in text, "text: %s" % text)
    check("ended:     final snapshot, then ended in a way this reader does "
          "not know" in text, "text: %s" % text)
    check("unknown" in [s["via"] for s in rep["sites"]], "api 99: %r" %
          [s["via"] for s in rep["sites"]])
    rc, rep, err, text = san(write(tmp, "state.lsd", with_thread(
        threads, state=7)), want_rc=0)
    check("unknown" in [t["state"] for t in rep["threads"]],
          "thread state 7: %r" % rep["threads"])


def test_diff_overflow():
    # Live bytes that differ by more than 2^63 between the snapshots of a
    # diff: the change wraps, it is not undefined (UBSan).
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    data = rewrite_uvs(seed1, "SITES", lambda v: v[:3] + [2**63 + 5] +
                       v[4:], 0)
    rc, rep, err, text = san(write(tmp, "big.lsd", data), "-d", "0..3",
                             want_rc=0)
    check(any(s["diff"]["live_bytes_change"] != 0 for s in rep["sites"]),
          "changes")


def test_utf8_json():
    # Bytes that are not UTF-8 become U+FFFD, one each; control characters
    # are escaped; the JSON loads from its raw bytes.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    argv = [b"ok \xc3\xa9", b"\xff\xfe", b"a\xc0\xafb", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"cut \xe2\x82", b"\x01\x1b[31m\x7f",
            "\u20ac \U0001f600".encode()]
    data = with_process(leaky, argv=argv, exe=b"/x/\xfe/prog",
                        name=b"prog\xff", note=b"n\xffote")
    data = with_module(data, path=b"/lib/\xff\xfe.so")
    data = insert_after(data, "SNAPSHOT_END", lsdump.record(
        lsdump.T["NOTE"], lsdump.string(b"note \x80\x00 end")))
    rc, rep, err, text = san(write(tmp, "utf8.lsd", data), want_rc=0)
    r = "\ufffd"
    eq(rep["process"]["argv"], [
        "ok \u00e9", r + r, "a" + r + r + "b", r * 3, r * 4, "cut " + r + r,
        "\x01\x1b[31m\x7f", "\u20ac \U0001f600"], "argv")
    eq(rep["process"]["exe"], "/x/" + r + "/prog", "exe")
    eq(rep["process"]["name"], "prog" + r, "name")
    eq(rep["notes"], ["note " + r], "notes (cut at the NUL)")
    p = subprocess.run([REPORT_SAN, "-f", "json", os.path.join(tmp,
                        "utf8.lsd")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 0, "exit status")
    check(b"\\u0001\\u001b[31m\\u007f" in p.stdout, "control characters "
          "escaped")
    p.stdout.decode("utf-8")    # strict: raises if not UTF-8
    paths = {f["module"] for s in rep["sites"] for f in s["frames"]}
    check("/lib/" + r + r + ".so" in paths, "module path: %r" % paths)
    # The text report shows control characters as \xNN.
    check("\\x01\\x1b[31m\\x7f" in text and "\x1b" not in text,
          "text escapes: %r" % text[:400])


def test_big_file():
    # A file that is no dump is refused after its first few KiB: a 1 GiB
    # sparse file, of zeros or of text, fast and in little memory.
    tmp = tempfile.mkdtemp(prefix="lst.")
    for name, head in (("zeros.lsd", b""), ("text.lsd", b"hello\n")):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(head)
            f.truncate(1 << 30)
        p = subprocess.Popen([REPORT, "-f", "json", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=TIMEOUT)
        eq(p.returncode, 3, "exit status for %s" % name)
        check(b"offset 0: not a leakspy dump (bad first line)" in err,
              "message: %r" % err)
        eq(json.loads(out)["error"]["offset"], 0, "offset in the JSON")
    # Peak memory, measured on a child of our own: getrusage(CHILDREN)
    # of a fresh interpreter that runs only the report.
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL)\n"
            "print(p.returncode, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    for name in ("zeros.lsd", "text.lsd"):
        p = subprocess.run([sys.executable, "-c", code, REPORT,
                            os.path.join(tmp, name)], stdout=subprocess.PIPE,
                           timeout=TIMEOUT)
        eq(p.returncode, 0, "the measuring interpreter's exit status")
        rc, kib = map(int, p.stdout.split())
        eq(rc, 3, "exit status for %s, measured" % name)
        check(kib < 64 * 1024, "peak RSS for a 1 GiB %s: %d KiB" % (name,
                                                                   kib))


def test_process_name():
    # The name a program was run as, shown with its executable when they
    # differ; a dump without it takes the executable's base name.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    data = with_process(leaky, exe=b"/usr/bin/redis-check-rdb",
                        name=b"redis-server")
    rc, rep, err, text = san(write(tmp, "name.lsd", data), want_rc=0)
    eq((rep["process"]["name"], rep["process"]["exe"]),
       ("redis-server", "/usr/bin/redis-check-rdb"), "name and exe")
    check("program:   redis-server (/usr/bin/redis-check-rdb, pid 8275, "
          "parent 8270)\n" in text, "text: %s" % text[:300])
    data = with_process(leaky, exe=b"/usr/bin/redis-server",
                        name=b"redis-server")
    rc, rep, err, text = san(write(tmp, "same.lsd", data), want_rc=0)
    check("program:   /usr/bin/redis-server (pid 8275, parent 8270)\n" in
          text, "the same name once: %s" % text[:300])
    rc, rep, err, text = san(os.path.join(DATA, "leaky.lsd"), want_rc=0)
    eq(rep["process"]["name"], "leaky_nofp", "an older dump: exe's base")


def test_final_signal():
    # FINAL how 3: the final snapshot was taken, then the signal ended
    # the process.  The dump is complete.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    for signo, name in ((15, "SIGTERM"), (9, "SIGKILL"), (2, "SIGINT"),
                        (35, "SIGRTMIN+1"), (64, "SIGRTMAX"),
                        (32, "signal 32")):
        data = rewrite_uvs(leaky, "FINAL", lambda v: [3, signo])
        rc, rep, err, text = san(write(tmp, "sig.lsd", data), want_rc=0)
        eq((rep["complete"], rep["error"], rep["final"]),
           (True, None, {"how": "signal", "signal": name, "signo": signo}),
           "JSON for signal %d" % signo)
        check("ended:     final snapshot, then ended by %s\n" % name in text,
              "text for signal %d: %s" % (signo, text[:400]))
    rc, rep, err, text = san(os.path.join(DATA, "leaky.lsd"), want_rc=0)
    eq(rep["final"], {"how": "exit", "signal": None, "signo": None},
       "FINAL at exit")
    check("ended:" not in text, "no ended line at exit")


def without_final(data):
    return lsdump.edit(data, "FINAL", lambda p: None)


def lost(reason, last, errno):
    return lsdump.record(lsdump.T["LOST"], lsdump.lost_record(reason, last,
                                                              errno))


def set_counter(data, i, v, nth=-1):
    """data with counter i of its nth (default last) snapshot set to v."""
    n = len([1 for o, t, p in lsdump.records(data)
             if t == lsdump.T["SNAPSHOT"]])

    def fn(vals):
        snap = lsdump.parse_snapshot(lsdump.from_uvs(vals))
        snap["counters"][i] = v
        return lsdump.uvs(lsdump.snapshot_record(snap))
    return rewrite_uvs(data, "SNAPSHOT", fn, nth % n)


def incomplete(tmp, name, data, why):
    """data is read as incomplete for reason why: exit 3, on stderr and
    in the JSON, and in the text's coverage."""
    path = write(tmp, name, data)
    rc, rep, err, text = san(path, want_rc=3)
    check("%s: incomplete: %s\n" % (path, why) in err, "%s: message %r" %
          (name, err))
    eq((rep["complete"], rep["error"], rep["final"]),
       (False, {"offset": None, "message": why}, None), name + ": JSON")
    check("coverage:  " + why in text, "%s: text %s" % (name, text))
    return rep


def test_incomplete_why():
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    cut = without_final(seed1)
    # The last write-out failed, and said so in a LOST record.
    rep = incomplete(tmp, "lost-last.lsd", cut + lost(0, 1, 24),
                     "no final snapshot: the process ended, but its last "
                     "snapshot could not be written (too many open files); "
                     "leakspy's message about it is on the program's "
                     "standard error")
    eq(rep["lost"], [{"offset": len(cut), "reason": "exit", "last": True,
                      "errno": 24, "error": "too many open files"}], "lost")
    incomplete(tmp, "lost-mid-last.lsd", cut + lost(1, 0, 28) +
               lost(3, 1, 28), "no final snapshot: the process ended, but "
               "its last snapshot could not be written (no space left on "
               "device); leakspy's message about it is on the program's "
               "standard error")
    # Write-outs failed before, none recorded as lost.
    incomplete(tmp, "errors.lsd", set_counter(cut, 6, 3),
               "no final snapshot: 3 write-outs failed, so the last may "
               "have failed too (leakspy said why on the program's "
               "standard error), or the process is still running or was "
               "killed")
    incomplete(tmp, "error.lsd", set_counter(cut, 6, 1),
               "no final snapshot: 1 write-out failed, so the last may "
               "have failed too (leakspy said why on the program's "
               "standard error), or the process is still running or was "
               "killed")
    # A lost write-out that was not the last: no cause known.
    generic = ("no final snapshot: the process is still running, was "
               "killed, or could not write it")
    incomplete(tmp, "lost-mid.lsd", set_counter(cut, 6, 1) +
               lost(1, 0, 28), generic)
    incomplete(tmp, "plain.lsd", cut, generic)
    # The sandbox, as before.
    incomplete(tmp, "sandbox.lsd", rewrite_uvs(cut, "SNAPSHOT",
                                               setv(3, 5), 15),
               "no snapshot after the process entered a seccomp sandbox "
               "(leakspy writes nothing once a filter is on)")
    # A write-out lost, then the final one written: complete.
    data = insert_after(seed1, "SNAPSHOT_END", lost(1, 0, 28), 2)
    rc, rep, err, text = san(write(tmp, "lost-ok.lsd", data), want_rc=0)
    eq((rep["complete"], [l["errno"] for l in rep["lost"]]), (True, [28]),
       "a lost write-out in a complete dump")


def test_module_not_a_file():
    # A module path that names a FIFO or a device does not stall the
    # report: its frames are module+offset, as for a missing file.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    for path in (fifo.encode(), b"/dev/zero", b"/dev/tty"):
        data = with_module(leaky, path=path)
        rc, rep, err, text = san(write(tmp, "m.lsd", data), want_rc=0)
        check("%s: not found" % path.decode() in err, "warning: %r" % err)


# A heap scan in seed1's last snapshot (#15): the growing events (stack
# 1) held by the children array (stack 2), held by the parent (stack 0),
# held by a global of pattern; a block of stack 3 lost.
SEED1_GLOBAL = 0x55bd3ee9fed0    # pattern's data segment, offset 0x3ed0


def reach(def_=(0, 0), ind=(0, 0), int_=(0, 0), ok=(0, 0)):
    return list(def_) + list(ind) + list(int_) + list(ok)


# Stack 3 appears in #15 only.
EARLY_SPLIT = [(1, reach(ok=(1319040, 13740))), (2, reach(ok=(131072, 1))),
               (0, reach(ok=(96, 1)))]


def seed1_scan(nth=-1, index=15, split=None, owners=None, chains=None,
               **kw):
    """seed1 with SCAN, OWNERS and CHAIN records in its nth snapshot."""
    B, G = lsdump.OWN_BLOCK, lsdump.OWN_GLOBAL
    if split is None:
        split = [(1, reach(ok=(1319040, 13740))), (2, reach(ok=(131072, 1))),
                 (0, reach(ok=(96, 1))), (3, reach(def_=(4096, 1)))]
    if owners is None:
        owners = [(1, B, 2, 1319040, 13740), (2, B, 0, 131072, 1),
                  (0, G, SEED1_GLOBAL, 96, 1)]
    if chains is None:
        chains = [(1, [(B, 2, 1), (B, 0, 1), (G, SEED1_GLOBAL, 1)])]
    recs = [("SCAN", lsdump.scan_record(index, 1500900000, split, **kw))]
    if owners:
        recs.append(("OWNERS", lsdump.owners_record(index, owners)))
    if chains:
        recs.append(("CHAIN", lsdump.chain_record(index, chains)))
    return lsdump.with_scan(load(os.path.join(DATA, "seed1.lsd")), nth,
                            *recs)


def lines(text, prefix):
    return [ln for ln in text.splitlines() if ln.lstrip().startswith(prefix)]


def test_scan_report():
    tmp = tempfile.mkdtemp(prefix="lst.")
    path = write(tmp, "scan.lsd", seed1_scan())
    rc, rep, err, text = san(path, want_rc=0)
    eq(lines(text, "scan:"), ["scan:      at 1.501 s (snapshot #15), "
                              "complete"], "scan line")
    eq(lines(text, "reach:"), [
        "        reach: definitely lost 0, indirectly 0, interior only 0, "
        "reachable 1.3 MiB in 13740",
        "        reach: definitely lost 0, indirectly 0, interior only 0, "
        "reachable 128.0 KiB in 1",
        "        reach: definitely lost 4.0 KiB in 1, indirectly 0, "
        "interior only 0, reachable 0",
        "        reach: definitely lost 0, indirectly 0, interior only 0, "
        "reachable 96 B in 1"], "a reach line for every site")
    eq(lines(text, "retained by:"), [
        "        retained by: pattern+0x17a8 (1.3 MiB in 13740) <- "
        "pattern+0x1739 (128.0 KiB in 1) <- global pattern+0x3ed0 "
        "(96 B in 1)"], "the chain, under the growing site only")
    # The line order: reach and chain after the verdict and ages, before
    # the frames.
    i = text.index("reach: definitely lost 0, indirectly 0, interior only "
                   "0, reachable 1.3")
    check(text.index("age of live blocks") < i <
          text.index("retained by:") < text.index("#0  ?? [pattern+0x1739]"),
          "order of the lines: %s" % text)
    eq(rep["scan"], {"time": 1.501, "snapshot": 15, "complete": True,
                     "reason": None, "threads_stopped": 0,
                     "threads_not_stopped": 0}, "JSON scan")
    s = rep["sites"]
    eq([x["live_bytes"] for x in s], [1319040, 131072, 4096, 96],
       "sites in their order")
    zero = {"bytes": 0, "blocks": 0}
    eq(s[0]["reach"], {"definitely_lost": zero, "indirectly_lost": zero,
                       "interior_only": zero,
                       "reachable": {"bytes": 1319040, "blocks": 13740},
                       "held_by_itself": zero}, "reach of the events")
    eq(s[2]["reach"]["definitely_lost"], {"bytes": 4096, "blocks": 1},
       "the lost block")
    eq(s[0]["retained_by"], [{"site": 1, "bytes": 1319040, "blocks": 13740}],
       "retained_by of the events")
    eq(s[1]["retained_by"], [{"site": 3, "bytes": 131072, "blocks": 1}],
       "retained_by of the array")
    root = {"kind": "global", "module": "/nonexistent/pattern",
            "symbol": None, "address": "0x55bd3ee9fed0", "thread": None}
    eq(s[3]["retained_by"], [{"root": root, "bytes": 96, "blocks": 1}],
       "retained_by of the parent")
    eq(s[0]["chain"], [
        {"site": 1, "bytes": 1319040, "blocks": 13740, "collapsed": 1},
        {"site": 3, "bytes": 131072, "blocks": 1, "collapsed": 1},
        {"root": root, "bytes": 96, "blocks": 1, "collapsed": 1}],
        "chain of the events")
    eq([x["chain"] for x in s[1:]], [[], [], []], "no chains for the others")
    # The independent reader sees the same records.
    d = lsdump.parse(load(path))
    sc = d["snapshots"][15]["scan"]
    eq((sc["complete"], len(sc["split"]), len(sc["owners"]),
        len(sc["chains"])), (1, 4, 3, 1), "lsdump.py's view")
    check("scan" not in d["snapshots"][14], "no scan in #14")


def test_scan_nearest():
    # --snapshot and --diff use the last scan at or before the snapshot
    # shown, and say which; before any, reachability is unknown.
    tmp = tempfile.mkdtemp(prefix="lst.")
    path = write(tmp, "scan13.lsd", seed1_scan(nth=13, index=13,
                                               split=EARLY_SPLIT))
    for args in ([], ["-s", "14"], ["-d", "10..15"]):
        rc, rep, err, text = san(path, *args, want_rc=0)
        eq(lines(text, "scan:"), [
            "scan:      at 1.501 s (snapshot #13, the nearest before "
            "#%d), complete" % (14 if args[1:] == ["14"] else 15)],
            "scan line for %r" % args)
        eq(rep["scan"]["snapshot"], 13, "JSON scan for %r" % args)
    rc, rep, err, text = san(path, "-s", "13", want_rc=0)
    eq(lines(text, "scan:"), ["scan:      at 1.501 s (snapshot #13), "
                              "complete"], "at its own snapshot")
    rc, rep, err, text = san(path, "-s", "12", want_rc=0)
    eq(lines(text, "scan:"), ["scan:      none (reachability unknown)"],
       "before the scan")
    eq((rep["scan"], lines(text, "reach:")), (None, []), "no reach before")
    check(all("reach" not in x and "chain" not in x for x in rep["sites"]),
          "no reach in the JSON sites")


def test_scan_incomplete():
    tmp = tempfile.mkdtemp(prefix="lst.")
    path = write(tmp, "inc.lsd", seed1_scan(
        complete=0, reason=b"clone refused: \x1b[31mno", stopped=3,
        not_stopped=2, owners=[], chains=[]))
    rc, rep, err, text = san(path, want_rc=0)
    eq(lines(text, "scan:"), ["scan:      at 1.501 s (snapshot #15), "
                              "incomplete: clone refused: \\x1b[31mno; 2 "
                              "threads not stopped"], "text")
    eq(rep["scan"], {"time": 1.501, "snapshot": 15, "complete": False,
                     "reason": "clone refused: \x1b[31mno",
                     "threads_stopped": 3, "threads_not_stopped": 2},
       "JSON")
    eq([x["retained_by"] for x in rep["sites"]], [[]] * 4, "no owners")


def test_scan_roots():
    # Thread roots (the main thread, an unknown serial), an unknown kind,
    # a run of the site's own blocks collapsed, and a long chain cut.
    B = lsdump.OWN_BLOCK
    tmp = tempfile.mkdtemp(prefix="lst.")
    owners = [(1, B, 1, 1000, 10), (1, lsdump.OWN_STACK, 0, 500, 5),
              (1, lsdump.OWN_TLS, 7, 300, 3), (1, 9, 1234, 200, 2),
              (1, B, 2, 100, 1)]
    chains = [(1, [(B, 1, 57), (B, 1, 3), (lsdump.OWN_REGISTER, 7, 1)])]
    path = write(tmp, "roots.lsd", seed1_scan(owners=owners, chains=chains))
    rc, rep, err, text = san(path, want_rc=0)
    eq(lines(text, "retained by:"), [
        "        retained by: its own blocks (1000 B in 10, a run of 60) <- "
        "registers of thread #7"], "text")
    s = rep["sites"][0]
    eq(s["reach"]["held_by_itself"], {"bytes": 1000, "blocks": 10}, "self")
    eq(s["retained_by"], [
        {"root": {"kind": "stack", "module": None, "symbol": None,
                  "address": None, "thread": {"serial": 0, "main": True,
                                              "tid": None, "name": None,
                                              "start": None}},
         "bytes": 500, "blocks": 5},
        {"root": {"kind": "tls", "module": None, "symbol": None,
                  "address": None, "thread": {"serial": 7, "main": False,
                                              "tid": None, "name": None,
                                              "start": None}},
         "bytes": 300, "blocks": 3},
        {"root": {"kind": "unknown", "module": None, "symbol": None,
                  "address": "0x4d2", "thread": None},
         "bytes": 200, "blocks": 2},
        {"site": 1, "bytes": 100, "blocks": 1}], "owners, biggest first")
    eq([(c.get("site"), c["collapsed"]) for c in s["chain"]],
       [(0, 60), (None, 1)], "chain steps")
    # Eight steps: the first four, how many are left out, the root.
    steps = [(B, 2, 1), (B, 0, 1)] * 4 + [(lsdump.OWN_STACK, 0, 1)]
    path = write(tmp, "long.lsd", seed1_scan(chains=[(1, steps)]))
    rc, rep, err, text = san(path, want_rc=0)
    eq(lines(text, "retained by:"), [
        "        retained by: pattern+0x17a8 (1.3 MiB in 13740) <- "
        "pattern+0x1739 (128.0 KiB in 1) <- pattern+0x17a8 <- "
        "pattern+0x1739 (128.0 KiB in 1) <- ... (4 more) <- stack of main "
        "thread"], "a long chain, cut")
    eq(len(rep["sites"][0]["chain"]), 9, "the JSON has every step")


def test_scan_damaged():
    # Right checksums, wrong fields: exit 3 with the record's offset, the
    # snapshots before still reported, the scan's snapshot not.
    B = lsdump.OWN_BLOCK
    tmp = tempfile.mkdtemp(prefix="lst.")
    good = seed1_scan()

    def cut(typ, n):
        return lsdump.edit(good, typ, lambda p: p[:n])

    def scan_uvs(fn):
        return rewrite_uvs(good, "SCAN", fn)
    big = lsdump.from_uvs([15, 2**40])
    cases = [
        ("scan cut", cut("SCAN", 8), "SCAN", "SCAN record cut short"),
        ("scan entry cut", cut("SCAN", 50), "SCAN", "SCAN record cut short"),
        ("scan stack", seed1_scan(split=[(4, reach())]), "SCAN",
         "scan of an unknown stack"),
        ("scan count", lsdump.edit(good, "SCAN", lambda p: p[:11] +
                                   lsdump.uv(2**40) + p[12:]), "SCAN",
         "scan count out of range"),
        ("scan complete", seed1_scan(complete=2), "SCAN",
         "bad scan complete flag (not 0 or 1)"),
        ("scan gen", seed1_scan(gen=2**32), "SCAN",
         "scan generation out of range"),
        ("scan index", seed1_scan(index=14), "SCAN",
         "SCAN outside its snapshot"),
        ("second scan", insert_after(good, "SCAN", lsdump.record(
            lsdump.T["SCAN"], lsdump.scan_record(15, 1, []))), "SCAN#1",
         "second SCAN in a snapshot"),
        ("owners cut", cut("OWNERS", 20), "OWNERS", "OWNERS record cut short"),
        ("owners count", lsdump.edit(good, "OWNERS", lambda p: big),
         "OWNERS", "owner count out of range"),
        ("owner stack", seed1_scan(owners=[(1, B, 4, 1, 1)]), "OWNERS",
         "owner of an unknown stack"),
        ("owned stack", seed1_scan(owners=[(9, 1, 0, 1, 1)]), "OWNERS",
         "owners of an unknown stack"),
        ("owners first", seed1_scan(split=[]).replace(
            lsdump.record(lsdump.T["SCAN"], lsdump.scan_record(
                15, 1500900000, [])), b""), "OWNERS",
         "OWNERS before the snapshot's SCAN"),
        ("chain cut", cut("CHAIN", 14), "CHAIN", "CHAIN record cut short"),
        ("chain count", lsdump.edit(good, "CHAIN", lambda p: big), "CHAIN",
         "chain count out of range"),
        ("chain steps", lsdump.edit(good, "CHAIN", lambda p: lsdump.from_uvs(
            [15, 1, 1, 2**40, 0, 2, 1])), "CHAIN",
         "chain step count out of range"),
        ("chain stack", seed1_scan(chains=[(4, [])]), "CHAIN",
         "chain of an unknown stack"),
        ("chain step stack", seed1_scan(chains=[(1, [(B, 4, 1)])]), "CHAIN",
         "owner of an unknown stack"),
        ("chain no blocks", seed1_scan(chains=[(1, [(B, 2, 0)])]), "CHAIN",
         "chain step of no blocks"),
    ]
    outside = lsdump.record(lsdump.T["SCAN"], lsdump.scan_record(15, 1, []))
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    data = insert_after(seed1, "SNAPSHOT_END", outside, 15)
    check_outside = (data, offset_of(seed1, "FINAL"),
                     "SCAN outside its snapshot")
    for name, data, rec, why in cases:
        typ, nth = (rec.split("#") + ["0"])[:2]
        off = offset_of(data, typ, int(nth))
        path = write(tmp, name.replace(" ", "-") + ".lsd", data)
        rc, rep, err, text = san(path, want_rc=3)
        check_error(rep, err, path, "offset %d: %s" % (off, why))
        eq((rep["snapshots"], rep["snapshot"]["index"], "scan" in rep),
           (15, 14, False), "%s: the snapshots before, no scan" % name)
        check("scan:" not in text and "dump damaged" in text,
              "%s: text %s" % (name, text[:600]))
    data, off, why = check_outside
    path = write(tmp, "outside.lsd", data)
    rc, rep, err, text = san(path, want_rc=3)
    check_error(rep, err, path, "offset %d: %s" % (off, why))
    eq(rep["snapshots"], 16, "outside: every snapshot")


def test_scan_cut_snapshot():
    # A scan in a snapshot cut before its SNAPSHOT_END goes with it; a
    # scan in an earlier snapshot stays.
    tmp = tempfile.mkdtemp(prefix="lst.")
    for nth, want in ((-1, None), (13, 13)):
        data = seed1_scan(nth=nth, index=15 if nth < 0 else nth,
                          split=EARLY_SPLIT)
        end = offset_of(data, "SNAPSHOT_END", 15)
        path = write(tmp, "cut.lsd", data[:end])
        rc, rep, err, text = san(path, want_rc=3)
        eq((rep["snapshots"], rep["error"]["offset"]), (15, end),
           "cut before #15's end (scan in %d)" % nth)
        if want is None:
            check("scan" not in rep and "scan:" not in text and
                  "reach" not in rep["sites"][0], "the scan is gone: %s" %
                  text[:600])
        else:
            eq(rep["scan"]["snapshot"], want, "the earlier scan stays")
            eq(lines(text, "scan:"), ["scan:      at 1.501 s (snapshot "
                                      "#13, the nearest before #14), "
                                      "complete"], "text")


def test_scan_old_dumps():
    # Dumps without scans: no scan line, no scan members (the golden tests
    # compare them byte for byte).
    for name in ("leaky.lsd", "seed1.lsd"):
        rc, rep, err, text = san(os.path.join(DATA, name), want_rc=0)
        check("scan" not in rep and "scan:" not in text and
              "reach:" not in text, "%s: no scan" % name)
        check(all("reach" not in s for s in rep["sites"]), name)


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
