#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the synthetic seeds of tests/fuzz/corpus/ (syn-*) from the
stored fixtures: records real runs do not always have (a PROCESS name,
FINAL by a signal, LOST, NOTE, SETTING, bytes that are not UTF-8), so that the
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
        "syn-bytes": with_process(leaky, argv=[b"a\xff\xfeb", b"\xc0\xaf",
                                               b"\xed\xa0\x80\x1b[31m"],
                                  name=b"\xe2\x82", exe=b"/x/\xf5y"),
    }
    for name, data in out.items():
        with open(os.path.join(HERE, "corpus", name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
