#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Victims under LD_PRELOAD=libleakspy.so: exact bytes and blocks per site,
and a host that does not notice.  Usage: test_shim.py TEST"""

import os
import shutil
import stat
import subprocess
import tempfile
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402

from shimfacts import *  # noqa: E402,F401,F403


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


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
