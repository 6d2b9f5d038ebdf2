# SPDX-License-Identifier: MIT
"""What leakspy's dumps of a run of tests/bench/run say about it: the
allocation calls it made and the frames per stack leakspy took."""

import json
import os
import subprocess


def names(outdir, prefix=""):
    """The dump files in outdir whose names start with prefix."""
    return [os.path.join(outdir, f) for f in os.listdir(outdir)
            if f.endswith(".lsd") and f.startswith(prefix)]


def calls(report, outdir, prefix=""):
    """Allocation calls of a leakspy run, from its dump(s) in outdir
    (those whose name starts with prefix), read with leakspy-report at
    path report: allocations twice (each is freed once, unless still
    live), minus what is live at exit."""
    n = 0
    for path in names(outdir, prefix):
        p = subprocess.run([report, "-f", "json", "-n", "1", path],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            t = json.loads(p.stdout)["totals"]
        except (ValueError, KeyError):
            continue
        n += 2 * t["allocated_blocks"] - t["live_blocks"]
    return n


def frames(outdir, prefix=""):
    """The frames per stack leakspy took in a run, from its dump(s) in
    outdir (those whose name starts with prefix): the mean frame count
    of the stacks, each weighted by the allocation calls made through it
    (its allocated blocks since the start, at the last snapshot), or
    None if no call was made.  The frames are the return addresses the
    dump holds for a stack (leakspy-dump(5), STACKS), from the
    allocator's caller outwards: the frames the walk went through, where
    inlined calls do not count (they have no frame of their own).  They
    are not read from leakspy-report -f json, which lists only the
    sites with live blocks or growth at its snapshot (a run that frees
    everything has next to none), expands inlined calls into frames and
    leaves out the allocator's own."""
    import lsdump   # tests/lib, on the path once run has set it
    total = weight = 0
    for path in names(outdir, prefix):
        with open(path, "rb") as f:
            data = f.read()
        depth, blocks = {}, {}
        try:
            for _, typ, p in lsdump.records(data):
                c = lsdump.Cur(p)
                if typ == lsdump.T["STACKS"]:
                    for _ in range(c.uv()):
                        sid = c.uv()
                        c.uv(), c.uv(), c.uv()      # gen, api, flags
                        depth[sid] = n = c.uv()
                        for _ in range(n):
                            c.uv()
                elif typ == lsdump.T["SITES"]:
                    c.uv()                          # snapshot index
                    for _ in range(c.uv()):
                        sid = c.uv()
                        c.uv(), c.uv(), c.uv()      # live, live, bytes
                        blocks[sid] = c.uv()
        except (ValueError, IndexError):
            pass        # a dump cut short: what it holds up to there
        for sid, n in blocks.items():
            total += n * depth.get(sid, 0)
            weight += n if sid in depth else 0
    return total / weight if weight else None
