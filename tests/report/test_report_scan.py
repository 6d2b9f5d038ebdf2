#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report on heap scans: reach, owners and chains of seed1's
scan, the nearest scan, incomplete and damaged scans, roots, and dumps
from before scans.  Usage: test_report_scan.py TEST"""

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402
from reportlib import *  # noqa: E402,F401,F403


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
