# SPDX-License-Identifier: MIT
"""An independent reader and writer of the leakspy dump format, written
from leakspy-dump(5) alone, for tests: it cross-checks the C reader and
builds stored and damaged dumps."""

import struct
import zlib

MAGIC = b"leakspy-dump 1\n"
T = {"PROCESS": 1, "MODULE": 2, "MODULE_GONE": 3, "STACKS": 4,
     "SNAPSHOT": 5, "SITES": 6, "SNAPSHOT_END": 7, "FINAL": 8, "AGES": 9,
     "NOTE": 0x8001}


def uv(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def string(s):
    if isinstance(s, str):
        s = s.encode()
    return uv(len(s)) + s


class Cur:
    def __init__(self, data):
        self.d, self.i = data, 0

    def uv(self):
        v = shift = 0
        while True:
            b = self.d[self.i]
            self.i += 1
            v |= (b & 0x7f) << shift
            if not b & 0x80:
                return v
            shift += 7

    def str(self):
        n = self.uv()
        s = self.d[self.i:self.i + n]
        if len(s) != n:
            raise ValueError("string cut short")
        self.i += n
        return s

    def left(self):
        return len(self.d) - self.i


def records(data):
    """Yield (offset, type, payload) for each record; raise on damage."""
    if not data.startswith(MAGIC):
        raise ValueError("bad first line")
    off = len(MAGIC)
    while off < len(data):
        if len(data) - off < 12:
            raise ValueError("cut short at %d" % off)
        typ, flags, n = struct.unpack_from("<HHI", data, off)
        end = off + 8 + n
        if end + 4 > len(data):
            raise ValueError("cut short at %d" % off)
        (crc,) = struct.unpack_from("<I", data, end)
        if crc != zlib.crc32(data[off:end]) or flags:
            raise ValueError("bad record at %d" % off)
        yield off, typ, data[off + 8:end]
        off = end + 4


def record(typ, payload):
    head = struct.pack("<HHI", typ, 0, len(payload))
    return head + payload + struct.pack("<I", zlib.crc32(head + payload))


def parse(data):
    """A dict with process, modules, stacks, snapshots (full state each:
    sites {stack: (live bytes, live blocks, alloc bytes, alloc blocks)},
    ages {(stack, epoch): (blocks, bytes)})."""
    d = {"modules": [], "stacks": [], "snapshots": [], "final": False}
    state, ages = {}, {}
    snap = None
    for off, typ, p in records(data):
        c = Cur(p)
        if typ == T["PROCESS"]:
            pid, ppid, start = c.uv(), c.uv(), c.uv()
            exe = c.str().decode()
            argv = [c.str().decode() for _ in range(c.uv())]
            d["process"] = {"pid": pid, "ppid": ppid, "exe": exe,
                            "argv": argv, "flags": c.uv(),
                            "note": c.str().decode()}
        elif typ == T["MODULE"]:
            m = {"id": c.uv(), "gen": c.uv(), "bias": c.uv(),
                 "path": c.str().decode(), "build_id": c.str().hex()}
            m["segs"] = [(c.uv(), c.uv()) for _ in range(c.uv())]
            d["modules"].append(m)
        elif typ == T["STACKS"]:
            for _ in range(c.uv()):
                sid, gen, api, flags, n = (c.uv(), c.uv(), c.uv(), c.uv(),
                                           c.uv())
                assert sid == len(d["stacks"])
                d["stacks"].append({"gen": gen, "api": api, "flags": flags,
                                    "ips": [c.uv() for _ in range(n)]})
        elif typ == T["SNAPSHOT"]:
            snap = {"index": c.uv(), "mono_ns": c.uv(), "real_ns": c.uv(),
                    "reason": c.uv(), "changed": 0, "aged": 0}
            snap["counters"] = [c.uv() for _ in range(c.uv())]
            if c.left():
                snap["epoch"], snap["ages_complete"] = c.uv(), c.uv()
        elif typ == T["SITES"]:
            assert c.uv() == snap["index"]
            for _ in range(c.uv()):
                sid = c.uv()
                state[sid] = tuple(c.uv() for _ in range(4))
                snap["changed"] += 1
        elif typ == T["AGES"]:
            assert c.uv() == snap["index"]
            for _ in range(c.uv()):
                stack, replace, n = c.uv(), c.uv(), c.uv()
                if replace:
                    for key in [k for k in ages if k[0] == stack]:
                        del ages[key]
                epoch = 0
                for _ in range(n):
                    epoch += c.uv()
                    blocks, nbytes = c.uv(), c.uv()
                    if blocks or nbytes:
                        ages[(stack, epoch)] = (blocks, nbytes)
                    else:
                        ages.pop((stack, epoch), None)
                snap["aged"] += 1
        elif typ == T["SNAPSHOT_END"]:
            assert c.uv() == snap["index"] and c.uv() == snap["changed"]
            assert (c.uv() if c.left() else 0) == snap["aged"]
            snap["sites"] = dict(state)
            snap["ages"] = dict(ages)
            d["snapshots"].append(snap)
            snap = None
        elif typ == T["FINAL"]:
            d["final"] = True
    return d


def rewrite(data, fn):
    """Re-encode data with fn(type, payload) -> payload or None (drop)."""
    out = bytearray(MAGIC)
    for off, typ, p in records(data):
        q = fn(typ, p)
        if q is not None:
            out += record(typ, q)
    return bytes(out)


def module_record(m):
    p = uv(m["id"]) + uv(m["gen"]) + uv(m["bias"]) + string(m["path"]) + \
        string(bytes.fromhex(m["build_id"])) + uv(len(m["segs"]))
    for s, n in m["segs"]:
        p += uv(s) + uv(n)
    return p


def boundaries(data):
    """Offsets at which records start, and the end."""
    out = [len(MAGIC)]
    for off, typ, p in records(data):
        out.append(off + 12 + len(p))
    return out
