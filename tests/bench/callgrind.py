# SPDX-License-Identifier: MIT
"""The instruction counts of tests/bench/run: instructions per
allocation call under callgrind, which no noise moves.  Each count is
the difference between two sizes of a workload, so that start-up and
exit cancel, and valgrind runs under `setarch x86_64 -R`: without ASLR
the addresses, and with them the placement of what is hashed by
address, are the same from run to run, and so are the counts, or nearly
(repeated runs of python3 and sqlite3 differed by tens to hundreds of
instructions in billions; each run has its own temporary directory and
pid, which may be why).  leakspy runs with LEAKSPY_FOLLOW_EXEC=1 (valgrind's
launcher execs the tool: keep the preload) and LEAKSPY_INTERVAL=0
(snapshots only at exit: interval snapshots would land at other points
of the two runs and make the count noisy).
"""

import os
import shutil
import subprocess

import dumps

NO_ASLR = ["setarch", "x86_64", "-R"]


def callgrind_env(env_for, tool, out):
    env, _ = env_for(tool, out)
    env["LEAKSPY_FOLLOW_EXEC"] = "1"
    env["LEAKSPY_INTERVAL"] = "0"
    return env


def count(argv, env, cwd, stdin=None):
    """(instructions, standard output) of argv under callgrind, or
    (None, exit status) if valgrind gave no count."""
    pre = NO_ASLR if shutil.which("setarch") else []
    with open(stdin) if stdin else open(os.devnull) as f:
        p = subprocess.run(pre + ["valgrind", "--tool=callgrind",
                                  "--callgrind-out-file=/dev/null"] + argv,
                           env=env, cwd=cwd, stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    refs = [l for l in p.stderr.decode().splitlines() if "refs:" in l]
    if not refs:
        return None, p.returncode
    return int(refs[-1].split()[-1].replace(",", "")), p.stdout


def instructions(build, env_for, fresh_dir, sample):
    """Instructions per allocation call of malloc-heavy, 1 thread, for
    no tool, the floor, sampled mode and full mode, at 100,000 and
    400,000 loop turns; the calls are the ones the program prints.
    env_for and fresh_dir are run's tool_env and fresh_dir, sample its
    --sample."""
    if not shutil.which("valgrind"):
        return ["(valgrind not installed: no instruction counts)"]
    prog = os.path.join(build, "tests", "malloc-heavy")
    counts = {}
    for t in ("none", "floor", "sampled", "leakspy"):
        for n in (100000, 400000):
            out = fresh_dir()
            ir, stdout = count([prog, str(n), "1"],
                               callgrind_env(env_for, t, out), out)
            allocs, frees = (int(x) for x in stdout.split())
            counts[(t, n)] = (ir, allocs + frees)
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


def by_workload(report, env_for, fresh_dir, specs):
    """Instructions per allocation call of each workload of specs, with
    no tool and in full mode, and what full mode adds: a line each.
    specs maps a workload's name to (sizes, unit, fn): two sizes, a
    format that names a size ("%s rows"), and fn(size) giving (argv, stdin file or None, extra
    environment).  The allocation calls at a size are those of the
    full-mode run's dump (dumps.calls on the dump named after argv[0]),
    counted as the table counts them, and no tool's run makes the same
    calls.  report is leakspy-report's path."""
    if not shutil.which("valgrind"):
        return ["(valgrind not installed: no instruction counts)"]
    res = []
    for w, (sizes, unit, fn) in specs.items():
        ir, calls, failed = {}, {}, None
        for t in ("none", "leakspy"):
            for n in sizes:
                argv, stdin, extra = fn(n)
                out = fresh_dir()
                env = callgrind_env(env_for, t, out)
                env.update(extra)
                ir[(t, n)], got = count(argv, env, out, stdin)
                if ir[(t, n)] is None and failed is None:
                    failed = "valgrind exited %d (%s)" % (got, t)
                if t == "leakspy":
                    calls[n] = dumps.calls(report, out,
                                           os.path.basename(argv[0]) + ".")
                shutil.rmtree(out, ignore_errors=True)
        what = "- %s, %s minus %s" % (w, unit % "{:,}".format(sizes[1]),
                                      unit % "{:,}".format(sizes[0]))
        dc = calls[sizes[1]] - calls[sizes[0]]
        if failed is None and dc <= 0:
            failed = "allocation calls %d and %d" % (calls[sizes[0]],
                                                     calls[sizes[1]])
        if failed is not None:
            res.append("%s: no count, %s" % (what, failed))
            continue
        none, full = ((ir[(t, sizes[1])] - ir[(t, sizes[0])]) / dc
                      for t in ("none", "leakspy"))
        res.append("%s, %s allocation calls apart: no tool %.0f, full "
                   "%.0f instructions a call, so %.0f added (%.1f%%)" % (
                       what, "{:,}".format(dc), none, full, full - none,
                       100 * (full - none) / none))
    return res
