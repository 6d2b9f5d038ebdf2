# SPDX-License-Identifier: MIT
"""The html part of tests/bench/run (workload `html`): leakspy-report
--format html on a big dump, a dump of tests/bench/manysites with
SITES sites all changing and about 1,000 snapshots.  The row gives
chromium --dump-dom's wall time on the page over its wall time on an
empty page; its note the page's size, the time leakspy-report takes to
write it and the time the page says it took to draw (data-render-ms).
The module's name shadows the standard library's html package for run,
which does not use it.
"""

import json
import os
import re
import subprocess
import sys
import time

from stats import med, median_ci

SITES = 10000
INTERVAL = 0.025        # s between snapshots: 40 a second


def make_dump(build, env_for, fresh_dir, scale):
    """A dump of tests/bench/manysites, SITES sites, a snapshot every
    INTERVAL s for 25 s (1,000 snapshots; a quarter with --quick, scale
    0.25): (path, snapshots, sites)."""
    out = fresh_dir()
    env, _ = env_for("leakspy", out)
    env["LEAKSPY_INTERVAL"] = str(INTERVAL)
    subprocess.run([os.path.join(build, "tests", "manysites"),
                    str(SITES), str(25 * scale)], env=env, cwd=out,
                   check=True, stdout=subprocess.DEVNULL)
    dump = [os.path.join(out, f) for f in os.listdir(out)
            if f.endswith(".lsd")][0]
    p = subprocess.run([report_of(build), "-f", "json", "-n", "1", dump],
                       check=True, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    rep = json.loads(p.stdout)
    return dump, rep["snapshots"], rep["totals"]["sites"]


def report_of(build):
    return os.path.join(build, "tools", "leakspy-report")


def row(build, env_for, fresh_dir, rounds, scale):
    """The html row of the table, or None if chromium is missing: the
    median over the rounds of chromium's wall time on the page over its
    wall time on an empty page (paired, in alternating order) and its
    interval; in the note the page's size and the medians of the time to
    write it, of data-render-ms and of chromium's wall times.  env_for
    and fresh_dir are run's tool_env and fresh_dir."""
    import chromium
    import lstest
    try:
        chromium.binary()
    except lstest.Skip as ex:
        print("note: %s: html skipped" % ex)
        return None
    report = report_of(build)
    dump, nsnap, nsites = make_dump(build, env_for, fresh_dir, scale)
    page = os.path.join(os.path.dirname(dump), "page.html")
    empty = os.path.join(os.path.dirname(dump), "empty.html")
    with open(empty, "w") as f:
        f.write("<!DOCTYPE html><html><body></body></html>\n")
    write, render, wall, base = [], [], [], []
    for rnd in range(rounds):
        os.sync()
        time.sleep(0.5)
        t0 = time.monotonic()
        subprocess.run([report, "-f", "html", "-o", page, dump], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        write.append(time.monotonic() - t0)
        for p in ([empty, page] if rnd % 2 == 0 else [page, empty]):
            os.sync()
            time.sleep(0.5)
            dom, console, seen, took = chromium.load_timed(p, timeout=300)
            if p == empty:
                base.append(took)
                continue
            m = re.search(r"<html[^>]*>", dom)
            attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(0)))
            if (attrs.get("data-ready"), attrs.get("data-errors"), console,
                    seen) != ("1", "0", [], []):
                return ("| html | leakspy-report | %d | | | | | | | the page "
                        "failed: %r, console %r, connections %r |" %
                        (rnd + 1, attrs, console[:3], seen[:3]))
            render.append(float(attrs["data-render-ms"]))
            wall.append(took)
        sys.stderr.write("round %d %-10s %-10s %.3fs wall / %.3fs empty "
                         "page\n" % (rnd + 1, "html", "chromium", wall[-1],
                                     base[-1]))
    ratios = [w / b for w, b in zip(wall, base)]
    lo, hi = median_ci(ratios)
    return ("| html | leakspy-report | %d | %.3f | %.3f–%.3f | %.2f | | | | "
            "page %.1f MiB (%d snapshots of %d sites, dump %.0f MiB), "
            "written in %.2f s, drawn in %.0f ms (data-render-ms); chromium "
            "--dump-dom %.2f s, on an empty page %.2f s |" % (
                len(ratios), med(ratios), lo, hi, min(wall) / min(base),
                os.path.getsize(page) / 2**20, nsnap, nsites,
                os.path.getsize(dump) / 2**20, med(write), med(render),
                med(wall), med(base)))


def splice_row(text, row):
    """text with its table's html row replaced by row, or row added at
    the end of the first table."""
    out, done, in_table = [], False, False
    for line in text.split("\n"):
        if line.startswith("| html |"):
            line, done = row, True
        elif in_table and not line.startswith("|") and not done:
            out.append(row)
            done = True
        in_table = line.startswith("|")
        out.append(line)
    return "\n".join(out)
