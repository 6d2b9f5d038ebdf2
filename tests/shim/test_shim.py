#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Victims under LD_PRELOAD=libleakspy.so: exact bytes and blocks per site,
and a host that does not notice.  Usage: test_shim.py TEST"""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402

def snapshot_reasons(dump):
    """Why each snapshot of dump was taken, in order."""
    return [report(dump, "--snapshot", str(i))["snapshot"]["reason"]
            for i in range(report(dump)["snapshots"])]


def check_cut_short(r):
    """The dump's later writes failed: the program ran as without
    leakspy, was told, and the dump reads without damage, unfinished."""
    eq((r.rc, r.out), (0, b"ok\n"), "exit status and output")
    check(b"cannot write a snapshot to the dump" in r.err, "says so: %r" %
          r.err)
    rep = report(one_dump(r), want_rc=3)
    eq((rep["complete"], rep["error"]["offset"]), (False, None),
       "no final snapshot, no damage")


# What leaky.c leaks, by function: (bytes, blocks, via).
LEAKY = {
    "leak_malloc": (3000, 3, "malloc"),
    "leak_calloc": (2000, 2, "calloc"),
    "leak_realloc": (31250, 1, "realloc"),
    "leak_reallocarray": (300, 1, "reallocarray"),
    "leak_posix_memalign": (4096, 1, "posix_memalign"),
    "leak_aligned_alloc": (2048, 1, "aligned_alloc"),
    "leak_memalign": (3000, 1, "memalign"),
    "leak_valloc": (5000, 1, "valloc"),
    "leak_pvalloc": (6000, 1, "pvalloc"),
    "leak_strdup": (48, 4, "strdup"),
    "leak_asprintf": (13, 1, "asprintf"),
}


def check_leaky(name):
    r = same_as_native([victim(name)], want_rc=3)
    rep = report(one_dump(r))
    for fn, (nbytes, nblocks, via) in LEAKY.items():
        expect_site(rep, fn, nbytes, nblocks)
        for s in sites_of(rep, fn):
            eq(s["via"], via, "via of %s" % fn)
            f = s["frames"][0]
            check(f["file"] and f["file"].endswith("leaky.c"),
                  "%s symbolized to leaky.c, got %r" % (fn, f["file"]))
            check(f["line"] > 0, "%s has a line" % fn)
            check(len(s["frames"]) >= 2 and
                  s["frames"][1]["function"] == "main",
                  "%s called from main: %r" % (fn, s["frames"][:2]))
    eq(by_function(rep, "churn"), (0, 0), "churn keeps nothing")
    # Besides the leaks, only stdout's buffer (printf in main).
    others = [s for s in rep["sites"]
              if s["frames"][0]["function"] not in LEAKY]
    eq([(s["frames"][0]["function"], s["live_blocks"]) for s in others],
       [("main", 1)], "sites besides the leaks")
    eq(rep["process"]["exe"], victim(name), "process.exe")
    eq(rep["snapshot"]["reason"], "exit", "snapshot.reason")
    eq(rep["complete"], True, "complete")
    eq(rep["coverage"]["dropped"], 0, "dropped")
    eq(rep["coverage"]["untracked"], 0, "untracked")


def test_leaky_fp():
    check_leaky("leaky_fp")


def test_leaky_nofp():
    check_leaky("leaky_nofp")


def test_cxx():
    r = same_as_native([victim("leaky_cxx")], want_rc=0)
    eq(r.out, b"huge: 3\n", "nothrow new gives nullptr, new throws")
    rep = report(one_dump(r))
    # C++ functions are shown demangled, with their parameters.
    expect_site(rep, "leak_new()", 144, 2)
    expect_site(rep, "leak_new_array()", 400, 1)
    expect_site(rep, "leak_aligned_new()", 192, 1)
    eq(by_function(rep, "no_leak()"), (0, 0), "no_leak keeps nothing")
    for fn in ("leak_new()", "leak_new_array()", "leak_aligned_new()"):
        for s in sites_of(rep, fn):
            # operator new[] tail-calls operator new: either may show.
            check(s["via"].startswith("operator new"),
                  "via of %s: %r" % (fn, s["via"]))
            eq(s["frames"][1]["function"], "main", "caller of %s" % fn)


def test_tidy():
    r = same_as_native([victim("tidy")], want_rc=0)
    rep = report(one_dump(r))
    # stdout is a pipe here: glibc gives it a buffer of st_blksize bytes,
    # allocated by printf and never freed.  Nothing else may stay.
    sites = [(s["frames"][0]["function"], s["via"], s["live_blocks"])
             for s in rep["sites"]]
    eq(sites, [("main", "printf", 1)], "live sites of a program that frees")
    check(rep["totals"]["live_bytes"] in (1024, 4096, 65536),
          "stdout buffer size, got %d" % rep["totals"]["live_bytes"])


def test_threads():
    r = same_as_native([victim("threads")], want_rc=0)
    rep = report(one_dump(r))
    expect_site(rep, "thread_leak", 23040, 360)
    eq(by_function(rep, "churn"), (0, 0), "churn keeps nothing")
    eq(by_function(rep, "worker"), (0, 0), "worker keeps nothing itself")
    eq(rep["coverage"]["missed_frees"], 0, "missed frees")
    eq(rep["coverage"]["unknown_frees"], 0, "unknown frees")


def test_dlopen():
    plugin = os.path.join(VICTIMS, "libplugin.so")
    r = same_as_native([victim("dlvictim"), plugin], want_rc=0)
    rep = report(one_dump(r))
    expect_site(rep, "lib_leak", 1665, 5)
    expect_site(rep, "plugin_leak", 1554, 2)
    for fn, src, mod in (("lib_leak", "victimlib.c", "libvictimlib.so"),
                         ("plugin_leak", "plugin.c", "libplugin.so")):
        f = sites_of(rep, fn)[0]["frames"][0]
        check(f["file"] and f["file"].endswith(src) and f["line"] > 0,
              "%s at %s:line, got %r:%r" % (fn, src, f["file"], f["line"]))
        check(f["module"].endswith(mod), "%s in %s, got %r" %
              (fn, mod, f["module"]))


def test_jemalloc():
    r = same_as_native([victim("jemalloc")], want_rc=0)
    check(r.out.startswith(b"jemalloc present\n"), "output: %r" % r.out)
    rep = report(one_dump(r))
    expect_site(rep, "jem_leak", 10500, 7)
    # malloc resolves to jemalloc, so jemalloc's frames are stripped too.
    eq([s["via"] for s in sites_of(rep, "jem_leak")], ["malloc"], "via")


def test_atexit():
    r = same_as_native([victim("atexit")], want_rc=0)
    rep = report(one_dump(r))
    eq(by_function(rep, "freed_late_atexit"), (0, 0), "freed in atexit")
    eq(by_function(rep, "freed_late_dtor"), (0, 0), "freed in a destructor")
    expect_site(rep, "kept_by_handler", 808, 1)
    eq(rep["totals"]["live_blocks"], 1, "nothing else is live")


def copy_victims(tmp, *names):
    for n in names:
        shutil.copy(os.path.join(VICTIMS, n), os.path.join(tmp, n))


def test_stripped():
    # No symbols at all: frames are module+offset, figures still exact.
    tmp = tmpdir()
    copy_victims(tmp, "leaky_fp")
    exe = os.path.join(tmp, "leaky_fp")
    subprocess.run(["strip", exe], check=True)
    r = run([exe], want_rc=3)
    rep = report(one_dump(r))
    mallocs = [s for s in rep["sites"] if s["via"] == "malloc" and
               s["live_blocks"] == 3]
    eq(len(mallocs), 1, "one site with leak_malloc's 3 blocks")
    f = mallocs[0]["frames"][0]
    eq((f["function"], f["file"], f["line"]), (None, None, None),
       "no symbols for a stripped binary")
    eq(f["module"], exe, "module")
    check(int(f["offset"], 16) > 0 and
          int(f["address"], 16) > int(f["offset"], 16), "offset in module")
    text, _ = report_text(r.dumps[0])
    check("?? [leaky_fp+0x" in text, "module+offset in text")


def test_build_id_changed():
    # The plugin is replaced after the run: the report warns and shows
    # module+offset for it, and still symbolizes the rest.
    tmp = tmpdir()
    copy_victims(tmp, "libplugin.so")
    plugin = os.path.join(tmp, "libplugin.so")
    r = run([victim("dlvictim"), plugin], want_rc=0)
    shutil.copy(os.path.join(VICTIMS, "libvictimlib.so"), plugin)
    rep = report(one_dump(r))
    _, err = report_text(one_dump(r))
    check("warning: %s: build id differs" % plugin in err,
          "warning: %r" % err)
    sites = [s for s in rep["sites"] if s["frames"][0]["module"] == plugin]
    eq((sum(s["live_bytes"] for s in sites),
        sum(s["live_blocks"] for s in sites)), (1554, 2), "plugin figures")
    eq([s["frames"][0]["function"] for s in sites], [None] * len(sites),
       "no wrong symbol")
    expect_site(rep, "lib_leak", 1665, 5)


def test_preinit():
    """A program that allocates from .preinit_array, before the C library
    has set environ: the shim reads its settings from the initial stack
    (the dump goes where LEAKSPY_OUTPUT says, at the depth LEAKSPY_DEPTH
    says) and still takes itself out of LD_PRELOAD."""
    for env in ({}, {"LD_BIND_NOW": "1"}):
        out = tempfile.mkdtemp(prefix="lst.out.")
        env = dict(env, LEAKSPY_OUTPUT=os.path.join(out, "%e.lsd"),
                   LEAKSPY_DEPTH="7")
        r = same_as_native([victim("preinit")], env=env, want_rc=0)
        eq((r.out, r.err), (b"1\nLD_PRELOAD unset\n", b""),
           "output and messages")
        eq((r.dumps, os.listdir(out)), ([], ["preinit.lsd"]),
           "the dump where LEAKSPY_OUTPUT says")
        rep = report(os.path.join(out, "preinit.lsd"))
        eq(rep["process"]["max_depth"], 7, "LEAKSPY_DEPTH read")
        expect_site(rep, "early_alloc", 111, 1)
        expect_site(rep, "ctor_alloc", 222, 1)


# Full mode, and sampled mode with its fast paths taken on most calls.
MODES = ({}, {"LEAKSPY_SAMPLE": "4k"})


def test_signal_handler_malloc():
    for env in MODES:
        r = same_as_native([victim("stress"), "signal"], timeout=60, env=env,
                           want_rc=0)
        eq(r.out, b"ok\n", "output")
        rep = report(one_dump(r))
        eq(rep["coverage"]["missed_frees"], 0, "missed frees")


def test_exit_while_allocating():
    for i in range(20):
        r = run([victim("stress"), "exit"], env=MODES[i % 2])
        eq((r.rc, r.out), (0, b"ok\n"), "run %d" % i)
        rep = report(one_dump(r))
        eq(rep["snapshot"]["reason"], "exit", "final snapshot")


def test_sigwait_thread():
    """Signals a program takes with sigwaitinfo on one thread (SIGUSR1
    2000 times, then SIGTERM) all reach that thread while leakspy's
    writer thread runs: it blocks every signal."""
    for env in MODES:
        r = same_as_native([victim("stress"), "sigwait"],
                           env=dict(env, LEAKSPY_INTERVAL="0.01"))
        eq((r.rc, r.out), (0, b"ok\n"), "every signal taken")
        eq(report(one_dump(r))["complete"], True, "the dump")


def test_fork_while_allocating():
    for env in MODES:
        r = run([victim("stress"), "fork"], timeout=60, env=env)
        eq((r.rc, r.out), (0, b"ok\n"), "every child finished")
        eq(len(r.dumps), 101, "the parent's dump and one per child")
        # Each dump whole (every record's crc, a FINAL last), its own pid;
        # the report reads two of them (the parent's among them).
        pids = set()
        for d in r.dumps:
            with open(d, "rb") as f:
                recs = list(lsdump.records(f.read()))
            eq(recs[-1][1], lsdump.T["FINAL"], "the last record of " + d)
            pr = lsdump.parse_process(recs[0][2])
            pids.add(pr["pid"])
            eq(pr["sample_bytes"] > 0, bool(env), "sampled, in " + d)
        for d in r.dumps[:2]:
            rep = report(d)
            check(rep["process"]["pid"] in pids, "the pid the report reads")
            eq((rep["complete"], rep["estimated"]), (True, bool(env)),
               "complete, estimated")
        eq(len(pids), 101, "each with its own pid")


def test_spawn_while_allocating():
    """posix_spawn and vfork children, 500 each, while 8 threads
    allocate: none hangs, none writes a dump, the parent's is whole."""
    r = same_as_native([victim("stress"), "spawn"], timeout=120,
                       want_rc=0)
    eq(r.out, b"ok\n", "every child ran")
    rep = report(one_dump(r))
    eq((rep["complete"], rep["coverage"]["missed_frees"]), (True, 0),
       "the parent's dump")
    eq(rep["threads_created"], 8, "threads")


def test_inlined():
    r = same_as_native([victim("inlined")], want_rc=0)
    rep = report(one_dump(r))
    expect_site(rep, "make_node", 400, 10)
    f = sites_of(rep, "make_node")[0]["frames"]
    eq((f[0]["inlined"], f[1]["function"], f[1]["inlined"]),
       (True, "build_list", False), "make_node inlined into build_list")
    check(f[0]["file"].endswith("inlined.c") and
          f[1]["file"].endswith("inlined.c") and f[0]["line"] < f[1]["line"],
          "both with their own lines: %r" % f[:2])


# What the unwind victim keeps: first frames (innermost first, down to the
# thread's entry) -> (bytes, blocks).
UNWIND = {
    ("nofp_leaf", "fp_top", "nofp_mid", "fp_top", "nofp_mid", "fp_top",
     "main"): (72, 3),
    ("nofp_leaf", "fp_top", "nofp_mid", "fp_top", "thread_main"): (24, 1),
    ("notab_leaf", "nofp_mid", "fp_top", "nofp_mid", "fp_top", "nofp_mid",
     "fp_top", "main"): (264, 3),
    ("fp_alloca", "main"): (123, 3),
    ("nofp_bigframe", "fp_bigframe", "main"): (116, 2),
    ("nofp_jump_out", "fp_ends_in_noreturn", "main"): (72, 1),
    ("on_usr1",): (104, 1),
    ("on_usr2",): (120, 1),
}


def unwind_sites(rep):
    """The unwind victim's sites as {first frames: (bytes, blocks)}."""
    got = {}
    for s in rep["sites"]:
        fns = tuple(f["function"] for f in s["frames"])
        for key in UNWIND:
            if fns[:len(key)] == key and (len(key) == 1 or
                                          fns[len(key)] in
                                          ("__libc_start_call_main",
                                           "start_thread")):
                b, n = got.get(key, (0, 0))
                got[key] = (b + s["live_bytes"], n + s["live_blocks"])
    return got


def test_unwind():
    """The fast walk, libunwind alone and the two compared on every stack
    agree, through code with and without frame pointers and unwind tables,
    frames sized at run time, signal handlers (on the thread's stack and
    on an alternate one) and a second thread."""
    seen = {}
    for mode in ("fast", "libunwind", "check"):
        r = same_as_native([victim("unwind")],
                           env={"LEAKSPY_UNWIND": mode}, want_rc=0)
        eq(r.out, b"15\n", "output")
        eq(r.err, b"", "stderr with LEAKSPY_UNWIND=%s" % mode)
        rep = report(one_dump(r))
        eq(unwind_sites(rep), UNWIND, "sites with LEAKSPY_UNWIND=%s" % mode)
        for key in ("on_usr1", "on_usr2"):
            fns = [f["function"] for f in sites_of(rep, key)[0]["frames"]]
            check("raise" in fns and "main" in fns,
                  "%s unwound through the signal frame: %r" % (key, fns))
        seen[mode] = sorted(
            (tuple(f["function"] for f in s["frames"]), s["live_bytes"],
             s["live_blocks"]) for s in rep["sites"])
    eq(seen["fast"], seen["libunwind"], "fast walk and libunwind: all sites")


def test_unwind_many_ips():
    """4096 distinct call sites: the rule table grows while every stack
    is compared with libunwind's."""
    r = same_as_native([victim("manyips")], env={"LEAKSPY_UNWIND": "check"},
                       want_rc=0)
    eq((r.out, r.err), (b"4096\n", b""), "output and stderr")
    expect_site(report(one_dump(r)), "many_calls", 4096 * 8, 4096)


def test_unwind_check_real_programs():
    """Every stack of python3 and perl through the fast walk equals
    libunwind's (LEAKSPY_UNWIND=check aborts on a difference)."""
    progs = [[sys.executable, "-c",
              "import json, email.parser, decimal, threading\n"
              "t = threading.Thread(target=lambda: json.dumps("
              "[str(i) for i in range(50000)]))\n"
              "t.start(); t.join()\n"
              "print(sum(decimal.Decimal(i) / 7 for i in range(20000)))"]]
    if shutil.which("perl"):
        progs.append(["perl", "-e", "my %h; $h{$_} = [$_ x 3] for 1..50000;"
                      " print scalar(keys %h), qq(\n)"])
    for argv in progs:
        r = same_as_native(argv, env={"LEAKSPY_UNWIND": "check",
                                      "PYTHONMALLOC": "malloc"}, timeout=120,
                           want_rc=0)
        eq(r.err, b"", "stderr of %s" % argv[0])
        rep = report(one_dump(r))
        check(rep["totals"]["allocated_blocks"] > 10000,
              "%s allocated through the shim" % argv[0])


# threadlife: (start routine, thread name) -> (bytes, blocks) it keeps.
THREADLIFE = {
    ("joined_main", "joiner"): (1000, 1),
    ("detached_main", "detacher"): (2000, 1),
    ("attr_main", "attrdet"): (3000, 1),
    ("unjoined_main", "forgotten"): (4000, 1),
    ("cancelled_main", "victim"): (5000, 1),
    ("runner_main", "lingerer"): (6000, 1),
    ("main_alloc", "threadlife"): (700, 1),
}

# name -> (state, leak, creating function, start routine)
THREAD_FATES = {
    "joiner": ("joined", False, "spawn_joined", "joined_main"),
    "detacher": ("detached", False, "spawn_detached", "detached_main"),
    "attrdet": ("detached", False, "spawn_attr_detached", "attr_main"),
    "forgotten": ("exited_unjoined", True, "spawn_unjoined",
                  "unjoined_main"),
    "victim": ("joined", False, "spawn_cancelled", "cancelled_main"),
    "lingerer": ("running", True, "spawn_runner", "runner_main"),
}


def test_thread_registry():
    """Threads that return, call pthread_exit, are cancelled or still run
    at exit; joined, detached (by call or attribute) or neither: each
    one's allocations under its name, its state and creation stack, and
    the unjoined and still-running ones as leaks."""
    r = same_as_native([victim("threadlife")],
                       env={"LEAKSPY_INTERVAL": "0.05"}, want_rc=0)
    eq(r.out, b"ok\n", "output")
    dump = one_dump(r)
    rep = report(dump, "--by-thread")
    got = {}
    for s in rep["sites"]:
        fns = [f["function"] for f in s["frames"]]
        for (fn, name) in THREADLIFE:
            if fn in fns[:3] and s["thread"] == name and s["via"] == "malloc":
                b, n = got.get((fn, name), (0, 0))
                got[(fn, name)] = (b + s["live_bytes"], n + s["live_blocks"])
    eq(got, THREADLIFE, "live (bytes, blocks) by start routine and thread")
    eq(rep["threads_created"], 6, "threads_created")
    fates = {}
    for t in rep["threads"]:
        fates[t["name"]] = (t["state"], t["leak"], t["frames"][0]["function"],
                            t["start_routine"])
        check(t["tid"] > 0 and t["creator_tid"] == rep["process"]["pid"],
              "tid and creator of %r" % t)
        check(0 <= t["created_s"] <= rep["snapshot"]["time_s"],
              "created since the process started: %r" % t)
    eq(fates, THREAD_FATES, "threads[]: state, leak, creator, start routine")
    # Without --by-thread the sites are whole and carry no thread.
    whole = report(dump)
    check(all("thread" not in s for s in whole["sites"]), "no thread field")
    eq(by_function(whole, "keep")[0] + sum(
        s["live_bytes"] for s in whole["sites"]
        if s["frames"][0]["function"] != "keep" and
        any(f["function"] == "main_alloc" for f in s["frames"][:2])),
       21700, "bytes kept by threads and main, merged")
    text, _ = report_text(dump)
    check("6 created with pthread_create; 2 never joined or detached" in
          text, "thread summary in:\n" + text)
    for name, how, creator in (("lingerer", "still running at exit",
                                "spawn_runner"),
                               ("forgotten", "ended, never joined",
                                "spawn_unjoined")):
        i = text.find('"%s" %s' % (name, how))
        check(i >= 0, "%s reported as %s" % (name, how))
        check(("#0  %s at " % creator) in text[i:i + 400],
              "%s's creation stack starts at %s" % (name, creator))
    # Before the joins, a periodic snapshot saw all six running.
    early = report(dump, "--snapshot", "1")
    eq(sorted(t["state"] for t in early["threads"]
              if t["name"] in ("joiner", "forgotten", "lingerer", "victim")),
       ["exited_unjoined", "exited_unjoined", "running", "running"],
       "states in snapshot 1 (joiner and forgotten done, the others wait)")


def test_thread_burst():
    """10,000 short-lived threads leave leakspy's memory where 1,000 do:
    their registry entries are recycled."""
    rss = {}
    for n in (1000, 10000):
        r = run([victim("threadlife"), "burst", str(n)],
                env={"LEAKSPY_INTERVAL": "0.01"}, timeout=120, want_rc=0)
        rss[n] = int(r.out)
        rep = report(one_dump(r))
        eq(rep["threads_created"], n, "threads_created")
        eq(by_function(rep, "burst_main"), (0, 0), "nothing kept")
        check(rep["totals"]["allocated_blocks"] >= n,
              "a block per thread allocated: %r" % rep["totals"])
    check(rss[10000] - rss[1000] < 1024,
          "VmRSS after 10,000 threads %d kB, after 1,000 %d kB" %
          (rss[10000], rss[1000]))


def test_thread_churn():
    """10,000 threads, up to 200 alive, half detached, a quarter
    cancelled: leakspy's memory stays where 1,000 leave it, with periodic
    snapshots and without."""
    for interval in ("0", "0.01"):
        rss = {}
        for n in (1000, 10000):
            r = run([victim("threadlife"), "churn", str(n)],
                    env={"LEAKSPY_INTERVAL": interval}, timeout=120,
                    want_rc=0)
            rss[n] = int(r.out)
            rep = report(one_dump(r))
            eq(rep["threads_created"], n, "threads_created")
            check(not any(t["leak"] for t in rep["threads"]),
                  "no thread leaks: %r" % [t for t in rep["threads"]
                                           if t["leak"]][:3])
        check(rss[10000] - rss[1000] < 1024,
              "interval %s: VmRSS after 10,000 threads %d kB, after 1,000 "
              "%d kB" % (interval, rss[10000], rss[1000]))


def test_nopie():
    r = same_as_native([victim("nopie")], want_rc=3)
    rep = report(one_dump(r))
    for fn, (nbytes, nblocks, via) in LEAKY.items():
        expect_site(rep, fn, nbytes, nblocks)


def test_own_malloc():
    # The executable's malloc wins over the preloaded one: the dump must
    # say so and the report must not pass it as clean.
    r = same_as_native([victim("ownmalloc")], want_rc=0)
    rep = report(one_dump(r), want_rc=3)
    eq(rep["coverage"]["interposition"], False, "coverage.interposition")
    check("malloc bound to " + victim("ownmalloc") in rep["coverage"]["note"],
          "note: %r" % rep["coverage"]["note"])
    text, err = report_text(one_dump(r), want_rc=3)
    check("INCOMPLETE: interposition failed" in text, "text: %r" % text)
    check("the figures are incomplete" in err, "stderr: %r" % err)


def test_plt_malloc():
    # An executable without -pie that takes malloc's address gives its
    # PLT stub as malloc to everyone; its calls still reach leakspy,
    # and the dump must not be called incomplete (Debian's python3).
    r = same_as_native([victim("pltmalloc")], want_rc=0)
    eq(r.out, b"1\n", "output")
    rep = report(one_dump(r))
    eq(rep["coverage"]["interposition"], True, "coverage.interposition")
    kept = [s for s in rep["sites"] if s["frames"] and
            s["frames"][0]["function"] == "main" and s["via"] == "malloc"]
    eq([(s["live_bytes"], s["live_blocks"]) for s in kept], [(300, 3)],
       "main's live blocks")


def test_small_stack():
    r = same_as_native([victim("smallstack")], want_rc=0)
    eq(r.out, b"55\n", "output")
    rep = report(one_dump(r))
    # Where the stack was too low the site has no frames; all 57 blocks
    # are there, 24 bytes each.
    total = sum(s["live_blocks"] for s in rep["sites"]
                if s["live_bytes"] == 24 * s["live_blocks"] and
                (not s["frames"] or s["frames"][0]["function"] ==
                 "deep_alloc"))
    eq(total, 55, "blocks of deep_alloc")
    check(rep["coverage"]["truncated_stacks"] > 0, "some stacks skipped")


def test_closefds():
    tmp = run([victim("closefds"), "."], preload=False, want_rc=5).tmp
    r = run([victim("closefds"), "."], want_rc=5)
    rep = report(one_dump(r))
    expect_site(rep, "main", 4242, 1)
    for name in ("before.txt", "after0.txt", "after1.txt", "after2.txt",
                 "after3.txt"):
        with open(os.path.join(tmp, name), "rb") as a, \
                open(os.path.join(r.tmp, name), "rb") as b:
            eq(b.read(), a.read(), "contents of %s" % name)


def test_api():
    r = same_as_native([victim("api")], want_rc=0)
    rep = report(one_dump(r))
    expect_site(rep, "keep_after_failed_realloc", 555, 1)
    expect_site(rep, "zero_block", 0, 1)
    live_main = [s for s in sites_of(rep, "main") if s["via"] != "printf"]
    eq(live_main, [], "main keeps only stdout's buffer")


def test_output_template():
    # The directory does not exist: the shim says so on stderr and the
    # program is unaffected.
    r = run([victim("leaky_fp")], env={"LEAKSPY_OUTPUT": "out/%e-%p-%%.lsd"},
            want_rc=3)
    check(b"leakspy: cannot create the dump" in r.err,
          "message on stderr, got %r" % r.err)
    os.mkdir(os.path.join(r.tmp, "out"))
    p = subprocess.run([victim("leaky_fp")], cwd=r.tmp, env=dict(
        os.environ, LD_PRELOAD=LIB, LEAKSPY_OUTPUT="out/%e-%p-%%.lsd",
        LEAKSPY_INTERVAL="0"), stdout=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 3, "exit status when the dump can be created")
    got = os.listdir(os.path.join(r.tmp, "out"))
    eq(len(got), 1, "one dump in out/")
    want = os.path.join(r.tmp, "out", got[0])
    pid = report(want)["process"]["pid"]
    eq(got[0], "leaky_fp-%d-%%.lsd" % pid, "expanded name")
    eq(stat.S_IMODE(os.stat(want).st_mode), 0o600, "dump mode")


def test_no_clobber():
    # A file or a symlink already at the dump's name is left alone.
    tmp = tmpdir()
    env = {"LEAKSPY_OUTPUT": os.path.join(tmp, "taken.lsd")}
    with open(os.path.join(tmp, "taken.lsd"), "w") as f:
        f.write("mine\n")
    r = run([victim("leaky_fp")], env=env, want_rc=3)
    eq(r.out, b"leaky: done\n", "output")
    with open(os.path.join(tmp, "taken.lsd"), "rb") as f:
        eq(f.read(), b"mine\n", "the file at the dump's name")
    check(b"leakspy: cannot create the dump; not writing one: file exists"
          in r.err, "says so: %r" % r.err)
    os.unlink(os.path.join(tmp, "taken.lsd"))
    target = os.path.join(tmp, "target")
    os.symlink(target, os.path.join(tmp, "taken.lsd"))
    r = run([victim("leaky_fp")], env=env, want_rc=3)
    check(not os.path.exists(target), "the symlink is not followed")
    check(b"cannot create the dump" in r.err, "says so: %r" % r.err)


def test_unsafe_dir():
    """No dump in a directory everyone may write to without the sticky
    bit, or in another user's; /tmp-like sticky directories are fine."""
    base = tmpdir()
    d = os.path.join(base, "shared")
    os.mkdir(d)
    env = {"LEAKSPY_OUTPUT": os.path.join(d, "x.lsd")}
    cases = [(0o777, None, False), (0o1777, None, True)]
    if os.getuid() == 0:
        import pwd
        nobody = pwd.getpwnam("nobody").pw_uid
        cases += [(0o755, nobody, False), (0o755, 0, True)]
    for mode, owner, ok in cases:
        os.chmod(d, mode)
        if owner is not None:
            os.chown(d, owner, -1)
        r = same_as_native([victim("tidy")], env=env, want_rc=0)
        got = os.path.exists(os.path.join(d, "x.lsd"))
        eq(got, ok, "dump in a directory of mode %o, owner %r" % (mode, owner))
        check(ok or b"unsafe directory for the dump" in r.err,
              "says why: %r" % r.err)
        if got:
            report(os.path.join(d, "x.lsd"))
            os.unlink(os.path.join(d, "x.lsd"))


def test_file_size_limit():
    """Under RLIMIT_FSIZE the dump's writes fail with EFBIG: the program
    is not killed by SIGXFSZ, and the dump keeps what was written."""
    r = same_as_native([victim("stress"), "fsize"],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    check_cut_short(r)


def writefault_says(r):
    """What libwritefault.so says of run r: (faults it injected, the most
    one write() to the dump was asked to write)."""
    for line in r.err.decode().splitlines():
        if line.startswith("writefault: "):
            words = line.split()
            return int(words[1]), int(words[5])
    raise Fail("no writefault message in %r" % r.err)


def faults_of(r):
    return writefault_says(r)[0]


def test_write_faults():
    """Writes to the dump that fail with EINTR, or that write 7 bytes at
    a time, lose nothing: the dump is whole.  A device that fills up at
    any offset leaves the program as it was, a message, and a dump that
    reads without damage up to its last whole snapshot, or no file at all
    if not even its first records fit."""
    fault = victim("libwritefault.so")
    argv = [victim("sleeper"), "400"]
    env = {"LEAKSPY_INTERVAL": "0.1", "LD_PRELOAD": LIB + ":" + fault}
    for mode in ("eintr", "short"):
        r = run(argv, env=dict(env, WRITEFAULT=mode))
        eq((r.rc, r.out), (0, b"kept 40\n"), mode + ": exit and output")
        check(faults_of(r) > 0, mode + ": faults injected")
        check(b"leakspy" not in r.err, mode + ": no message: %r" % r.err)
        rep = report(one_dump(r))
        check(rep["snapshots"] >= 3, mode + ": snapshots: %d" %
              rep["snapshots"])
        expect_site(rep, "grow", 40000, 40)
    size = os.path.getsize(one_dump(run(argv, env=env, want_rc=0)))
    seen = set()
    for full in range(1, size, size // 8):
        r = run(argv, env=dict(env, WRITEFAULT="enospc:%d" % full))
        what = "device full at %d of %d bytes" % (full, size)
        eq((r.rc, r.out), (0, b"kept 40\n"), what + ": exit and output")
        if faults_of(r) == 0:
            # The snapshots come by timer: this run's dump may be
            # shorter than the first run's, and then it must fit whole.
            check(os.path.getsize(one_dump(r)) <= full, what +
                  ": no fault, so the dump fits")
            eq((report(one_dump(r))["complete"], r.err.count(b"leakspy")),
               (True, 0), what + ": no fault: complete, no message")
            continue
        if not r.dumps:
            check(b"cannot create the dump; not writing one: no space left "
                  b"on device" in r.err, what + ": message %r" % r.err)
            eq(os.listdir(r.tmp), [], what + ": no file left")
            seen.add("none")
            continue
        check(b"cannot write a snapshot to the dump: no space left on "
              b"device" in r.err, what + ": message %r" % r.err)
        check(os.path.getsize(one_dump(r)) <= full, what + ": dump size")
        rep = report(one_dump(r), want_rc=3)
        eq((rep["complete"], rep["error"]["offset"]), (False, None),
           what + ": no final snapshot, no damage")
        seen.add("cut")
    eq(seen, {"none", "cut"}, "outcomes of the faults")


def test_big_snapshot():
    """A snapshot bigger than the writer's buffer (16,384 new stacks,
    some 2 MiB) reaches the dump in pieces of at most 64 KiB and a
    record, and whole: every site exact.  A device that fills in the
    middle of it leaves the dump as it was before that write-out: no
    snapshot, no damage."""
    n = 16384
    argv = [victim("manystacks"), str(n)]
    env = {"LEAKSPY_INTERVAL": "0.1",
           "LD_PRELOAD": LIB + ":" + victim("libwritefault.so")}
    total = sum(16 + i % 64 for i in range(n))
    r = run(argv, env=dict(env, WRITEFAULT="none"))
    eq((r.rc, r.out), (0, b"kept %d %d\n" % (n, total)), "exit and output")
    size = os.path.getsize(one_dump(r))
    check(size > 2 << 20, "a dump of %d bytes" % size)
    largest = writefault_says(r)[1]
    check(largest <= 192 << 10, "largest write %d bytes" % largest)
    rep = report(one_dump(r), "--top=0")
    leaves = sites_of(rep, "leaf")
    eq(len(leaves), n, "sites of leaf")
    eq(sorted(s["live_bytes"] for s in leaves),
       sorted(16 + i % 64 for i in range(n)), "each site's bytes")
    eq(by_function(rep, "leaf"), (total, n), "leaf's bytes and blocks")
    # The header is written at start; the device fills 1 MiB on.
    r = run(argv, env=dict(env, WRITEFAULT="enospc:%d" % (1 << 20)))
    eq((r.rc, r.out), (0, b"kept %d %d\n" % (n, total)),
       "device full: exit and output")
    check(b"cannot write a snapshot to the dump: no space left on device"
          in r.err, "device full: message %r" % r.err)
    check(os.path.getsize(one_dump(r)) < 64 << 10, "device full: cut back "
          "to %d bytes" % os.path.getsize(one_dump(r)))
    rep = report(one_dump(r), want_rc=3)
    eq((rep["complete"], rep["error"]["offset"], rep["snapshots"]),
       (False, None, 0), "device full: no snapshot, no damage")


def test_site_table():
    """Four threads meet the same 16,384 new stacks at once, while the
    site table doubles under them (from 1,024 chains to 16,384): every
    stack is one site (the dump has no stack twice), with exactly one
    block of each thread."""
    n, threads = 16384, 4
    r = same_as_native([victim("manystacks"), str(n), str(threads)],
                       want_rc=0)
    eq((r.rc, r.out), (0, b"kept %d %d\n" % (n, sum(16 + i % 64
                                                     for i in range(n)))),
       "exit and output")
    rep = report(one_dump(r), "--top=0")
    leaves = sites_of(rep, "leaf")
    eq(len(leaves), n, "sites of leaf")
    eq(sorted((s["live_bytes"], s["live_blocks"]) for s in leaves),
       sorted((threads * (16 + i % 64), threads) for i in range(n)),
       "each site's bytes and blocks")
    eq(rep["coverage"]["dropped"], 0, "nothing dropped")
    with open(one_dump(r), "rb") as f:
        stacks = lsdump.parse(f.read())["stacks"]
    keys = [(tuple(st["ips"]), st["api"], st["flags"]) for st in stacks]
    eq(len(keys) - len(set(keys)), 0, "stacks written twice")


def test_seccomp():
    """A seccomp filter goes on mid-run, one that kills the process on any
    system call it does not list, open included; through prctl(), and
    through syscall() for all threads as libseccomp does it.  The program
    runs as without leakspy (not killed by SIGSYS, as it was before
    leakspy knew of filters); the dump's last snapshot is taken just
    before the filter, marked "sandbox", and the report says that
    nothing follows it."""
    for how in ("prctl", "syscall"):
        for env in MODES:
            r = same_as_native([victim("stress"), "seccomp", how],
                               env=dict(env, LEAKSPY_INTERVAL="0.05"))
            eq((r.rc, r.out, r.err), (0, b"ok\n", b""),
               "%s %s: exit status, output, messages" % (how, env))
            rep = report(one_dump(r), want_rc=3)
            eq((rep["complete"], rep["snapshot"]["reason"]),
               (False, "sandbox"), "%s %s: the last snapshot" % (how, env))
            check("seccomp sandbox" in rep["error"]["message"],
                  "the report says why: %r" % rep["error"])
            eq(by_function(rep, "in_sandbox"), (0, 0),
               "nothing from inside the sandbox")
            if not env:
                expect_site(rep, "before_sandbox", 4000, 4)
    # OpenSSH sets RLIMIT_NOFILE to 0 (and FSIZE, NPROC) before its
    # filter: even the sandbox snapshot cannot be written, and leakspy
    # says why.
    r = same_as_native([victim("stress"), "seccomp", "prctl", "rlimits"],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    eq((r.rc, r.out), (0, b"ok\n"), "rlimits: exit status and output")
    eq(r.err, b"leakspy: cannot write a snapshot to the dump: too many "
       b"open files\n", "rlimits: the message")
    eq(report(one_dump(r), want_rc=3)["snapshots"], 0, "rlimits: snapshots")


def test_chroot():
    """A program that chroots leaves no file inside the new root, and its
    dump outside goes on: the descriptors leakspy keeps from just before
    the chroot reach it, up to the final snapshot."""
    if os.getuid() != 0:
        raise Skip("chroot needs root")
    jail = tempfile.mkdtemp(prefix="lst.jail.")
    r = same_as_native([victim("stress"), "chroot", jail],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    eq(os.listdir(jail), [], "nothing written inside the chroot")
    eq((r.rc, r.out, r.err), (0, b"ok\n", b""), "exit, output, messages")
    rep = report(one_dump(r))
    eq(rep["complete"], True, "the final snapshot")


def make_root(files):
    """A directory to chroot into, holding files (host paths, copied to the
    same paths) and the shared libraries they need."""
    root = tempfile.mkdtemp(prefix="lst.root.")
    need = set(files)
    for f in files:
        out = subprocess.run(["ldd", f], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        for line in out.splitlines():
            words = line.split()
            path = words[2] if "=>" in words else words[0]
            if path.startswith("/"):
                need.add(path)
    for f in need:
        os.makedirs(os.path.dirname(root + f), exist_ok=True)
        shutil.copy(f, root + f)
    return root


def test_secure_exec():
    """A setuid program (setuid to nobody, run by root) is in secure-
    execution mode: the dynamic loader ignores LD_PRELOAD, and when the
    library is loaded anyway, through /etc/ld.so.preload (in a directory
    made to chroot into), it writes nothing, wherever LEAKSPY_OUTPUT
    points and although nobody may write the default path.  The same
    program without the setuid bit does write its dump there, so the
    library was loaded."""
    if os.getuid() != 0:
        raise Skip("chroot and a setuid file need root")
    prog = victim("leaky_fp")
    root = make_root([prog, LIB])
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "ld.so.preload"), "w") as f:
        f.write(LIB + "\n")
    os.makedirs(os.path.join(root, "out"))
    os.chmod(os.path.join(root, "out"), 0o1777)
    os.chmod(root, 0o1777)
    suid = os.path.join(root, "leaky-suid")
    shutil.copy(prog, suid)
    os.chown(suid, pwd.getpwnam("nobody").pw_uid, -1)
    os.chmod(suid, 0o4755)
    env = {"PATH": os.environ["PATH"], "LEAKSPY_INTERVAL": "0",
           "LEAKSPY_OUTPUT": "/out/%e.lsd"}
    native = run([prog], preload=False, want_rc=3)

    def dumps():
        return sorted(os.path.relpath(os.path.join(d, f), root)
                      for d, _, fs in os.walk(root) for f in fs
                      if f.endswith(".lsd"))

    plain = subprocess.run(["chroot", root, prog], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
    eq((plain.returncode, plain.stdout), (native.rc, native.out),
       "plain: exit status and output")
    eq(dumps(), ["out/leaky_fp.lsd"], "plain: its dump")
    rep = report(os.path.join(root, "out", "leaky_fp.lsd"))
    expect_site(rep, "leak_malloc", *LEAKY["leak_malloc"][:2])
    os.unlink(os.path.join(root, "out", "leaky_fp.lsd"))
    sec = subprocess.run(["chroot", root, "/leaky-suid"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=TIMEOUT)
    eq((sec.returncode, sec.stdout, sec.stderr),
       (native.rc, native.out, native.err), "setuid: as without leakspy")
    eq(dumps(), [], "setuid: no dump anywhere")
    shutil.rmtree(root)


def test_depth():
    r = run([victim("leaky_fp")], env={"LEAKSPY_DEPTH": "1"}, want_rc=3)
    rep = report(one_dump(r))
    expect_site(rep, "leak_malloc", 3000, 3)
    for s in rep["sites"]:
        check(len(s["frames"]) <= 2, "one frame (plus inlines): %r" %
              s["frames"])
    check(any(s["truncated"] for s in sites_of(rep, "leak_malloc")),
          "leak_malloc's stack is marked truncated")
    check(rep["coverage"]["truncated_stacks"] > 0, "truncated count")
    eq(rep["process"]["max_depth"], 1, "process.max_depth")


def test_interval():
    r = run([victim("sleeper"), "400"], env={"LEAKSPY_INTERVAL": "0.1"},
            want_rc=0)
    eq(r.out, b"kept 40\n", "output")
    rep = report(one_dump(r))
    check(rep["snapshots"] >= 3, "several snapshots, got %d" %
          rep["snapshots"])
    expect_site(rep, "grow", 40000, 40)
    first = report(r.dumps[0], "--snapshot", "0")
    eq(first["snapshot"]["reason"], "interval", "first snapshot's reason")
    b, n = by_function(first, "grow")
    check(0 < n < 40, "the first snapshot saw part of the growth: %d" % n)
    eq(b, n * 1000, "bytes follow blocks")


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
