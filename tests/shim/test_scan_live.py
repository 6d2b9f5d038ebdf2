#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Heap scans while the program runs, in a clone of the process: the two
seed cases mid-run (by the snapshot signal and by the growth trigger),
each site's chain up to its root step by step, a host that notices no
child, the scans refused with their reason, and a service that keeps
answering while a big heap is scanned.  Usage: test_scan_live.py TEST"""

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

RUNNING = "taken while the program ran: registers not read"
CLASSES = ("definitely_lost", "indirectly_lost", "interior_only",
           "reachable")


class Live:
    """A victim under the shim that waits on its stdin: spawned in a
    fresh directory (as run() does), told to go on with go(), and turned
    into a Run (whose exit status must be checked) by finish()."""

    def __init__(self, argv, env=None):
        self.argv, self.tmp = argv, tmpdir()
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("LEAKSPY_") or k == "LD_PRELOAD":
                del e[k]
        e.update({"LEAKSPY_INTERVAL": "0", "LD_PRELOAD": LIB})
        e.update(env or {})
        self.p = subprocess.Popen(argv, cwd=self.tmp, env=e,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.deadline = time.monotonic() + TIMEOUT

    def line(self):
        """The victim's next line of output (it is ready)."""
        ready, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
        if not ready:
            self.kill()
            raise Fail("%s printed nothing" % self.argv)
        return self.p.stdout.readline()

    def dump(self):
        dumps = [f for f in os.listdir(self.tmp) if f.endswith(".lsd")]
        check(len(dumps) == 1, "one dump in %s: %r" % (self.tmp, dumps))
        return os.path.join(self.tmp, dumps[0])

    def wait_snapshots(self, n, timeout=15):
        """Wait until the dump has n snapshots (an unfinished dump reads
        with exit status 3); returns the last one read."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = subprocess.run([REPORT, "--format", "json", self.dump()],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=TIMEOUT)
            if p.returncode in (0, 3) and p.stdout:
                rep = json.loads(p.stdout)
                if rep["snapshots"] >= n:
                    return rep
            time.sleep(0.02)
        self.kill()
        raise Fail("no snapshot #%d in %.0f s" % (n - 1, timeout))

    def wait_scan(self, timeout=60):
        """Wait until the dump has a snapshot with a scan of its own (the
        signal's, or a later one if the scan took long); returns its
        index."""
        end = time.monotonic() + timeout
        n = 1
        while time.monotonic() < end:
            rep = self.wait_snapshots(n, timeout=end - time.monotonic())
            if rep.get("scan") is not None:
                return rep["scan"]["snapshot"]
            n = rep["snapshots"] + 1
        self.kill()
        raise Fail("no scan in %.0f s" % timeout)

    def kill(self):
        self.p.kill()
        self.p.wait()

    def finish(self, data=b"x"):
        out, err = self.p.communicate(data, timeout=TIMEOUT)
        dumps = sorted(os.path.join(self.tmp, f)
                       for f in os.listdir(self.tmp) if f.endswith(".lsd"))
        return Run(self.p.returncode, out, err, dumps, self.tmp, self.argv)


def site_by(rep, fn, via=None, caller=None):
    """The one site whose first frame is fn (allocating with via, called
    by caller): its index and the site."""
    found = [(i, s) for i, s in enumerate(rep["sites"])
             if s["frames"] and s["frames"][0]["function"] == fn and
             (via is None or s["via"] == via) and
             (caller is None or len(s["frames"]) > 1 and
              s["frames"][1]["function"] == caller)]
    eq(len(found), 1, "sites of %s (via %s, from %s): %r" %
       (fn, via, caller, [(s["via"], [f["function"] for f in s["frames"]])
                          for _, s in found]))
    return found[0]


def amounts(d):
    return (d["bytes"], d["blocks"])


def expect_reachable(site, nbytes, nblocks, what, live=True):
    """All of site's nbytes in nblocks reachable, and live (unless the
    program went on allocating after the scan's clone: live=False)."""
    if live:
        eq((site["live_bytes"], site["live_blocks"]), (nbytes, nblocks),
           "live bytes and blocks of " + what)
    eq({c: amounts(site["reach"][c]) for c in CLASSES},
       {"definitely_lost": (0, 0), "indirectly_lost": (0, 0),
        "interior_only": (0, 0), "reachable": (nbytes, nblocks)},
       "reach of " + what)


def step(owner, held, collapsed=1):
    """A chain step as the test states it: ("site", index) or ("global",
    symbol), what it holds of the step before it, and its run."""
    return (owner, held, collapsed)


def chain_of(rep, site):
    """site's chain in the form of step()."""
    out = []
    for s in site["chain"]:
        if "root" in s:
            r = s["root"]
            owner = (r["kind"], r["symbol"] if r["kind"] == "global"
                     else r["thread"]["main"])
            if r["kind"] == "global":
                check(r["module"] == rep["process"]["exe"],
                      "root %s in the victim: %r" % (r["symbol"], r))
        else:
            owner = ("site", s["site"])
        out.append(step(owner, amounts(s), s["collapsed"]))
    return out


def running_scan(rep, snap, what):
    """Snapshot snap's own scan is a running one, as such incomplete."""
    eq(rep["snapshot"]["index"], snap, what + ": snapshot")
    check(rep.get("scan"), what + ": a scan")
    eq((rep["scan"]["snapshot"], rep["scan"]["complete"],
        rep["scan"]["reason"], rep["scan"]["threads_stopped"]),
       (snap, False, RUNNING, 0), what + ": a running scan of its own")


def growth_scans(dump, *args):
    """The growth trigger's snapshots before the one at exit, each of
    reason "scan": (index, report, late) for those that carry a scan.
    A clone still marking when its snapshot is written (after a wait of
    up to a second) is collected by the next snapshot, late, and the
    one at exit drops it."""
    total = report(dump)["snapshots"]
    reps = [report(dump, "--snapshot", str(i), *args)
            for i in range(total - 1)]
    out = []
    for i, rep in enumerate(reps):
        eq(rep["snapshot"]["reason"], "scan", "snapshot %d's reason" % i)
        sc = rep.get("scan")
        if not sc or sc["snapshot"] != i:
            check(i + 1 == len(reps) or reps[i + 1]["scan"]["time"] ==
                  rep["snapshot"]["time_s"],
                  "scan %d, still marking, collected by the next: %r" %
                  (i, [(r["snapshot"], r.get("scan")) for r in reps]))
            continue
        late = sc["time"] != rep["snapshot"]["time_s"]
        if late:
            eq(sc["time"], reps[i - 1]["snapshot"]["time_s"],
               "scan %d: the clone of the snapshot before" % i)
        running_scan(rep, i, "scan %d" % i)
        out.append((i, rep, late))
    return out


def final_scan(rep, what):
    eq(rep["snapshot"]["reason"], "exit", what + ": last snapshot")
    eq((rep["scan"]["snapshot"], rep["scan"]["complete"]),
       (rep["snapshot"]["index"], True), what + ": the scan at exit")


# cancel.c's sizes: source, command, result buffer, registration.
SOURCE, COMMAND, RESULT, REGISTRATION = 16, 32, 1024, 32


def check_cancel(rep, n, what, live=True):
    """cancel.c's heap with n queries: every site's blocks reachable, the
    result buffers held by the commands, the commands by a run of n
    registrations, the registrations by the source, the source by the
    global batch."""
    ri, res = site_by(rep, "fetch_result", "malloc")
    ci, cmd = site_by(rep, "command_new", "calloc")
    gi, reg = site_by(rep, "register_cancel", "malloc")
    si, src = site_by(rep, "source_new", "calloc")
    expect_reachable(res, n * RESULT, n, what + " fetch_result", live)
    expect_reachable(cmd, n * COMMAND, n, what + " command_new", live)
    expect_reachable(reg, n * REGISTRATION, n, what + " register_cancel",
                     live)
    expect_reachable(src, SOURCE, 1, what + " source_new", live)
    eq(amounts(reg["reach"]["held_by_itself"]),
       ((n - 1) * REGISTRATION, n - 1), what + ": the list holds itself")
    eq(chain_of(rep, res),
       [step(("site", ci), (n * RESULT, n)),
        step(("site", gi), (n * COMMAND, n), n),
        step(("site", si), (REGISTRATION, 1)),
        step(("global", "batch"), (SOURCE, 1))],
       what + ": chain of the result buffers")
    eq([(o.get("site"), amounts(o)) for o in res["retained_by"]],
       [(ci, (n * RESULT, n))], what + ": result buffers retained by")
    eq([(o.get("site"), amounts(o)) for o in reg["retained_by"]],
       [(si, (REGISTRATION, 1))], what + ": registrations retained by")


def expect_gone(rep, fns, what):
    for fn in fns:
        eq(by_function(rep, fn), (0, 0), "%s: %s at exit" % (what, fn))


CANCEL_SITES = ("fetch_result", "command_new", "register_cancel",
                "source_new")


def stack_held(rep, fns):
    """The blocks of sites fns that the main thread's stack holds."""
    return sum(o["blocks"] for s in rep["sites"]
               if s["frames"] and s["frames"][0]["function"] in fns
               for o in s["retained_by"]
               if "root" in o and o["root"]["kind"] == "stack")


def wait_in_read(pid):
    """Until the victim's main thread is blocked in read(2): a running
    scan then reads its stack from its stack pointer, not whole."""
    for _ in range(1000):
        with open("/proc/%d/syscall" % pid) as f:
            if f.read().split(" ")[0] == "0":
                return
        time.sleep(0.005)
    check(False, "the victim blocks in read")


def test_cancel_signal():
    """Seed 2 mid-run: 2000 registrations on one source, the snapshot
    signal while the victim waits; the signal's snapshot has a running
    scan with the whole chain, and the final one has none of it left.
    A run whose scan found stale copies of the victim's pointers on its
    stack (read whole while the program runs) is tried again, twice at
    most."""
    n = 2000
    for attempt in range(3):
        v = Live([victim("cancel"), "wait", str(n)],
                 env={"LEAKSPY_SIGNAL": "USR2"})
        eq(v.line(), b"cancel: %d registrations\n" % n, "ready")
        wait_in_read(v.p.pid)
        os.kill(v.p.pid, signal.SIGUSR2)
        v.wait_snapshots(1)
        r = v.finish()
        eq((r.rc, r.out), (0, b"cancel: disposed\n"), "exit status, output")
        dump = one_dump(r)
        eq(report(dump)["snapshots"], 2, "snapshots: the signal's, exit")
        mid = report(dump, "--snapshot", "0", "-n", "1000")
        k = stack_held(mid, CANCEL_SITES)
        if k == 0 or attempt == 2:
            break
        print("run %d: %d blocks held by stale stack copies; again" %
              (attempt, k))
    eq(mid["snapshot"]["reason"], "signal", "first snapshot's reason")
    running_scan(mid, 0, "at the signal")
    check_cancel(mid, n, "at the signal")
    last = report(dump)
    final_scan(last, "at exit")
    expect_gone(last, CANCEL_SITES, "disposed")


def test_cancel_growth():
    """Seed 2 by the growth trigger alone (no signal, no interval): a
    batch growing to 6.5 MiB over 2 s is scanned at least once, each scan
    snapshot has reason "scan" and the same chain, whose run is the
    registrations' count then; everything is gone at exit."""
    exe = victim("cancel")
    # Scans while running need the writer thread: a snapshot interval
    # (one that never comes in this run).
    r = run([exe, "grow", "6000", "2000"], env={"LEAKSPY_INTERVAL": "100"},
            want_rc=0)
    eq(r.out, b"cancel: disposed\n", "output")
    dump = one_dump(r)
    scans = 0
    for i, rep, late in growth_scans(dump, "-n", "1000"):
        _, reg = site_by(rep, "register_cancel", "malloc")
        # The scan's clone is taken a moment before the snapshot reads
        # the live figures, while the batch goes on: its own count (a
        # snapshot earlier if it was collected late).
        n = reg["reach"]["reachable"]["blocks"]
        check(n > 0, "scan %d: registrations reached" % i)
        slack = range(0, reg["live_blocks"]) if late else range(0, 3)
        check(reg["live_blocks"] - n in slack,
              "scan %d: %d reached of %d live" % (i, n, reg["live_blocks"]))
        check_cancel(rep, n, "scan %d (%d queries)" % (i, n), live=False)
        print("scan %d at %.3f s: %d registrations" %
              (i, rep["scan"]["time"], n))
        scans += 1
    check(scans >= 1, "at least one scan while the batch grew")
    last = report(dump)
    final_scan(last, "at exit")
    expect_gone(last, CANCEL_SITES, "disposed")


def on_stack(site, what):
    """How many of site's blocks the main thread's stack holds (its only
    roots), at most 8."""
    roots = [o for o in site["retained_by"] if "root" in o]
    eq([(o["root"]["kind"], o["root"]["thread"]["main"]) for o in roots],
       [("stack", True)] * len(roots), what + " held by roots")
    k = sum(o["blocks"] for o in roots)
    check(k <= 8, "at most 8 %s on the stack: %r" % (what, roots))
    if k:
        print("%d %s also on the main thread's stack" % (k, what))
    return k


def test_events_signal():
    """Seed 1 mid-run: a job inside a parent event fires 4000 children
    (1000 more outside it are dropped): each child's payload is held by
    its event, the events by the parent's children array, the array by
    the parent, the parent by the subscriber's stack of open events."""
    n, cap = 4000, 4096
    v = Live([victim("events"), str(n), "1000"],
             env={"LEAKSPY_SIGNAL": "USR2"})
    eq(v.line(), b"events: %d children\n" % n, "ready")
    os.kill(v.p.pid, signal.SIGUSR2)
    v.wait_snapshots(1)
    r = v.finish()
    eq((r.rc, r.out), (0, b"events: done\n"), "exit status, output")
    dump = one_dump(r)
    rep = report(dump, "--snapshot", "0", "-n", "1000")
    running_scan(rep, 0, "at the signal")
    ci, child = site_by(rep, "event_new", caller="fire_child")
    pi, parent = site_by(rep, "event_new", caller="job_perform")
    ai, arr = site_by(rep, "children_add", "realloc")
    hi, hsh = site_by(rep, "payload_new", caller="fire_child")
    expect_reachable(child, n * 96, n, "child events")
    expect_reachable(parent, 96, 1, "the parent event")
    expect_reachable(arr, cap * 8, 1, "the children array")
    expect_reachable(hsh, n * 192, n, "the children's payloads")
    # A few children and payloads (of the last ones fired) may also be
    # held by stale copies on the main thread's stack, which a running
    # scan reads whole: the owner holds all the others.
    k = on_stack(child, "child events")
    kp = on_stack(hsh, "payloads")
    parent_chain = [step(("site", ai), ((n - k) * 96, n - k)),
                    step(("site", pi), (cap * 8, 1)),
                    step(("global", "subscriber"), (96, 1))]
    eq(chain_of(rep, child), parent_chain, "chain of the child events")
    eq(chain_of(rep, hsh), [step(("site", ci), ((n - kp) * 192, n - kp))] +
       parent_chain, "chain of the children's payloads")
    last = report(dump)
    final_scan(last, "at exit")
    expect_gone(last, ("event_new", "payload_new", "children_add"),
                "the parent finished")


def test_quiet():
    """The scans' clones are not the program's children: its SIGCHLD
    handler never runs, nor its atfork handlers, and waitpid(-1) keeps
    failing with ECHILD, as without leakspy; meanwhile the heap's growth
    gave running scans."""
    r = same_as_native([victim("quiet"), "2500"],
                       env={"LEAKSPY_INTERVAL": "100"}, want_rc=0)
    eq(r.out, b"quiet: 0 SIGCHLD, 0 atfork calls, waitpid ECHILD 250 "
       b"of 250\n", "output")
    scans = growth_scans(one_dump(r))
    check(scans, "a running scan besides the one at exit")
    for i, rep, late in scans:
        _, s = site_by(rep, "grow", "malloc")
        # The clone is taken a moment before the live figures are read,
        # while the heap grows (a snapshot earlier if it was collected
        # late): none lost, and no more than are live.
        got = {c: amounts(s["reach"][c]) for c in CLASSES}
        n = got["reachable"][1]
        slack = range(0, s["live_blocks"]) if late else range(0, 17)
        check(n > 0 and s["live_blocks"] - n in slack and
              got["reachable"][0] == s["live_bytes"] * n //
              s["live_blocks"] and
              [got[c] for c in CLASSES if c != "reachable"] ==
              [(0, 0)] * 3,
              "scan %d: every block reachable: %r of %d" %
              (i, s["reach"], s["live_blocks"]))


def test_refused_sampled():
    """In sampled mode the snapshot signal's scan is refused: incomplete,
    "sampled mode" in its reason, and the report shows no reachability
    for it (no "definitely lost 0"), in text or JSON."""
    r = run([victim("sleeper"), "300", "raise"],
            env={"LEAKSPY_SIGNAL": "USR2", "LEAKSPY_SAMPLE": "2k"},
            want_rc=0)
    dump = one_dump(r)
    rep = report(dump, "--snapshot", "0")
    eq(rep["snapshot"]["reason"], "signal", "first snapshot's reason")
    eq((rep["scan"]["snapshot"], rep["scan"]["complete"]), (0, False),
       "the signal's scan, incomplete")
    check("sampled mode" in (rep["scan"]["reason"] or ""),
          "says sampled mode: %r" % rep["scan"])
    text, _ = report_text(dump, "--snapshot", "0")
    check("incomplete: sampled mode" in text, "text says why:\n" + text)
    check("definitely lost 0" not in text,
          "no claim that nothing is lost:\n" + text)
    for s in rep["sites"]:
        eq(s.get("reach"), None, "reach of %s with the scan refused" %
           s["frames"][0]["function"])


def test_refused_off():
    """LEAKSPY_SCAN=0: neither the snapshot signal nor the heap's growth
    scans while the program runs; the one at exit still does."""
    r = run([victim("cancel"), "grow", "6000", "1500"],
            env={"LEAKSPY_SCAN": "0"}, want_rc=0)
    eq(r.out, b"cancel: disposed\n", "output")
    last = report(one_dump(r))
    eq(last["snapshots"], 1, "only the final snapshot")
    final_scan(last, "LEAKSPY_SCAN=0")
    r = run([victim("sleeper"), "300", "raise"],
            env={"LEAKSPY_SIGNAL": "USR2", "LEAKSPY_SCAN": "0"},
            want_rc=0)
    dump = one_dump(r)
    mid = report(dump, "--snapshot", "0")
    eq((mid["snapshot"]["reason"], mid["scan"]), ("signal", None),
       "the signal's snapshot without a scan")
    for s in mid["sites"]:
        check("reach" not in s or s["reach"] is None,
              "no reach without a scan: %r" % s)
    text, _ = report_text(dump, "--snapshot", "0")
    check("scan:      none (reachability unknown)" in text,
          "text says there is none:\n" + text)
    final_scan(report(dump), "LEAKSPY_SCAN=0 with the signal")


def request(v, what):
    """One request to serve.c: its latency in seconds."""
    t = time.monotonic()
    v.p.stdin.write(what)
    v.p.stdin.flush()
    ready, _, _ = select.select([v.p.stdout], [], [], 10)
    if not ready:
        v.kill()
        raise Fail("no answer to a request in 10 s")
    got = os.read(v.p.stdout.fileno(), 1)
    eq(got, bytes([what[0] + 1]), "answer")
    return time.monotonic() - t


def test_serve_big_heap():
    """A service with 1 GiB in 1M blocks keeps answering requests while
    the snapshot signal's scan runs: every request answered, and the scan
    (in the signal's snapshot, or in one of its own if it took longer than
    a second) has the big site whole and reachable."""
    nblocks = 1024 * 1024
    v = Live([victim("serve"), "1024"], env={"LEAKSPY_SIGNAL": "USR2",
                                            "LEAKSPY_SCAN_GROWTH": "0"})
    eq(v.line(), b"serve: %d blocks\n" % nblocks, "ready")
    for _ in range(10):
        request(v, b"a")
    sent, worst, done = 10, 0.0, []
    poll = threading.Thread(target=lambda: done.append(v.wait_scan()))
    t0 = time.monotonic()
    os.kill(v.p.pid, signal.SIGUSR2)
    poll.start()
    while poll.is_alive():
        worst = max(worst, request(v, b"a"))
        sent += 1
    took = time.monotonic() - t0
    r = v.finish(b"q")
    eq((r.rc, r.out), (0, b"serve: %d requests\n" % sent),
       "exit status, output: every request answered")
    check(done, "the scan's snapshot written")
    print("%d requests while the scan ran (%.2f s to the snapshot read), "
          "the longest took %.1f ms" % (sent - 10, took, worst * 1e3))
    dump = one_dump(r)
    k = done[0]
    rep = report(dump, "--snapshot", str(k))
    eq(report(dump, "--snapshot", "0")["snapshot"]["reason"], "signal",
       "the signal's snapshot")
    eq(rep["snapshot"]["reason"], "signal" if k == 0 else "scan",
       "the scan's snapshot")
    running_scan(rep, k, "the signal's scan")
    ci, cache = site_by(rep, "cache_fill", "malloc")
    expect_reachable(cache, nblocks * 1024, nblocks, "cache_fill")
    eq(chain_of(rep, cache), [step(("global", "cache"),
                                   (nblocks * 1024, nblocks))],
       "chain of the cache")
    final_scan(report(dump), "at exit")


def test_demo_chain():
    """The README's demo: at exit, the result buffers' text line says who
    holds them, in order: the command objects, the registrations (a run
    as long as the batch), the cancellation source and the global that
    keeps the batch; the same chain at the mid-run scans the growth
    trigger took (where a query may be between its registration and
    its result)."""
    demo = os.path.join(BUILD, "tools", "leakspy-demo")
    r = run([demo, "-s", "2", "-q", "1000"], env={"LEAKSPY_INTERVAL": "0.5"},
            want_rc=0)
    m = re.match(rb"leakspy-demo: (\d+) queries, \1 registrations", r.out)
    check(m, "demo output: %r" % r.out)
    n = int(m.group(1))
    dump = one_dump(r)
    text, _ = report_text(dump, "-n", "1")
    lines = text.splitlines()
    check("scan:      at " in text and "complete" in text, "scan line")
    top = [x for x in lines if x.startswith("        retained by:")]
    eq(len(top), 1, "one retained-by line under the top site")
    want = re.compile(r"        retained by: command_new \(.* in %d\) <- "
                      r"register_cancel \(.* in %d, a run of %d\) <- "
                      r"source_new \(24 B in 1\) <- global batch "
                      r"\[leakspy-demo\] \(16 B in 1\)$" % (n, n, n))
    check(want.match(top[0]), "the chain at exit: %r" % top[0])
    check(lines[lines.index(top[0]) - 4].split()[2] == "fetch_result",
          "under the result buffers' site: %r" % lines)
    scans = 0
    for i in range(report(dump)["snapshots"] - 1):
        rep = report(dump, "--snapshot", str(i))
        if rep["scan"] is None or rep["scan"]["snapshot"] != i:
            continue
        _, res = site_by(rep, "fetch_result", "malloc")
        k = res["reach"]["reachable"]["blocks"]
        # The world may stop between a query's register_cancel and its
        # fetch_result: then one more registration holds a command that
        # has no result yet, and the run is one longer than k.
        _, reg = site_by(rep, "register_cancel", "malloc")
        r = reg["reach"]["reachable"]["blocks"]
        check(r in (k, k + 1), "scan %d: %d registrations for %d results"
              % (i, r, k))
        eq([step_name(rep, x) for x in res["chain"]],
           [("command_new", k), ("register_cancel", r), ("source_new", 1),
            ("global", "batch")], "the chain of scan %d" % i)
        scans += 1
    check(scans >= 1, "a scan while the batch grew")


def step_name(rep, x):
    """A chain step as (first function, blocks held) or (root kind,
    symbol)."""
    if "root" in x:
        return (x["root"]["kind"], x["root"]["symbol"])
    return (rep["sites"][x["site"]]["frames"][0]["function"], x["blocks"])


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
