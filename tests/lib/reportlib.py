# SPDX-License-Identifier: MIT
"""What the report tests (tests/report/test_report.py,
test_report_records.py, test_report_scan.py) share: running
leakspy-report on a dump, plain and under the sanitizers, golden outputs,
and editing a dump's records."""

import json
import os
import subprocess
import tempfile

import lsdump
from lstest import BUILD, REPORT, REPORT_SAN, TIMEOUT, Fail, check, eq

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                    "report")
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
