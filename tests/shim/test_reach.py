#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The heap scan at exit under LD_PRELOAD=libleakspy.so: reach.c's cases,
each site's blocks split exactly as valgrind memcheck splits them
(definitely, indirectly, possibly lost, still reachable), what retains
them, and a program that does not notice.  Usage: test_reach.py TEST"""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

CLASSES = ("definitely_lost", "indirectly_lost", "interior_only",
           "reachable")

# What each mode of reach.c keeps, by site (its first function): (bytes,
# blocks) per class, the classes not named at (0, 0).  valgrind
# --leak-check=full --show-leak-kinds=all says the same, with possibly
# lost for interior_only.
CASES = {
    "lost": {"lost_alloc": {"definitely_lost": (1000, 1)}},
    "list": {"list_head": {"definitely_lost": (16, 1)},
             "list_node": {"indirectly_lost": (480, 10)}},
    "interior": {"interior_alloc": {"interior_only": (1000, 5)}},
    "tls": {"tls_main_alloc": {"reachable": (300, 1)},
            "tls_thread_alloc": {"reachable": (400, 1)}},
    "register": {"reg_alloc": {"reachable": (500, 1)}},
    "blocked": {"reg_alloc": {"reachable": (500, 1)},
                "lost_alloc": {"definitely_lost": (1000, 1)}},
    "key": {"key_alloc": {"reachable": (600, 1)}},
    "cycle": {"cycle_alloc": {"definitely_lost": (64, 1),
                              "indirectly_lost": (64, 1)}},
    "array": {"array_alloc": {"reachable": (3200, 100)}},
    "mixed": {"mixed_outer": {"reachable": (64, 1)},
              "mixed_inner": {"interior_only": (96, 1)}},
}

# Who retains each site's reached blocks: a root (kind, and the global's
# symbol or whether the thread is the main one) or another site (by its
# first function).  Sites with nothing reached have no owner.
RETAINERS = {
    "lost_alloc": None, "list_head": None, "list_node": None,
    "cycle_alloc": None,
    "interior_alloc": ("global", "inner"),
    "tls_main_alloc": ("tls", True),
    "tls_thread_alloc": ("tls", False),
    "reg_alloc": ("register", False),
    "key_alloc": ("tls", False),
    "array_alloc": ("global", "held"),
    "mixed_outer": ("global", "mixed_root"),
    "mixed_inner": ("site", "mixed_outer"),
}


def reach_of(rep, fn):
    """The split of the sites whose first frame is fn: class -> (bytes,
    blocks), summed over them."""
    sites = sites_of(rep, fn)
    check(sites, "a site of %s" % fn)
    for s in sites:
        check("reach" in s, "%s has reach: %r" % (fn, sorted(s)))
    return {c: (sum(s["reach"][c]["bytes"] for s in sites),
                sum(s["reach"][c]["blocks"] for s in sites))
            for c in CLASSES}


def expect_reach(rep, fn, want):
    got = reach_of(rep, fn)
    eq(got, {c: want.get(c, (0, 0)) for c in CLASSES},
       "reach of %s" % fn)
    live = [sum(x) for x in zip(*want.values())]
    expect_site(rep, fn, live[0], live[1])


def first_function(rep, i):
    return rep["sites"][i]["frames"][0]["function"]


def retained_by(rep, fn):
    return [o for s in sites_of(rep, fn) for o in s["retained_by"]]


def expect_retainer(rep, fn, exe):
    """fn's reached blocks are all held by the owner RETAINERS names; a
    global of the victim itself.  Returns the owners."""
    want = RETAINERS[fn]
    owners = retained_by(rep, fn)
    if want is None:
        eq(owners, [], "retained_by of %s" % fn)
        return owners
    kind, what = want
    r = reach_of(rep, fn)
    held = tuple(map(sum, zip(r["reachable"], r["interior_only"])))
    eq(tuple(map(sum, zip(*[(o["bytes"], o["blocks"]) for o in owners]))),
       held, "bytes and blocks retained of %s: %r" % (fn, owners))
    for o in owners:
        if kind == "site":
            check("site" in o and o["site"] is not None and
                  first_function(rep, o["site"]) == what,
                  "%s retained by %s: %r" % (fn, what, o))
            continue
        check("root" in o, "%s retained by a root: %r" % (fn, o))
        root = o["root"]
        eq(root["kind"], kind, "root kind of %s" % fn)
        if kind == "global":
            eq((root["module"], root["symbol"], root["thread"]),
               (exe, what, None), "global root of %s" % fn)
        else:
            eq(root["thread"]["main"], what,
               "root of %s in the main thread" % fn)
    return owners


def expect_chain(rep, fn):
    """A chain, where the dump has one, ends at fn's retainer."""
    for s in sites_of(rep, fn):
        if not s["chain"]:
            continue
        eq((s["chain"][0].get("bytes"), s["chain"][0].get("blocks")),
           (s["live_bytes"], s["live_blocks"]), "first step of %s" % fn)
        check("root" in s["chain"][-1], "chain of %s ends at a root: %r" %
              (fn, s["chain"]))


def check_scan(rep, what):
    """The final snapshot at exit has a complete scan."""
    eq(rep["snapshot"]["reason"], "exit", what + ": snapshot reason")
    check(rep.get("scan"), what + ": a scan in the dump")
    eq((rep["scan"]["complete"], rep["scan"]["reason"],
        rep["scan"]["threads_not_stopped"]), (True, None, 0),
       what + ": scan complete, every thread stopped")
    eq(rep["scan"]["snapshot"], rep["snapshot"]["index"],
       what + ": the scan is the final snapshot's")


def run_reach(mode):
    exe = victim("reach")
    r = same_as_native([exe, mode], want_rc=0)
    eq(r.out, ("reach %s: ready\n" % mode).encode(), "output of " + mode)
    rep = report(one_dump(r))
    check_scan(rep, mode)
    return exe, rep


def check_case(mode):
    exe, rep = run_reach(mode)
    for fn, want in CASES[mode].items():
        expect_reach(rep, fn, want)
        expect_retainer(rep, fn, exe)
        expect_chain(rep, fn)
    return rep


def test_reach_lost():
    """A block whose only pointer is overwritten: definitely lost."""
    check_case("lost")


def test_reach_list():
    """A lost list head: the head definitely lost, its nodes (allocated
    elsewhere) indirectly."""
    check_case("list")


def test_reach_interior():
    """Blocks held only by pointers 16 bytes into them, from a global
    array: interior only (memcheck's possibly lost)."""
    check_case("interior")


def test_reach_tls():
    """Blocks held only by _Thread_local variables, of the main thread
    and of a thread blocked in pause() at exit: reachable, from TLS."""
    rep = check_case("tls")
    serials = [o["root"]["thread"]["serial"]
               for fn in ("tls_main_alloc", "tls_thread_alloc")
               for o in retained_by(rep, fn)]
    eq(len(set(serials)), 2, "two threads' TLS: %r" % serials)


def test_reach_register():
    """A block whose only pointer is the buffer argument of a read(2)
    that blocks at exit: reachable, from that thread's registers."""
    check_case("register")


def test_reach_blocked():
    """Every signal blocked in every thread, the one in read(2) included:
    the stop reaches it by glibc's SIGSETXID, which no thread can block
    through the C library, so the scan is complete; its register holds
    reg_alloc's block, and lost_alloc's is lost."""
    exe, rep = run_reach("blocked")
    eq(rep["scan"]["complete"], True, "the scan is complete: %r" %
       rep["scan"])
    for fn, want in CASES["blocked"].items():
        expect_reach(rep, fn, want)
        expect_retainer(rep, fn, exe)


def test_reach_key():
    """A pthread key's value in a thread blocked at exit: reachable, from
    its thread descriptor (TLS)."""
    check_case("key")


def test_reach_cycle():
    """Two lost blocks pointing at each other: one definitely lost, the
    other indirectly."""
    check_case("cycle")


def test_reach_array():
    """100 blocks held by a global array: reachable, by that global."""
    check_case("array")


def test_reach_globals():
    """One site's blocks held by two globals: retained by each of them by
    its symbol, with what it holds (not by one word for the whole data
    segment)."""
    exe, rep = run_reach("globals")
    expect_reach(rep, "globals_alloc", {"reachable": (51 * 48, 51)})
    eq(sorted((o["root"]["kind"], o["root"]["module"], o["root"]["symbol"],
               o["bytes"], o["blocks"])
              for o in retained_by(rep, "globals_alloc")),
       [("global", exe, "big_held", 50 * 48, 50),
        ("global", exe, "small_held", 48, 1)], "retained by each global")


def test_reach_mixed():
    """A reachable block holding another by an interior pointer only:
    root -> A -?-> B leaves B interior only, retained by A's site."""
    check_case("mixed")


def test_reach_all():
    """Every case in one process, the three threads blocked at exit and
    stopped for the scan: the same figures, and the scan complete."""
    exe, rep = run_reach("all")
    check(rep["scan"]["threads_stopped"] >= 3, "threads stopped: %r" %
          rep["scan"])
    for mode, sites in CASES.items():
        for fn, want in sites.items():
            expect_reach(rep, fn, want)
            expect_retainer(rep, fn, exe)
    serials = [o["root"]["thread"]["serial"]
               for fn in ("tls_thread_alloc", "reg_alloc", "key_alloc")
               for o in retained_by(rep, fn)]
    eq(len(set(serials)), 3, "three threads' roots: %r" % serials)
    check(0 not in serials, "none of them the main thread: %r" % serials)


def test_reach_joined():
    """Threads joined one after the other: the vector of their TLS that
    glibc keeps with the cached stack is held by that cache (its
    pointer is one word into it), never lost."""
    exe, rep = run_reach("joined")
    r = reach_of(rep, "joined_case")
    sites = sites_of(rep, "joined_case")
    live = (sum(s["live_bytes"] for s in sites),
            sum(s["live_blocks"] for s in sites))
    eq(live[1], 1, "one vector kept, the last thread's")
    eq((r["definitely_lost"], r["indirectly_lost"], r["reachable"]),
       ((0, 0), (0, 0), (0, 0)), "none lost")
    eq(r["interior_only"], live, "held through a pointer into it")
    owners = retained_by(rep, "joined_case")
    eq([(o["root"], o["bytes"], o["blocks"]) for o in owners],
       [({"kind": "cache", "module": None, "symbol": None,
          "address": None, "thread": None}, live[0], 1)],
       "held by the C library's cache of ended threads")


def test_reach_endings():
    """The final snapshot's scan at _exit, at an exec and at abort(): the
    same exact split as at exit, in the snapshot each ends with."""
    exe = victim("reach")
    for how, rc, reason in (("_exit", 0, "exit"), ("exec", 0, "exec"),
                            ("abort", -signal.SIGABRT, "abort")):
        r = same_as_native([exe, "list", how], want_rc=rc)
        eq(r.out, b"reach list: ready\n", "output, " + how)
        rep = report(one_dump(r))
        eq(rep["snapshot"]["reason"], reason, how + ": snapshot reason")
        eq((rep["scan"]["snapshot"], rep["scan"]["complete"]),
           (rep["snapshot"]["index"], True), how + ": its scan")
        for fn, want in CASES["list"].items():
            expect_reach(rep, fn, want)


def test_reach_forked():
    """A fork child's other threads are gone, their stacks in glibc's
    cache with their descriptors: the vector of a blocked thread's TLS is
    held, in the child, by that cache (in the parent, by the thread);
    its key value, which glibc clears in the child, is lost there."""
    exe = victim("reach")
    r = same_as_native([exe, "key", "fork"], want_rc=0)
    eq(len(r.dumps), 2, "dumps: the parent's and the child's")
    reps = [report(d) for d in r.dumps]
    pids = [x["process"]["pid"] for x in reps]
    child = [x for x in reps if x["process"]["ppid"] in pids]
    parent = [x for x in reps if x not in child]
    eq((len(parent), len(child)), (1, 1), "one parent, one child")
    for rep, kind, key in ((parent[0], "tls", "reachable"),
                           (child[0], "cache", "definitely_lost")):
        check_scan(rep, kind)
        expect_reach(rep, "key_alloc", {key: (600, 1)})
        sites = [x for x in sites_of(rep, "start")
                 if x["via"] == "pthread_create"]
        eq(len(sites), 1, kind + ": the thread's TLS vector")
        v = sites[0]
        eq((v["reach"]["definitely_lost"]["blocks"],
            v["reach"]["indirectly_lost"]["blocks"]), (0, 0),
           kind + ": its TLS vector not lost")
        eq([o["root"]["kind"] for o in v["retained_by"]], [kind],
           kind + ": the TLS vector held by")


def test_reach_sampled():
    """Sampled mode cannot scan: the dump has no scan, or one that says
    it is incomplete and why; the program runs as without leakspy."""
    exe = victim("reach")
    r = same_as_native([exe, "all"], env={"LEAKSPY_SAMPLE": "2k"},
                       want_rc=0)
    eq(r.out, b"reach all: ready\n", "output")
    rep = report(one_dump(r))
    eq(rep["estimated"], True, "estimated")
    scan = rep.get("scan")
    if scan is not None:
        eq(scan["complete"], False, "a sampled scan is incomplete")
        check(scan["reason"], "and says why: %r" % scan)


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
