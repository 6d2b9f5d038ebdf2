# SPDX-License-Identifier: MIT
"""What leakspy's dumps of a run of tests/bench/run say about it: the
allocation calls it made."""

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
