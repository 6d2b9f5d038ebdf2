# SPDX-License-Identifier: MIT
"""An independent reader and writer of the leakspy dump format, written
from leakspy-dump(5) alone, for tests: it cross-checks the C reader and
builds stored and damaged dumps."""

import struct
import zlib

MAGIC = b"leakspy-dump 1\n"
T = {"PROCESS": 1, "MODULE": 2, "MODULE_GONE": 3, "STACKS": 4,
     "SNAPSHOT": 5, "SITES": 6, "SNAPSHOT_END": 7, "FINAL": 8, "AGES": 9,
     "NOTE": 0x8001, "THREADS": 0x8002, "STACK_THREADS": 0x8003,
     "LOST": 0x8004, "SETTING": 0x8005, "SCAN": 0x8006, "OWNERS": 0x8007,
     "CHAIN": 0x8008}
# OWNERS and CHAIN kinds
OWN_BLOCK, OWN_GLOBAL, OWN_STACK, OWN_TLS, OWN_REGISTER, OWN_CACHE = range(6)
FINAL_HOW = {0: "exit", 1: "exec", 2: "abort", 3: "signal"}
FINAL_SIGNAL = 3
SNAP_REASON = {0: "exit", 1: "interval", 2: "signal", 3: "exec", 4: "abort",
               5: "sandbox", 6: "scan"}
CNT_WRITE_ERRORS = 6


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
            pr = parse_process(p)
            for k in ("exe", "note", "name"):
                if k in pr:
                    pr[k] = pr[k].decode(errors="surrogateescape")
            pr["argv"] = [a.decode(errors="surrogateescape")
                          for a in pr["argv"]]
            d["process"] = pr
        elif typ == T["MODULE"]:
            m = parse_module(p)
            m["path"] = m["path"].decode()
            d["modules"].append(m)
        elif typ == T["STACKS"]:
            for _ in range(c.uv()):
                sid, gen, api, flags, n = (c.uv(), c.uv(), c.uv(), c.uv(),
                                           c.uv())
                assert sid == len(d["stacks"])
                d["stacks"].append({"gen": gen, "api": api, "flags": flags,
                                    "ips": [c.uv() for _ in range(n)]})
        elif typ == T["SNAPSHOT"]:
            snap = dict(parse_snapshot(p), changed=0, aged=0)
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
            how = c.uv()
            d["final_how"] = how
            d["final_signo"] = c.uv() if how == FINAL_SIGNAL else None
        elif typ == T["LOST"]:
            d.setdefault("lost", []).append(
                {"reason": c.uv(), "last": c.uv(), "errno": c.uv()})
        elif typ == T["SETTING"]:
            d.setdefault("settings", []).append(parse_setting(p))
        elif typ == T["SCAN"]:
            snap["scan"] = parse_scan(p)
        elif typ == T["OWNERS"]:
            assert c.uv() == snap["index"]
            snap["scan"]["owners"] += [tuple(c.uv() for _ in range(5))
                                       for _ in range(c.uv())]
        elif typ == T["CHAIN"]:
            assert c.uv() == snap["index"]
            for _ in range(c.uv()):
                stack = c.uv()
                snap["scan"]["chains"].append(
                    (stack, [tuple(c.uv() for _ in range(3))
                             for _ in range(c.uv())]))
    return d


def parse_process(p):
    """A PROCESS payload as a dict; its later fields (inherited_epoch,
    name) only when present.  Strings are bytes, as in the dump."""
    c = Cur(p)
    pr = {"pid": c.uv(), "ppid": c.uv(), "start_ns": c.uv(),
          "exe": c.str()}
    pr["argv"] = [c.str() for _ in range(c.uv())]
    pr["flags"] = c.uv()
    pr["note"] = c.str()
    pr["alloc_addrs"] = [c.uv() for _ in range(c.uv())]
    pr["max_depth"], pr["interval_ms"], pr["sample_bytes"] = (c.uv(), c.uv(),
                                                             c.uv())
    if c.left():
        pr["inherited_epoch"] = c.uv()
    if c.left():
        pr["name"] = c.str()
    return pr


def process_record(pr):
    """Encode a dict from parse_process (fields it lacks are left out)."""
    p = uv(pr["pid"]) + uv(pr["ppid"]) + uv(pr["start_ns"]) + \
        string(pr["exe"]) + uv(len(pr["argv"]))
    for a in pr["argv"]:
        p += string(a)
    p += uv(pr["flags"]) + string(pr["note"]) + uv(len(pr["alloc_addrs"]))
    for a in pr["alloc_addrs"]:
        p += uv(a)
    p += uv(pr["max_depth"]) + uv(pr["interval_ms"]) + uv(pr["sample_bytes"])
    if "inherited_epoch" in pr or "name" in pr:
        p += uv(pr.get("inherited_epoch", 0))
    if "name" in pr:
        p += string(pr["name"])
    return p


def final_record(how, signo=None):
    """A FINAL payload; signo follows for how 3 (a fatal signal)."""
    return uv(how) + (uv(signo) if signo is not None else b"")


def lost_record(reason, last, errno):
    """A LOST payload."""
    return uv(reason) + uv(last) + uv(errno)


def parse_setting(p):
    """A SETTING payload as a dict of its four strings, decoded."""
    c = Cur(p)
    return {k: c.str().decode(errors="surrogateescape")
            for k in ("name", "given", "used", "reason")}


def setting_record(name, given, used, reason):
    """A SETTING payload."""
    return string(name) + string(given) + string(used) + string(reason)


def scan_record(index, mono_ns, split, complete=1, reason=b"", stopped=0,
                not_stopped=0, gen=0):
    """A SCAN payload; split is [(stack, [def_bytes, def_blocks, ind_bytes,
    ind_blocks, int_bytes, int_blocks, reach_bytes, reach_blocks])]."""
    p = uv(index) + uv(mono_ns) + uv(complete) + string(reason) + \
        uv(stopped) + uv(not_stopped) + uv(gen) + uv(len(split))
    for stack, vals in split:
        assert len(vals) == 8
        p += uv(stack) + b"".join(uv(v) for v in vals)
    return p


def parse_scan(p):
    """A SCAN payload as a dict (for scan_record's arguments), with
    empty owners and chains for the records that follow it."""
    c = Cur(p)
    s = {"index": c.uv(), "mono_ns": c.uv(), "complete": c.uv(),
         "reason": c.str(), "stopped": c.uv(), "not_stopped": c.uv(),
         "gen": c.uv()}
    s["split"] = [(c.uv(), [c.uv() for _ in range(8)])
                  for _ in range(c.uv())]
    s["owners"], s["chains"] = [], []
    return s


def owners_record(index, owners):
    """An OWNERS payload; owners is [(stack, kind, owner, bytes,
    blocks)]."""
    return uv(index) + uv(len(owners)) + b"".join(
        b"".join(uv(v) for v in o) for o in owners)


def chain_record(index, chains):
    """A CHAIN payload; chains is [(stack, [(kind, owner, nblocks)])]."""
    p = uv(index) + uv(len(chains))
    for stack, steps in chains:
        p += uv(stack) + uv(len(steps))
        for st in steps:
            p += b"".join(uv(v) for v in st)
    return p


def with_scan(data, nth, *recs):
    """data with records (type name, payload) inserted into its nth
    snapshot (negative: from the end), before its SNAPSHOT_END."""
    n = len([1 for o, t, p in records(data) if t == T["SNAPSHOT_END"]])
    nth %= n
    out, seen = bytearray(MAGIC), 0
    for off, typ, p in records(data):
        if typ == T["SNAPSHOT_END"]:
            if seen == nth:
                out += b"".join(record(T[t], q) for t, q in recs)
            seen += 1
        out += record(typ, p)
    return bytes(out)


def snapshot_record(snap):
    """Encode a SNAPSHOT payload from a dict as parse() makes them."""
    p = uv(snap["index"]) + uv(snap["mono_ns"]) + uv(snap["real_ns"]) + \
        uv(snap["reason"]) + uv(len(snap["counters"]))
    for v in snap["counters"]:
        p += uv(v)
    if "epoch" in snap:
        p += uv(snap["epoch"]) + uv(snap["ages_complete"])
    return p


def parse_snapshot(p):
    """A SNAPSHOT payload as a dict (for snapshot_record)."""
    c = Cur(p)
    snap = {"index": c.uv(), "mono_ns": c.uv(), "real_ns": c.uv(),
            "reason": c.uv()}
    snap["counters"] = [c.uv() for _ in range(c.uv())]
    if c.left():
        snap["epoch"], snap["ages_complete"] = c.uv(), c.uv()
    return snap


def rewrite(data, fn):
    """Re-encode data with fn(type, payload) -> payload or None (drop)."""
    out = bytearray(MAGIC)
    for off, typ, p in records(data):
        q = fn(typ, p)
        if q is not None:
            out += record(typ, q)
    return bytes(out)


def edit(data, typ, fn):
    """data with each record of type typ (a name in T) re-encoded from
    fn(payload): its new payload, or None to drop it."""
    return rewrite(data, lambda t, p: fn(p) if t == T[typ] else p)


def with_process(data, **changes):
    """data with fields of its PROCESS record changed (parse_process's
    names)."""
    return edit(data, "PROCESS", lambda p: process_record(
        dict(parse_process(p), **changes)))


def with_module(data, **changes):
    """data with fields of module 0's MODULE records changed
    (parse_module's names)."""
    def fix(p):
        m = parse_module(p)
        if m["id"] == 0:
            m.update(changes)
        return module_record(m)
    return edit(data, "MODULE", fix)


def with_thread(data, **changes):
    """data with fields of the first entry of each THREADS record changed
    (parse_threads's names)."""
    def fix(p):
        index, entries = parse_threads(p)
        entries[0].update(changes)
        return threads_record(index, entries)
    return edit(data, "THREADS", fix)


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


def snapshot_spans(data):
    """For each snapshot whose SNAPSHOT_END record is whole in data: (the
    offset of its SNAPSHOT record, the offset just past its SNAPSHOT_END
    record).  A reader counts a snapshot from the end of its SNAPSHOT_END
    on (leakspy-dump(5): a snapshot without its end is discarded)."""
    out, start = [], None
    for off, typ, p in records(data):
        if typ == T["SNAPSHOT"]:
            start = off
        elif typ == T["SNAPSHOT_END"]:
            out.append((start, off + 12 + len(p)))
    return out


def uvs(p):
    """A payload made of varints only (STACKS, SNAPSHOT, SITES, AGES,
    SNAPSHOT_END, MODULE_GONE, FINAL, LOST) as a list."""
    c, out = Cur(p), []
    while c.left():
        out.append(c.uv())
    return out


def from_uvs(vals):
    return b"".join(uv(v) for v in vals)


def parse_module(p):
    c = Cur(p)
    m = {"id": c.uv(), "gen": c.uv(), "bias": c.uv(), "path": c.str(),
         "build_id": c.str().hex()}
    m["segs"] = [(c.uv(), c.uv()) for _ in range(c.uv())]
    return m


def parse_threads(p):
    """A THREADS payload: (snapshot index, [entries as dicts])."""
    c = Cur(p)
    index, out = c.uv(), []
    for _ in range(c.uv()):
        t = {"serial": c.uv(), "tid": c.uv(), "creator": c.uv(),
             "name": c.str(), "state": c.uv(), "exited": c.uv(),
             "start": c.uv(), "created_ns": c.uv(), "gen": c.uv()}
        t["ips"] = [c.uv() for _ in range(c.uv())]
        out.append(t)
    return index, out


def threads_record(index, entries):
    p = uv(index) + uv(len(entries))
    for t in entries:
        p += uv(t["serial"]) + uv(t["tid"]) + uv(t["creator"]) + \
            string(t["name"]) + uv(t["state"]) + uv(t["exited"]) + \
            uv(t["start"]) + uv(t["created_ns"]) + uv(t["gen"]) + \
            uv(len(t["ips"])) + b"".join(uv(a) for a in t["ips"])
    return p
