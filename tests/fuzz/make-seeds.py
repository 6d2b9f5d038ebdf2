#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the synthetic seeds of tests/fuzz/corpus/ (syn-*) from the
stored fixtures: records real runs do not always have (a PROCESS name,
FINAL by a signal, LOST, NOTE, SETTING, a heap scan, bytes that are not
UTF-8), so that the
fuzzer starts from them.  The other seeds are dumps of victims, copied as
they were written.  Usage: make-seeds.py"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import lsdump  # noqa: E402
from lsdump import with_process  # noqa: E402

DATA = os.path.join(HERE, "..", "report", "data")


def load(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def replace_final(data, payload):
    """data with its FINAL record's payload replaced, or dropped (None),
    and records appended after the last snapshot's end."""
    return lsdump.edit(data, "FINAL", lambda p: payload)


def append(data, *recs):
    return data + b"".join(lsdump.record(lsdump.T[t], p) for t, p in recs)


def after_process(data, *recs):
    """data with records inserted right after its PROCESS record, where
    the shim writes its SETTING records."""
    out = bytearray(lsdump.MAGIC)
    for off, typ, p in lsdump.records(data):
        out += lsdump.record(typ, p)
        if typ == lsdump.T["PROCESS"]:
            out += b"".join(lsdump.record(lsdump.T[t], q) for t, q in recs)
    return bytes(out)


def scan_records(index):
    """A heap scan of seed1's snapshot index: the split of its four
    stacks, owners of each kind, chains with a collapsed run."""
    g = 0x55bd3ee9fed0
    split = [(1, [0, 0, 0, 0, 0, 0, 1319040, 13740]),
             (2, [0, 0, 0, 0, 8, 1, 131072, 1]),
             (0, [0, 0, 0, 0, 0, 0, 96, 1]), (3, [4096, 1, 0, 0, 0, 0, 0, 0])]
    owners = [(1, 0, 2, 1319040, 13740), (1, 0, 1, 960, 10),
              (2, 0, 0, 131072, 1), (0, 1, g, 96, 1), (0, 2, 0, 96, 1),
              (0, 3, 7, 96, 1), (0, 4, 7, 96, 1)]
    chains = [(1, [(0, 1, 57), (0, 2, 1), (0, 0, 1), (1, g, 1)]),
              (2, [(0, 0, 1), (2, 0, 1)])]
    return (("SCAN", lsdump.scan_record(index, 1500900000, split, 0,
                                        b"seccomp: process_vm_readv refused", 1, 2)),
            ("OWNERS", lsdump.owners_record(index, owners)),
            ("CHAIN", lsdump.chain_record(index, chains)))


def main():
    leaky, seed1 = load("leaky.lsd"), load("seed1.lsd")
    out = {
        "syn-signal": with_process(
            replace_final(leaky, lsdump.final_record(3, 15)),
            name=b"redis-server"),
        "syn-lost-last": append(replace_final(seed1, None),
                                ("LOST", lsdump.lost_record(0, 1, 24))),
        "syn-lost-mid": append(replace_final(seed1, None),
                               ("LOST", lsdump.lost_record(1, 0, 28)),
                               ("NOTE", lsdump.string(b"note \xff\xfe"))),
        "syn-settings": after_process(
            seed1,
            ("SETTING", lsdump.setting_record(
                b"LEAKSPY_DEPTH", b"500", b"248", b"want 1 to 248")),
            ("SETTING", lsdump.setting_record(
                b"LEAKSPY_SIGNAL", b"TERM\xff", b"none",
                b"cannot be the snapshot signal"))),
        "syn-scan": lsdump.with_scan(seed1, -1, *scan_records(15)),
        "syn-bytes": with_process(leaky, argv=[b"a\xff\xfeb", b"\xc0\xaf",
                                               b"\xed\xa0\x80\x1b[31m"],
                                  name=b"\xe2\x82", exe=b"/x/\xf5y"),
    }
    for name, data in out.items():
        with open(os.path.join(HERE, "corpus", name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
