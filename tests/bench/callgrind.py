# SPDX-License-Identifier: MIT
"""The instruction counts of tests/bench/run: instructions per
allocation call under callgrind, which no noise moves."""

import os
import shutil
import subprocess


def instructions(build, env_for, fresh_dir, sample):
    """Instructions per allocation call of malloc-heavy under callgrind,
    from the difference between two sizes (start-up cancels).  env_for
    and fresh_dir are run's tool_env and fresh_dir, sample its
    --sample."""
    if not shutil.which("valgrind"):
        return ["(valgrind not installed: no instruction counts)"]
    prog = os.path.join(build, "tests", "malloc-heavy")
    counts = {}
    for t in ("none", "floor", "sampled", "leakspy"):
        for n in (100000, 400000):
            out = fresh_dir()
            env, _ = env_for(t, out)
            # valgrind's launcher execs the tool: keep the preload.
            env["LEAKSPY_FOLLOW_EXEC"] = "1"
            # Snapshots only at exit: interval snapshots would land at
            # other points of the two runs and make the count noisy.
            env["LEAKSPY_INTERVAL"] = "0"
            p = subprocess.run(["valgrind", "--tool=callgrind",
                                "--callgrind-out-file=/dev/null", prog,
                                str(n), "1"], env=env, cwd=out,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            allocs, frees = (int(x) for x in p.stdout.split())
            refs = [l for l in p.stderr.decode().splitlines()
                    if "refs:" in l]
            counts[(t, n)] = (int(refs[-1].split()[-1].replace(",", "")),
                              allocs + frees)
            shutil.rmtree(out, ignore_errors=True)
    res = []
    base = None
    for t in ("none", "floor", "sampled", "leakspy"):
        (i0, c0), (i1, c1) = counts[(t, 100000)], counts[(t, 400000)]
        per = (i1 - i0) / (c1 - c0)
        if base is None:
            base = per
            res.append("- no tool: %.0f instructions per allocation call"
                       % per)
        else:
            res.append("- %s: %.0f, so %.0f added (%.1f%%)" % (
                {"leakspy": "full", "floor": "floor (forwarding only)"}.get(
                    t, "sampled (%s)" % sample),
                per, per - base, 100 * (per - base) / base))
    return res
