#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shim through a process's life: signals, exit paths, exec, fork,
growth verdicts of the seeds' patterns, sampled mode.  Usage:
test_process.py TEST"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
from shimfacts import *  # noqa: E402,F401,F403


def test_signal():
    # The program survives its SIGUSR2.
    r = run([victim("sleeper"), "300", "raise"],
            env={"LEAKSPY_SIGNAL": "USR2"}, want_rc=0)
    dump = one_dump(r)
    reasons = snapshot_reasons(dump)
    eq(reasons, ["signal", "exit"], "snapshot reasons")


def test_signal_chain():
    """With LEAKSPY_SIGNAL=USR2 the program's own SIGUSR2 handlers (set
    with sigaction and with signal) still run, read back as set, and can
    be ignored; each signal also gives a snapshot, but for the one
    ignored.  Without it, the
    program catches the same standard signals as without leakspy."""
    r = same_as_native([victim("sigchain")], env={"LEAKSPY_SIGNAL": "USR2"},
                       want_rc=0)
    eq(r.out, b"before: default\nread back: on_info\n"
       b"signal() returned: on_info\non_info 2, on_plain 1\n", "output")
    dump = one_dump(r)
    reasons = snapshot_reasons(dump)
    # Once ignored, the signal stays ignored in the kernel: no snapshot.
    eq(reasons, ["signal"] * 3 + ["exit"], "snapshot reasons")
    native = run([victim("sigchain"), "mask"], preload=False, want_rc=0)
    traced = run([victim("sigchain"), "mask"], want_rc=0)
    # Bits 31 and up are the C library's own (its thread signals, which
    # the writer thread's creation sets up); the standard ones must match,
    # but for SIGHUP, SIGINT and SIGTERM, which leakspy catches while the
    # program leaves them at their default, to take the final snapshot
    # before they end it (test_fidelity.py's fatal_signals).
    fate = 1 << (signal.SIGHUP - 1) | 1 << (signal.SIGINT - 1) | \
        1 << (signal.SIGTERM - 1)
    std = lambda out: int(out.split()[1], 16) & 0x7fffffff
    eq(std(traced.out) & ~fate, std(native.out), "standard signals caught")
    eq(std(traced.out) & fate, fate, "SIGHUP, SIGINT, SIGTERM caught")


def test_exit_paths():
    """abort() and a failed assert() write a last snapshot; a fatal signal
    leaves the periodic ones intact, the dump read as incomplete."""
    for mode, rc in (("abort", -6), ("assert", -6), ("segv", -11)):
        r = same_as_native([victim("aborter"), mode],
                           env={"LEAKSPY_INTERVAL": "0.05"}, want_rc=rc)
        dump = one_dump(r)
        rep = report(dump, want_rc=3 if mode == "segv" else 0)
        expect_site(rep, "before_death", 900, 1)
        check(rep["snapshots"] >= 3, "%s: snapshots %d" % (mode,
                                                        rep["snapshots"]))
        eq((rep["complete"], rep["snapshot"]["reason"]),
           (False, "interval") if mode == "segv" else (True, "abort"),
           "%s: complete, last reason" % mode)


def test_sigkill():
    tmp = tmpdir()
    p = subprocess.Popen([victim("sleeper"), "100000"], cwd=tmp, env=dict(
        os.environ, LD_PRELOAD=LIB, LEAKSPY_INTERVAL="0.05"),
        stdout=subprocess.PIPE)
    time.sleep(0.5)
    p.send_signal(signal.SIGKILL)
    eq(p.wait(timeout=TIMEOUT), -signal.SIGKILL, "killed by SIGKILL")
    dumps = [os.path.join(tmp, f) for f in os.listdir(tmp)]
    eq(len(dumps), 1, "one dump")
    rep = report(dumps[0], want_rc=3)
    check(rep["snapshots"] >= 3, "snapshots before the kill: %d" %
          rep["snapshots"])
    eq(rep["complete"], False, "complete")
    b, n = by_function(rep, "grow")
    check(n > 5 and b == n * 1000, "growth seen: %d blocks" % n)
    eq(sites_of(rep, "grow")[0]["growth"]["verdict"], "growing",
       "the verdict from the snapshots before the kill")
    _, err = report_text(dumps[0], want_rc=3)
    check("no final snapshot" in err, "message: %r" % err)


def test_launcher():
    tmp = tmpdir()
    p = subprocess.run([LAUNCHER, "-i", "0", "-d", "8", "-o",
                        os.path.join(tmp, "x.%p.lsd"), "--",
                        victim("leaky_fp")], stdout=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 3, "the launcher exits with the command's status")
    eq(p.stdout, b"leaky: done\n", "output")
    dumps = [f for f in os.listdir(tmp) if f.endswith(".lsd")]
    eq(len(dumps), 1, "one dump")
    rep = report(os.path.join(tmp, dumps[0]))
    expect_site(rep, "leak_malloc", 3000, 3)
    eq(rep["process"]["max_depth"], 8, "--depth reaches the shim")
    eq(rep["process"]["interval_s"], 0.0, "--interval reaches the shim")
    for bad in (["-d", "0"], ["-i", "x"], ["-s", "NOPE"], ["-o", ""], []):
        q = subprocess.run([LAUNCHER] + bad + ["true"] if bad else
                           [LAUNCHER], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq(q.returncode, 2, "usage error for %r" % bad)
    q = subprocess.run([LAUNCHER, "--", "/nonexistent/cmd"],
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(q.returncode, 127, "command not found")


def test_exec_drops_preload():
    # Only the shell writes a dump unless LEAKSPY_FOLLOW_EXEC=1.
    script = "%s >/dev/null; %s; :" % (victim("tidy"), victim("tidy"))
    r = run(["/bin/sh", "-c", script], want_rc=0)
    eq(len(r.dumps), 1, "one dump by default: %r" % r.dumps)
    report(r.dumps[0])
    r = run(["/bin/sh", "-c", script], env={"LEAKSPY_FOLLOW_EXEC": "1"},
            want_rc=0)
    names = sorted(os.path.basename(d).split(".")[1] for d in r.dumps)
    check(names.count("tidy") == 2, "each tidy writes a dump: %r" % names)
    # Other preloaded libraries stay in LD_PRELOAD.
    r = run(["/bin/sh", "-c", "echo $LD_PRELOAD"],
            env={"LD_PRELOAD": LIB + ":" + LIB}, want_rc=0)
    eq(r.out, b"\n", "leakspy's entries removed")


def exec_snapshots(dump):
    """(reason of each snapshot, bytes kept in image_n at the last)."""
    return report(dump), snapshot_reasons(dump)


def test_exec_images():
    """Each image of a process that executes itself writes its own
    complete dump under LEAKSPY_FOLLOW_EXEC=1 (the name taken gets .2,
    .3, ... before .lsd), the last snapshot before each exec marked so; by
    default
    only the first image is traced, and its dump is complete."""
    argv = [victim("execer"), "3"]
    r = same_as_native(argv, env={"LEAKSPY_FOLLOW_EXEC": "1"}, want_rc=0)
    eq(r.out, b"image 3\nimage 2\nimage 1\nimage 0\n", "output")
    dumps = sorted(r.dumps, key=lambda d: (len(d), d))  # x.lsd, x.2.lsd
    pid = os.path.basename(dumps[0]).split(".")[2]
    eq([os.path.basename(d) for d in dumps],
       ["leakspy.execer.%s%s.lsd" % (pid, k) for k in ("", ".2", ".3", ".4")],
       "dump names")
    pids = set()
    for i, d in enumerate(dumps):
        rep, reasons = exec_snapshots(d)
        eq(rep["complete"], True, "dump %d complete" % i)
        eq(reasons, ["exit" if i == 3 else "exec"], "dump %d reasons" % i)
        expect_site(rep, "image_n", 1000 * (4 - i), 1)
        pids.add(rep["process"]["pid"])
    eq(len(pids), 1, "one process")
    r = same_as_native(argv, want_rc=0)
    eq(len(r.dumps), 1, "by default only the first image")
    rep, reasons = exec_snapshots(r.dumps[0])
    eq((rep["complete"], reasons), (True, ["exec"]), "first image's dump")
    expect_site(rep, "image_n", 4000, 1)


def test_exec_fails():
    """A failed exec keeps errno; the process and its dump go on."""
    r = same_as_native([victim("execer"), "fail"], want_rc=0)
    eq(r.out, b"exec failed: No such file or directory\n", "output")
    rep, reasons = exec_snapshots(one_dump(r))
    eq((rep["complete"], reasons), (True, ["exec", "exit"]), "snapshots")
    expect_site(rep, "after_fail", 500, 1)


def test_fork_child_dump():
    """A fork child writes its own dump (its pid, its parent's) with the
    blocks it inherited marked; vfork and posix_spawn children write
    nothing."""
    r = same_as_native([victim("forker")], want_rc=0)
    eq(r.out, b"7 8 0\n", "children's exit statuses")
    eq(len(r.dumps), 2, "the parent's dump and the fork child's")
    reps = sorted((report(d) for d in r.dumps),
                  key=lambda x: x["process"]["fork_child"])
    parent, child = reps
    eq(parent["process"]["fork_child"], False, "parent is no fork child")
    eq(child["process"]["ppid"], parent["process"]["pid"], "child's parent")
    check(child["process"]["pid"] != parent["process"]["pid"], "own pid")
    expect_site(parent, "parent_keep", 3000, 3)
    expect_site(parent, "after_fork", 400, 1)
    eq((parent["totals"]["inherited_bytes"],
        parent["totals"]["inherited_blocks"]), (0, 0), "parent inherits 0")
    expect_site(child, "parent_keep", 2000, 2)
    expect_site(child, "child_keep", 700, 1)
    eq(by_function(child, "after_fork"), (0, 0), "parent's later blocks")
    inh = lambda fn: (sum(s["inherited_bytes"] for s in sites_of(child, fn)),
                      sum(s["inherited_blocks"] for s in sites_of(child, fn)))
    eq(inh("parent_keep"), (2000, 2), "parent_keep inherited")
    eq(inh("child_keep"), (0, 0), "child_keep its own")
    eq((child["totals"]["inherited_bytes"],
        child["totals"]["inherited_blocks"]), (2000, 2), "inherited totals")
    text, _ = report_text(next(d for d in r.dumps
                               if str(child["process"]["pid"]) in d))
    check("inherited: 2000 bytes in 2 blocks" in text, "inherited line in:\n"
          + text)
    # A child that lives on gets periodic snapshots of its own.
    r = run([victim("forker"), "wait"], env={"LEAKSPY_INTERVAL": "0.05"},
            want_rc=0)
    eq(r.out, b"7 8 0\n", "output")
    child = [x for x in map(report, r.dumps) if x["process"]["fork_child"]]
    eq(len(child), 1, "one child dump")
    check(child[0]["snapshots"] >= 4 and child[0]["complete"],
          "child's snapshots: %d" % child[0]["snapshots"])
    expect_site(child[0], "child_keep", 700, 1)


def test_fork():
    # A forked child writes its own dump (its own pid), the parent's
    # stays whole.
    # (": " keeps the shell from replacing itself with the last command.)
    r = run(["/bin/sh", "-c", "%s; %s; :" % (victim("tidy"), victim("tidy"))],
            env={"LEAKSPY_FOLLOW_EXEC": "1"}, want_rc=0)
    pids = set()
    for d in r.dumps:
        rep = report(d)
        pids.add(rep["process"]["pid"])
    eq(len(pids), len(r.dumps), "a dump per process")
    check(len(r.dumps) >= 3, "sh and two children: %r" % r.dumps)


def growth_run(mode, secs=3.0, interval="0.1"):
    """Run pattern MODE; return its report and what it printed."""
    r = run([victim("pattern"), mode, str(secs)],
            env={"LEAKSPY_INTERVAL": interval}, want_rc=0)
    said = dict(line.split() for line in r.out.decode().splitlines())
    rep = report(one_dump(r))
    check(rep["snapshots"] >= 15, "snapshots: %d" % rep["snapshots"])
    return rep, said


def verdict(rep, fn):
    sites = sites_of(rep, fn)
    check(sites, "a site in %s: %r" % (fn, [
        (s["frames"][0]["function"], s["growth"]["verdict"])
        for s in rep["sites"]]))
    return sites[0]["growth"], sites[0]


def growing_functions(rep):
    return sorted({s["frames"][0]["function"] for s in rep["sites"]
                   if s["growth"]["verdict"] == "growing"})


def near(got, want, what, tol=0.10):
    check(abs(got - want) <= tol * want,
          "%s: %.1f, want %.1f within %d%%" % (what, got, want, tol * 100))


def growing_as_said(mode, fn, what, fixed=False):
    """pattern MODE: fn's site grows at the rate the program said (and
    with fixed, MODE-fixed grows nothing).  Returns the site's growth, the
    site, the report and what the program said."""
    rep, said = growth_run(mode)
    g, site = verdict(rep, fn)
    eq(g["verdict"], "growing", what)
    near(g["bytes_per_second"], float(said["rate"]), fn + "'s rate")
    if fixed:
        eq(growing_functions(growth_run(mode + "-fixed")[0]), [],
           "the fixed version grows nothing")
    return g, site, rep, said


def test_growth_seed1():
    g, site, rep, said = growing_as_said("seed1", "event_new", "event_new",
                                         fixed=True)
    check(g["steadiness"] >= 0.9, "steady growth: %r" % g)
    eq(rep["sites"][0]["frames"][0]["function"], "event_new",
       "the fastest growing site comes first")
    eq(len(site["series"]), rep["snapshots"], "a series point a snapshot")
    eq(site["peak_bytes"], max(p["live_bytes"] for p in site["series"]),
       "peak_bytes")


def test_growth_seed2():
    g, site, rep, said = growing_as_said(
        "seed2", "fetch_result", "fetch_result, released at the end",
        fixed=True)
    check(g["released_at_s"] is not None, "released_at_s given")
    check(float(said["released"]) <= g["released_at_s"] <=
          float(said["released"]) + 0.35, "released at %r, program said %s"
          % (g["released_at_s"], said["released"]))
    eq(site["live_bytes"], 0, "nothing live at the end")


def test_growth_plateau():
    rep, said = growth_run("plateau")
    g, site = verdict(rep, "cache_insert")
    eq(g["verdict"], "plateau", "a warmed-up cache")
    eq(growing_functions(rep), [], "nothing grows")
    eq(site["live_blocks"], int(said["cache"]), "cache entries")


def test_growth_sawtooth():
    rep, said = growth_run("sawtooth")
    g, site = verdict(rep, "batch_add")
    eq(g["verdict"], "sawtooth", "batches built and released")
    eq(growing_functions(rep), [], "nothing grows")


def test_growth_slowleak():
    g, site, rep, said = growing_as_said(
        "slowleak", "get_buffer", "a slow leak among short-lived buffers")
    eq(growing_functions(rep), ["get_buffer"], "only get_buffer grows")


def test_diff_and_age():
    r = run([victim("pattern"), "seed1", "2"], env={"LEAKSPY_INTERVAL": "0.1"},
            want_rc=0)
    dump = one_dump(r)
    whole = report(dump)
    n = whole["snapshots"]
    rep = report(dump, "--diff", "5..%d" % (n - 3))
    eq(rep["diff"]["from"]["index"], 5, "diff.from.index")
    eq(rep["snapshot"]["index"], n - 3, "snapshot.index (B)")
    site = sites_of(rep, "event_new")[0]
    d = site["diff"]
    # Nothing is ever freed: what is new at B is the growth, up to the
    # allocations made while each snapshot is taken (the victim keeps
    # allocating meanwhile).
    check(abs(d["new_blocks"] - d["live_blocks_change"]) <=
          0.01 * d["live_blocks_change"] + 20, "new blocks %d, growth %d"
          % (d["new_blocks"], d["live_blocks_change"]))
    eq(d["new_bytes"], 96 * d["new_blocks"], "96 bytes an event")
    a = site["series"][5]["live_blocks"]
    b = site["series"][n - 3]["live_blocks"]
    eq(d["live_blocks_change"], b - a, "change from the series")
    eq(rep["sites"][0]["frames"][0]["function"], "event_new",
       "biggest new site first")
    # Ages: events pile up from the start, so the oldest is about as old
    # as the run and the median about half of it.
    g = whole["sites"][0]
    eq(g["frames"][0]["function"], "event_new", "first site")
    run_s = whole["snapshot"]["time_s"]
    near(g["age"]["oldest_s"], run_s, "oldest age", tol=0.1)
    near(g["age"]["median_s"], run_s / 2, "median age", tol=0.15)
    # By time: the last snapshot at or before 0.55 s, to the last.
    rep = report(dump, "--diff", "0.55s..")
    check(rep["diff"]["from"]["time_s"] <= 0.55, "from time")
    eq(rep["snapshot"]["index"], n - 1, "B defaults to the last")
    # Churn keeps only young blocks.
    r = run([victim("pattern"), "sawtooth", "2"],
            env={"LEAKSPY_INTERVAL": "0.1"}, want_rc=0)
    # A snapshot taken just after a release may hold none of them: use
    # the latest before the exit that holds some.
    for k in range(2, 8):
        rep = report(one_dump(r), "--snapshot", "-%d" % k)
        if sites_of(rep, "batch_add"):
            break
    g = sites_of(rep, "batch_add")[0]["age"]
    check(g["oldest_s"] <= 0.4 + 0.15, "sawtooth blocks are young: %r" % g)


def test_sampled():
    r = same_as_native([victim("sampling")], env={"LEAKSPY_SAMPLE": "64k"},
                       want_rc=0)
    rep = report(one_dump(r))
    eq(rep["estimated"], True, "estimated")
    eq(rep["process"]["sample_bytes"], 65536, "process.sample_bytes")
    for fn, nbytes, nblocks in (("small_blocks", 10000000, 100000),
                                ("medium_blocks", 20000000, 1000),
                                ("large_blocks", 20971520, 20)):
        b, n = by_function(rep, fn)
        near(b, nbytes, "estimated bytes of " + fn)
        near(n, nblocks, "estimated blocks of " + fn)
    eq(by_function(rep, "churn"), (0, 0), "churn keeps nothing")
    text, _ = report_text(one_dump(r))
    check("figures are estimates" in text, "the text says so")
    # The launcher's option reaches the shim.
    tmp = tmpdir()
    p = subprocess.run([LAUNCHER, "-i", "0", "-S", "64k", "-o",
                        os.path.join(tmp, "s.lsd"), victim("sampling")],
                       stdout=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 0, "launcher exit status")
    eq(report(os.path.join(tmp, "s.lsd"))["process"]["sample_bytes"], 65536,
       "--sample")


def test_big_blocks():
    """Blocks of 4 GiB and more (their sizes live outside the address
    table) are counted to the byte in both modes: by the last two
    snapshots (one periodic, one final), and by the snapshots' scan of
    live blocks, which --diff reads (new bytes since the first snapshot);
    one freed leaves nothing."""
    gib = 1 << 30
    want = {"keep_big": 4 * gib + 4096, "keep_big_calloc": 4 * gib + 8192,
            "churn_big": 0}
    for env in MODES:
        mode = "sampled" if env else "full"
        # MALLOC_PERTURB_ (set by meson) would fill all 13 GiB.
        r = same_as_native([victim("bigblock")],
                           env=dict(env, LEAKSPY_INTERVAL="0.1",
                                    MALLOC_PERTURB_="0"), want_rc=0)
        eq(r.out, b"ok\n", "output")
        dump = one_dump(r)
        n = report(dump)["snapshots"]
        check(n >= 5, "%s: snapshots: %d" % (mode, n))
        eq(by_function(report(dump, "--snapshot", "0"), "keep_big"), (0, 0),
           mode + ": snapshot 0 is before the blocks")
        for i in range(n - 2, n):
            rep = report(dump, "--snapshot", str(i))
            for fn, nbytes in want.items():
                eq(by_function(rep, fn), (nbytes, 1 if nbytes else 0),
                   "%s, snapshot %d: %s" % (mode, i, fn))
        rep = report(dump, "--diff", "0..-1")
        for fn, nbytes in want.items():
            got = [(s["diff"]["new_bytes"], s["diff"]["new_blocks"])
                   for s in rep["sites"]
                   if s["frames"] and s["frames"][0]["function"] == fn]
            eq(got, [(nbytes, 1)] if nbytes else [(0, 0)] * len(got),
               "%s, --diff: %s" % (mode, fn))


KEEPERS = ("keep_malloc", "keep_calloc", "keep_realloc", "keep_reallocarray",
           "keep_posix_memalign", "keep_aligned_alloc", "keep_memalign",
           "keep_valloc", "keep_pvalloc")


def test_sampled_apis():
    """Every entry point, 4 threads: full mode exact, sampled mode within
    10% (4,096 intervals a site), and churn at exactly 0 in both: every
    sampled block's free is seen, whichever path it takes."""
    for sample, tol in ((None, 0), ("2k", 0.10)):
        env = {"LEAKSPY_SAMPLE": sample} if sample else {}
        r = same_as_native([victim("sampling"), "apis"], env=env, want_rc=0)
        rep = report(one_dump(r))
        eq(rep["estimated"], sample is not None, "estimated")
        for fn in KEEPERS:
            b, n = by_function(rep, fn)
            if tol:
                near(b, 8 << 20, "estimated bytes of " + fn, tol)
                near(n, 8192, "estimated blocks of " + fn, tol)
            else:
                eq((b, n), (8 << 20, 8192), fn)
        eq(by_function(rep, "churn_apis"), (0, 0), "churn keeps nothing")
        for c in ("missed_frees", "dropped", "unknown_frees", "untracked"):
            eq(rep["coverage"][c], 0, "coverage " + c)


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
