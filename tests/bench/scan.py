# SPDX-License-Identifier: MIT
"""The heap scan's part of tests/bench/run (workload `scan`): what
leakspy's heap scan costs a program with a heap of 1 KiB blocks,
measured with tests/bench/scanheap at each heap size of SIZES.

- Exit delay: scanheap prints CLOCK_MONOTONIC right before main returns;
  the delay is from there to the return of wait4() on its parent
  (tests/bench/peakrss, which exits right after), with no tool, leakspy
  in full mode (whose final snapshot scans the heap; LEAKSPY_INTERVAL=0
  and LEAKSPY_SCAN=0, so that no snapshot or scan comes before it) and
  sampled mode (which does not scan).
- The final scan's memory: the full-mode run's peak RSS (peakrss) minus
  the VmHWM scanheap read right before it returned.  It includes what
  the final snapshot itself maps.
- A scan while the program runs: scanheap times free+malloc pairs while
  this script sends it LEAKSPY_SIGNAL (USR2, with LEAKSPY_SCAN set and
  LEAKSPY_INTERVAL=0, LEAKSPY_SCAN_GROWTH=0: that signal's snapshot is
  the only one and scans).  The pause is the worst pair from the signal
  to the clone first seen (the tables locked for the clone); the worst
  one after it, until the snapshot is written (the dump grown after the
  clone is gone), is set beside the worst in the rest of the run; the
  scan's time is from the signal to the snapshot written.  The scan's
  clone (named leakspy-scan, a child of the
  writer thread) is polled every millisecond: its peak RssAnon beyond
  the program's RssAnon at the signal is what the scan maps and the
  copy-on-write copies it makes; its peak RssShmem is the shared
  mapping its records go into.
"""

import json
import os
import signal
import statistics
import subprocess
import time

# (blocks, bytes a block)
SIZES = [(131072, 1024), (1048576, 1024)]
SCAN_ENV = {"LEAKSPY_INTERVAL": "0", "LEAKSPY_SCAN": "0"}
PAUSE_ENV = {"LEAKSPY_INTERVAL": "0", "LEAKSPY_SCAN": "1000000",
             "LEAKSPY_SCAN_GROWTH": "0", "LEAKSPY_SIGNAL": "USR2"}
POLL_S = 0.001
SETTLED_S = 0.1     # the dump's size unchanged this long: written


def status(pid, keys=("RssAnon", "RssShmem", "VmHWM", "VmRSS")):
    """kB figures of /proc/PID/status, or None once it is gone."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in keys:
                    out[k] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return out


def cpu_s(pid):
    """User and system seconds of PID, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def writer_tid(pid):
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                if f.read().strip() == "leakspy-writer":
                    return int(t)
        except OSError:
            pass
    return None


def children(pid, tid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, tid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def dump_of(outdir):
    for f in os.listdir(outdir):
        if f.endswith(".lsd"):
            return os.path.join(outdir, f)
    return None


class Bench:
    def __init__(self, build, env_for, settled, fresh_dir, quick=False):
        self.prog = os.path.join(build, "tests", "scanheap")
        self.peakrss = os.path.join(build, "tests", "peakrss")
        self.report = os.path.join(build, "tools", "leakspy-report")
        self.env_for, self.settled = env_for, settled
        self.fresh_dir = fresh_dir
        self.sizes = [(n // 4 if quick else n, sz) for n, sz in SIZES]

    def start(self, tool, extra, args, outdir):
        env, _ = self.env_for(tool, outdir)
        env.update(extra if tool != "none" else {})
        if "LD_PRELOAD" in env:
            env["PEAKRSS_PRELOAD"] = env.pop("LD_PRELOAD")
        rss = os.path.join(outdir, "rss")
        p = subprocess.Popen([self.peakrss, rss, self.prog] + args, env=env,
                             cwd=outdir, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        return p, rss

    def exit_run(self, tool, blocks, size):
        """Seconds from main's return to the end, peak RSS and VmHWM
        before the return (KiB)."""
        out = self.fresh_dir()
        extra = dict(SCAN_ENV)
        if tool == "sampled":
            tool, extra["LEAKSPY_SAMPLE"] = "leakspy", "1m"
        p, rssfile = self.start(tool, extra, [str(blocks), str(size),
                                              "exit"], out)
        before, stamp = {}, None
        for line in p.stdout:
            w = line.decode().split()
            if w[:1] == ["vmrss"]:
                before = {"VmRSS": int(w[1]), "VmHWM": int(w[3])}
            elif w[:1] == ["exit"]:
                stamp = int(w[1])
                break
        _, st, _ = os.wait4(p.pid, 0)
        end = time.monotonic_ns()
        p.stdout.close()
        if stamp is None or st != 0:
            return None
        with open(rssfile) as f:
            peak = int(f.read())
        return {"delay": (end - stamp) / 1e9, "peak": peak,
                "hwm": before["VmHWM"], "rss": before["VmRSS"]}

    def pause_run(self, blocks, size):
        out = self.fresh_dir()
        p, _ = self.start("leakspy", PAUSE_ENV,
                          [str(blocks), str(size), "pause", "600"], out)
        pid = int(p.stdout.readline().split()[1])
        time.sleep(0.3)
        wtid, dump = writer_tid(pid), dump_of(out)
        host = status(pid)
        size0 = os.stat(dump).st_size
        seen = {}
        child = None
        t_sig = time.monotonic_ns()
        os.kill(pid, signal.SIGUSR2)
        t_change = t_first = t_gone = None
        last = during_clone = size0
        while True:
            now = time.monotonic_ns()
            if child is None:
                kids = children(pid, wtid)
                if kids:
                    child, t_first = kids[0], now
            if child is not None and t_gone is None:
                s, c = status(child), cpu_s(child)
                if s is None or c is None:
                    t_gone = now
                else:
                    # The writer waits for the clone: no write meanwhile.
                    during_clone = os.stat(dump).st_size
                    seen["cpu"] = c
                    for k, v in s.items():
                        seen[k] = max(seen.get(k, 0), v)
            cur = os.stat(dump).st_size
            if cur != last:
                last, t_change = cur, now
            # The snapshot's first pieces are written before the clone
            # starts; the scan's records once it is gone (by a writer
            # thread that may wait for a core a while).
            if t_change and now - t_change > SETTLED_S * 1e9 and (
                    t_gone is not None and (cur != during_clone or
                                            now - t_gone > 30e9) or
                    child is None and now - t_sig > 10e9):
                break
            if now - t_sig > 600e9:
                break
            time.sleep(POLL_S)
        time.sleep(0.3)
        os.kill(pid, signal.SIGUSR1)
        head = p.stdout.readline().decode().split()
        slow = [tuple(int(x) for x in p.stdout.readline().split())
                for _ in range(int(head[5]))]
        # Its final snapshot would scan again: not waited for.
        os.kill(pid, signal.SIGKILL)
        os.wait4(p.pid, 0)
        p.stdout.close()
        # The pairs that began before the clone was seen met the tables
        # locked for the clone (or the roots taken before it); the later
        # ones the rest of the scan.
        t_clone = t_first or t_change or t_sig
        during = [(d, t) for t, d in slow if t_sig <= t <= t_clone]
        after = [d for t, d in slow if t_clone < t <= (t_change or t_sig)]
        rest = [d for t, d in slow if not t_sig <= t <= (t_change or t_sig)]
        rep = subprocess.run([self.report, "-f", "json", "-n", "1", "-s",
                              "0", dump], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        # A scan while running is never complete (registers are not
        # read); a failed one gives its failure as the reason instead.
        try:
            why = json.loads(rep.stdout)["scan"]["reason"]
        except (ValueError, KeyError, TypeError):
            why = None
        done = why is not None and why.startswith("taken while the "
                                                  "program ran")
        if t_change is None:
            return None
        worst = max(during, default=(0, t_sig))
        r = {"pause": worst[0] / 1e9, "pause_at": (worst[1] - t_sig) / 1e9,
             "rest": max(rest, default=0) / 1e9,
             "after": max(after, default=0) / 1e9,
             "time": (t_change - t_sig) / 1e9, "done": done,
             "clone_seen": child is not None}
        if child is not None:
            r["clone_at"] = (t_first - t_sig) / 1e9
            r["clone_life"] = (t_gone - t_first) / 1e9 if t_gone else None
            r["anon"] = seen.get("RssAnon", 0) - host["RssAnon"]
            r["hwm"] = seen.get("VmHWM", 0) - host["VmRSS"]
            r["shmem"] = seen.get("RssShmem", 0)
            r["cpu"] = seen.get("cpu")
        return r

    def measure(self, rounds, log):
        self.load = os.getloadavg()[0]
        res = {s: {"none": [], "leakspy": [], "sampled": [], "pause": []}
               for s in self.sizes}
        for rnd in range(rounds):
            for s in self.sizes:
                order = ["none", "leakspy", "sampled"]
                if rnd % 2:
                    order.reverse()
                for t in order:
                    r = self.settled(lambda t, _: self.exit_run(t, *s), t,
                                     1.0)
                    res[s][t].append(r)
                    log("round %d scan %d x %d %s exit %s\n" % (
                        rnd + 1, s[0], s[1], t,
                        "failed" if r is None else "%.3fs" % r["delay"]))
                r = self.settled(lambda t, _: self.pause_run(*s), "leakspy",
                                 1.0)
                res[s]["pause"].append(r)
                log("round %d scan %d x %d pause %s\n" % (
                    rnd + 1, s[0], s[1], "failed" if r is None else
                    "%.1f ms, scan %.2f s" % (r["pause"] * 1e3, r["time"])))
        return res


def heap_name(s):
    mib = s[0] * s[1] / 2 ** 20
    size = "%g GiB" % (mib / 1024) if mib >= 1024 else "%g MiB" % mib
    n = ("%gM" % (s[0] / 2 ** 20) if s[0] % 2 ** 20 == 0 else
         "%gK" % (s[0] / 2 ** 10))
    return "%s, %s blocks of %s" % (size, n, "%g KiB" % (s[1] / 1024)
                                    if s[1] % 1024 == 0 else "%d B" % s[1])


def rows(res):
    """The table's lines: each figure's runs and their median."""
    lines = ["| heap | figure | median | runs |", "|---|---|---|---|"]

    def row(s, what, vals, fmt):
        vals = [v for v in vals if v is not None]
        if not vals:
            lines.append("| %s | %s | | failed |" % (heap_name(s), what))
            return None
        m = statistics.median(vals)
        lines.append("| %s | %s | %s | %s |" % (
            heap_name(s), what, fmt % m, ", ".join(fmt % v for v in vals)))
        return m

    for s, r in res.items():
        gib = s[0] * s[1] / 2 ** 30
        mblocks = s[0] / 1e6
        ok = {t: [x for x in r[t] if x] for t in r}
        row(s, "exit delay, no tool (s)",
            [x["delay"] for x in ok["none"]], "%.3f")
        row(s, "exit delay, full mode: final snapshot and scan (s)",
            [x["delay"] for x in ok["leakspy"]], "%.3f")
        pairs = list(zip(r["none"], r["leakspy"]))
        row(s, "exit delay added by full mode (s; pairs of one round)",
            [b and x and x["delay"] - b["delay"] for b, x in pairs], "%.3f")
        row(s, "exit delay, sampled 1m: no scan (s)",
            [x["delay"] for x in ok["sampled"]], "%.3f")
        row(s, "RSS before exit, no tool (MiB)",
            [x["rss"] / 1024 for x in ok["none"]], "%.0f")
        row(s, "RSS before exit, full mode (MiB)",
            [x["rss"] / 1024 for x in ok["leakspy"]], "%.0f")
        row(s, "final scan: peak RSS over VmHWM before exit (MiB)",
            [(x["peak"] - x["hwm"]) / 1024 for x in ok["leakspy"]], "%.1f")
        row(s, "... per million blocks (MiB)",
            [(x["peak"] - x["hwm"]) / 1024 / mblocks for x in ok["leakspy"]],
            "%.1f")
        p = ok["pause"]
        row(s, "running scan: worst pair from the signal to the clone "
            "seen (ms)", [x["pause"] * 1e3 for x in p], "%.1f")
        row(s, "... per GiB of heap (ms)",
            [x["pause"] * 1e3 / gib for x in p], "%.1f")
        row(s, "... its start, after the signal (ms)",
            [x["pause_at"] * 1e3 for x in p], "%.0f")
        row(s, "... the clone first seen, after the signal (ms)",
            [x.get("clone_at") and x["clone_at"] * 1e3 for x in p], "%.0f")
        row(s, "worst pair from the clone seen to the snapshot written "
            "(ms)", [x["after"] * 1e3 for x in p], "%.1f")
        row(s, "worst pair in the rest of the run (ms)",
            [x["rest"] * 1e3 for x in p], "%.2f")
        row(s, "running scan: signal to snapshot written (s)",
            [x["time"] for x in p], "%.2f")
        row(s, "... the clone's life as polled (s)",
            [x.get("clone_life") for x in p], "%.2f")
        row(s, "... the clone's CPU time, as last polled (s)",
            [x.get("cpu") for x in p], "%.2f")
        row(s, "clone: peak RssAnon over the program's (MiB)",
            [x.get("anon") and x["anon"] / 1024 for x in p], "%.1f")
        row(s, "... per million blocks (MiB)",
            [x.get("anon") and x["anon"] / 1024 / mblocks for x in p],
            "%.1f")
        row(s, "clone: peak VmHWM over the program's VmRSS (MiB)",
            [x.get("hwm") and x["hwm"] / 1024 for x in p], "%.1f")
        row(s, "clone: peak RssShmem, its records (MiB)",
            [x["shmem"] / 1024 if "shmem" in x else None for x in p], "%.2f")
        lines.append("| %s | running scans that wrote their records | "
                     "%d of %d | |" % (heap_name(s),
                                      sum(1 for x in p if x["done"]),
                                      len(r["pause"])))
    return lines


def section(res, argv, when, load):
    """RESULTS.md's "Heap scan" section."""
    return ("## Heap scan\n\n"
            "Generated by `tests/bench/run%s` on %s, %d rounds, the "
            "machine's load average %.1f at the start (its `scan` workload, "
            "tests/bench/scan.py; the program is tests/bench/scanheap.c, "
            "a sixteenth of its blocks lost, the rest reachable from one "
            "array, each block pointing to the one before).  Exit delay: "
            "from the program's CLOCK_MONOTONIC stamp right before main "
            "returns to wait4()'s return in the script, with "
            "LEAKSPY_INTERVAL=0 LEAKSPY_SCAN=0 (the final snapshot's scan "
            "is the only one).  Running scan: LEAKSPY_SIGNAL=USR2 "
            "LEAKSPY_SCAN=1000000 LEAKSPY_SCAN_GROWTH=0 LEAKSPY_INTERVAL=0 "
            "and one USR2 sent while the program times free+malloc pairs; "
            "the clone's figures are polled every millisecond, so they "
            "are at most what it held.  By hand: "
            "`build/tests/scanheap 1048576 1024 exit` (or `pause`) under "
            "the settings above.\n\n" % (
                " " + " ".join(argv) if argv else "", when,
                len(next(iter(res.values()))["pause"]), load)
            + "\n".join(rows(res)) + "\n")


def kept_section(text):
    """text's "## Heap scan" section, or None."""
    start = text.find("\n## Heap scan\n")
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    return text[start + 1:end if end >= 0 else len(text)].rstrip("\n") + "\n"


def splice(text, body):
    """text with its "## Heap scan" section replaced by body, or body
    put before "## History" (or at the end)."""
    start = text.find("\n## Heap scan\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        return text[:start + 1] + body + (text[end:] if end >= 0 else "")
    hist = text.find("\n## History\n")
    if hist >= 0:
        return text[:hist + 1] + body + text[hist:]
    return text.rstrip("\n") + "\n\n" + body
