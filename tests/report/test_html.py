#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report --format html, loaded in headless chromium with the
network cut off (tests/lib/chromium.py): the page draws with no error,
no console message and no connection, and what it shows (the totals, the
chart's bands and scans, the table, a site's figures and chain, the
flame graph live at a snapshot and of a window, the gate's findings) is
exactly what the JSON and the text report say.  Without chromium the
tests skip.  Usage: test_html.py TEST"""

import html.parser
import json
import os
import re
import subprocess
import sys
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import chromium  # noqa: E402

DEMO = os.path.join(BUILD, "tools", "leakspy-demo")
# A flame graph draws the nodes at least a pixel wide: those of at least
# this share of the root are always drawn.
DRAWN = 0.01
SHOT = (1280, 800)

# --- The DOM chromium dumped ---------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}


class El:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.kids = []

    def text(self):
        return "".join(k if isinstance(k, str) else k.text()
                       for k in self.kids)

    def walk(self):
        for k in self.kids:
            if isinstance(k, El):
                yield k
                yield from k.walk()

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def all(self, tag=None, cls=None, **attrs):
        """Descendants in document order with that tag, class and
        attributes (data_site="3" for data-site)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.walk()
                if (tag is None or e.tag == tag) and
                (cls is None or cls in e.classes()) and
                all(e.attrs.get(k) == v for k, v in want.items())]

    def one(self, tag=None, cls=None, **attrs):
        found = self.all(tag, cls, **attrs)
        if len(found) != 1:
            raise Fail("want one <%s class=%s %r>, found %d" %
                       (tag, cls, attrs, len(found)))
        return found[0]

    def by_id(self, i):
        return self.one(id=i)

    def attr(self, name):
        if name not in self.attrs:
            raise Fail("<%s id=%s> has no %s" % (self.tag,
                                                 self.attrs.get("id"), name))
        return self.attrs[name]

    def num(self, name):
        return int(self.attr(name))


class Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.doc = El("#document", {}, None)
        self.cur = self.doc

    def handle_starttag(self, tag, attrs):
        e = El(tag, attrs, self.cur)
        self.cur.kids.append(e)
        if tag not in VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(El(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        e = self.cur
        while e is not self.doc and e.tag != tag:
            e = e.parent
        if e is not self.doc:
            self.cur = e.parent

    def handle_data(self, data):
        self.cur.kids.append(data)


def parse(dom):
    p = Parser()
    p.feed(dom)
    p.close()
    return p.doc


# --- Making and loading pages ----------------------------------------------

def html_page(dump, *args, want_rc=0, name="page.html"):
    """leakspy-report ARGS -f html -o PAGE DUMP, in the dump's directory:
    the page's path."""
    out = os.path.join(os.path.dirname(dump), name)
    p = subprocess.run([REPORT] + list(args) + ["-f", "html", "-o", out,
                                                 dump],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, want_rc, "leakspy-report %s -f html: exit status "
       "(stderr: %s)" % (" ".join(args), p.stderr.decode(errors="replace")))
    eq(p.stdout, b"", "standard output with -o")
    return out


def load(page, fragment=""):
    """The page's DOM once it has drawn, as chromium leaves it: it drew
    (data-ready), with no error, console message or connection."""
    dom, console, seen = chromium.load(page, fragment)
    eq(console, [], "console messages of %s#%s" % (page, fragment))
    eq(seen, [], "connections from %s#%s" % (page, fragment))
    doc = parse(dom)
    csp = doc.one("meta", http_equiv="Content-Security-Policy")
    check("default-src 'none'" in [d.strip() for d in
                                     csp.attr("content").split(";")],
          "the page's CSP lets nothing load by default: %r" %
          csp.attrs.get("content"))
    root = doc.one("html")
    eq((root.attrs.get("data-ready"), root.attrs.get("data-errors")),
       ("1", "0"), "the page drew, without errors: data-ready, data-errors")
    check(re.match(r"^\d+(\.\d+)?$", root.attr("data-render-ms")),
          "data-render-ms: %r" % root.attrs["data-render-ms"])
    return doc


# --- What the report says ---------------------------------------------------

def scans_of(dump, upto):
    """The snapshots with a heap scan, up to snapshot upto: the JSON at
    a snapshot has the latest scan up to it."""
    found, k = [], upto
    while k >= 0:
        sc = report(dump, "--snapshot", str(k)).get("scan")
        if not sc:
            break
        check(sc["snapshot"] <= k, "the scan at #%d is of #%d" %
              (k, sc["snapshot"]))
        found.append(sc["snapshot"])
        k = sc["snapshot"] - 1
    return sorted(found)


SITE_LINE = re.compile(r"^ +(\d+) +(\d+)  (\S.*)$")


def text_chains(dump, *args):
    """Each site's "retained by:" words in the text report, in its
    order (it lists the sites as the JSON does): [(live bytes, blocks,
    the words or "")]."""
    out, _ = report_text(dump, "--top", "0", *args)
    sites = []
    for line in out.splitlines():
        m = SITE_LINE.match(line)
        if m:
            sites.append([int(m.group(1)), int(m.group(2)), ""])
        elif line.startswith("        retained by: ") and sites:
            sites[-1][2] = line[len("        retained by: "):]
    return [tuple(s) for s in sites]


def base(path):
    return os.path.basename(path) if path else path


def frame_name(f):
    """A frame as the page names it: its function, else module+offset."""
    return f["function"] or "%s+%s" % (base(f["module"]), f["offset"])


def frame_loc(f):
    return "%s:%d" % (base(f["file"]), f["line"]) if f["file"] else ""


def flame_nodes(sites, key):
    """The flame graph's nodes, root first, of sites weighted by key(site)
    = (bytes, blocks): {(depth, name): [(bytes, blocks), ...]} (a name at
    a depth under different parents is several nodes), the root, and
    {path: (bytes, blocks)}."""
    tree, root = {}, [0, 0]
    for s in sites:
        w = key(s)
        if w == (0, 0):
            continue
        path = flame_path(s)
        root[0] += w[0]
        root[1] += w[1]
        for d in range(1, len(path) + 1):
            n = tree.setdefault(tuple(path[:d]), [0, 0])
            n[0] += w[0]
            n[1] += w[1]
    nodes = {}
    for path, (b, k) in tree.items():
        nodes.setdefault((len(path), path[-1]), []).append((b, k))
    return nodes, tuple(root), {p: tuple(w) for p, w in tree.items()}


def flame_path(s):
    """Site s's path in the flame graph, from below the root."""
    return (["[truncated]"] if s["truncated"] else []) + \
        [frame_name(f) for f in reversed(s["frames"])]


def check_flame(doc, sites, key, mode, snap, frm, what):
    """#flame in mode at snap (from frm): its root is the sum of sites
    weighted by key, each node it draws is one of theirs, and every one
    of theirs of at least DRAWN of the root is drawn; the biggest site's
    first function is drawn with its bytes."""
    fl = doc.by_id("flame")
    nodes, root, tree = flame_nodes(sites, key)
    eq((fl.attr("data-mode"), fl.num("data-snap"), fl.attr("data-from"),
        fl.num("data-total")), (mode, snap, frm, root[0]),
       what + ": #flame's mode, snapshot, from and total")
    drawn = [(e.num("data-depth"), e.attr("data-name"), e.num("data-bytes"),
              e.num("data-blocks")) for e in fl.all("div", "node")]
    eq([d for d in drawn if d[0] == 0], [(0, "all") + root],
       what + ": the root node")
    for d, name, b, k in drawn:
        if d > 0:
            check((b, k) in nodes.get((d, name), []),
                  "%s: node %s at depth %d of %d bytes in %d blocks: the "
                  "report has %r" % (what, name, d, b, k,
                                     nodes.get((d, name))))
    for (d, name), ws in nodes.items():
        big = sorted(w for w in ws if w[0] >= DRAWN * root[0])
        got = sorted((b, k) for dd, n, b, k in drawn if (dd, n) == (d, name))
        check(all(w in got for w in big), "%s: %s at depth %d: %r drawn, "
              "want %r among them" % (what, name, d, got, big))
    path = tuple(flame_path(max(sites, key=lambda s: key(s)[0])))
    node = (len(path), path[-1]) + tree[path]
    check(node in drawn, "%s: the node of %s, the biggest site's: %r drawn, "
          "want %r" % (what, path[-1], [d for d in drawn
                                         if d[:2] == node[:2]], node))
    return root


def check_header(doc, rep, what):
    t = doc.by_id("total-live")
    eq((t.num("data-bytes"), t.num("data-blocks")),
       (rep["totals"]["live_bytes"], rep["totals"]["live_blocks"]),
       what + ": #total-live")


def check_chart(doc, rep, scans, cursor, what):
    """The chart's bands (the first eight sites and the rest) at the
    report's snapshot, a mark at each scan, the cursor at cursor."""
    ch = doc.one("svg", id="chart")
    eq(ch.num("data-snaps"), rep["snapshot"]["index"] + 1,
       what + ": data-snaps")
    sites = rep["sites"]
    n = min(8, len(sites))
    got = [(b.attr("data-site"), b.num("data-bytes"))
           for b in ch.all("path", "band")]
    want = [(str(i), sites[i]["live_bytes"]) for i in range(n)] + \
        [("other", rep["totals"]["live_bytes"] -
          sum(s["live_bytes"] for s in sites[:n]))]
    eq(got, want, what + ": the chart's bands (site, bytes)")
    eq([ln.num("data-snap") for ln in ch.all("line", "scan")], scans,
       what + ": the scans marked")
    eq(ch.one("line", id="cursor").num("data-snap"), cursor,
       what + ": the cursor's snapshot")


def check_table(doc, rep, order, what):
    """The table's rows in order, each with the JSON's figures."""
    rows = doc.one("table", id="sites").one("tbody").all("tr")
    eq([int(r.attr("data-site")) for r in rows], order[:100],
       what + ": the rows' sites, in order")
    for r in rows:
        i = int(r.attr("data-site"))
        s = rep["sites"][i]
        f = s["frames"][0]
        g = s["growth"]
        rate = r.one("td", "rate").attr("data-rate")
        eq((r.one("td", "name").text(), r.one("td", "live").num("data-bytes"),
            r.one("td", "blocks").num("data-blocks"),
            float(rate) if rate else None,
            r.one("td", "peak").num("data-bytes"),
            r.one("td", "verdict").text()),
           ((frame_name(f) + " " + frame_loc(f)).strip(), s["live_bytes"],
            s["live_blocks"], g["bytes_per_second"]
            if g["verdict"] == "growing" else None, s["peak_bytes"],
            g["verdict"]), what + ": row of site %d (name, live bytes, "
           "blocks, rate, peak, verdict)" % i)
        r.one("svg", "spark")


REACH = (("definite", "definitely_lost"), ("indirect", "indirectly_lost"),
         ("interior", "interior_only"), ("reachable", "reachable"))


def check_site(doc, rep, i, chain, what):
    """Site i's detail: its name, stack, ages, reach and chain."""
    s = rep["sites"][i]
    sec = doc.one("section", id="site")
    eq(sec.num("data-site"), i, what + ": the site shown")
    eq(doc.by_id("site-name").text(), "Site #%d: %s" %
       (i + 1, frame_name(s["frames"][0])), what + ": #site-name")
    eq([(li.one("span", "fn").text(), li.one("span", "loc").text(),
         li.one("span", "mod").text())
        for li in doc.one("ol", id="stack").all("li")],
       [(frame_name(f), frame_loc(f), base(f["module"]) or "")
        for f in s["frames"]], what + ": the stack (function, place, module)")
    ages = doc.all(id="ages")
    eq(tuple(float(a.attr("data-" + k)) for a in ages
             for k in ("median", "p90", "oldest")),
       (s["age"]["median_s"], s["age"]["p90_s"], s["age"]["oldest_s"])
       if s["age"] else (), what + ": #ages (none without live blocks)")
    reach = doc.all(id="reach")
    eq([r.num("data-%s-bytes" % k) for r in reach for k, _ in REACH],
       [s["reach"][j]["bytes"] for _, j in REACH] if s["reach"] else [],
       what + ": #reach (none without a scan)")
    eq(doc.by_id("chain").text(), chain, what + ": #chain")


def check_chains(rep, chains, what):
    eq([c[:2] for c in chains], [(s["live_bytes"], s["live_blocks"])
                                 for s in rep["sites"]],
       what + ": the text report lists the JSON's sites")


def live_at(s):
    return (s["live_bytes"], s["live_blocks"])


def new_in(s):
    return (s["diff"]["new_bytes"], s["diff"]["new_blocks"])


def matched(sites, q):
    """Bytes of the sites with a function that contains q (any case)."""
    return sum(s["live_bytes"] for s in sites
               if any(q.lower() in frame_name(f).lower()
                      for f in s["frames"]))


def check_report_page(dump, page, rep, scans, chains, what):
    """The page as it opens: the report's snapshot, site 0, live."""
    doc = load(page)
    snap = rep["snapshot"]["index"]
    check_header(doc, rep, what)
    check_chart(doc, rep, scans, snap, what)
    check_table(doc, rep, list(range(len(rep["sites"]))), what)
    check_site(doc, rep, 0, chains[0][2], what)
    check_flame(doc, rep["sites"], live_at, "live", snap, "", what)
    return doc


def nearest(doc, asked, rep, what):
    """The snapshot the flame graph picked for snapshot asked: asked
    itself when the report has at most 64 snapshots, else one of 64
    evenly spaced ones, so at most half their spacing away."""
    got = doc.by_id("flame").num("data-snap")
    n = rep["snapshot"]["index"] + 1
    if n <= 64:
        eq(got, asked, what + ": the flame graph's snapshot")
    else:
        check(abs(got - asked) <= (n - 1) / 63 / 2 + 0.5,
              "%s: the flame graph at #%d for #%d, of %d snapshots" %
              (what, got, asked, n))
    return got


def check_picked(dump, page, rep, scans, chains, site, snap, frm, what):
    """With the fragment: another site, the table sorted by live bytes,
    the flame graph live at snapshot snap (or the nearest it has) with
    a search, then of the window from frm."""
    q = frame_name(rep["sites"][site]["frames"][0])
    doc = load(page, "site=%d&snap=%d&q=%s&sort=live" % (site, snap, q))
    snap = nearest(doc, snap, rep, what)
    at = report(dump, "--snapshot", str(snap))
    w = "%s at #%d" % (what, snap)
    check_site(doc, rep, site, chains[site][2], w)
    check_chart(doc, rep, scans, snap, w)
    check_table(doc, rep, sorted(range(len(rep["sites"])), key=lambda i: (
        -rep["sites"][i]["live_bytes"], i)), w + ", sorted by live bytes")
    root = check_flame(doc, at["sites"], live_at, "live", snap, "", w)
    eq(root, (at["totals"]["live_bytes"], at["totals"]["live_blocks"]),
       w + ": the flame graph's root against the JSON's totals")
    eq(doc.by_id("flame-match").num("data-bytes"), matched(at["sites"], q),
       w + ": #flame-match of %r" % q)
    last = rep["snapshot"]["index"]
    doc = load(page, "site=%d&flame=diff&from=%d" % (site, frm))
    got = doc.by_id("flame").attr("data-from")
    check(re.match(r"^\d+$", got), what + ": data-from %r" % got)
    if last + 1 <= 64:
        eq(int(got), frm, what + ": the window's first snapshot")
    else:
        check(abs(int(got) - frm) <= last / 63 / 2 + 0.5, "%s: the window "
              "from #%s for #%d, of %d snapshots" % (what, got, frm, last + 1))
    frm = int(got)
    d = report(dump, "--diff", "%d..%d" % (frm, last))
    w = "%s, diff from #%d" % (what, frm)
    root = check_flame(doc, d["sites"], new_in, "diff", last, str(frm), w)
    eq(root[0], d["diff"]["new_bytes"], w + ": the root against the JSON's "
       "new_bytes")
    check_site(doc, rep, site, chains[site][2], w)


SORTS = {
    "rate": lambda s: (-s["growth"]["bytes_per_second"]
                       if s["growth"]["verdict"] == "growing"
                       else float("inf"),),
    "peak": lambda s: (-s["peak_bytes"],),
    "blocks": lambda s: (-s["live_blocks"],),
}


def check_sorts(page, rep, what):
    """The table sorted by growth rate (the growing sites, fastest first,
    then the others in the report's order), by peak and by live blocks,
    ties in the report's order; the orders by peak and blocks are not
    the report's."""
    for how, key in SORTS.items():
        doc = load(page, "sort=" + how)
        want = sorted(range(len(rep["sites"])), key=lambda i: (
            key(rep["sites"][i]), i))
        check(how == "rate" or want != list(range(len(want))),
              "%s: the order by %s is not the report's: %r" %
              (what, how, want))
        check_table(doc, rep, want, "%s, sorted by %s" % (what, how))
        eq([th.attr("data-sort") for th in doc.by_id("sites").all("th")
            if "sorted" in th.attrs.get("class", "").split()], [how],
           "%s: the column marked as sorted" % what)


def check_zoom(page, rep, what):
    """The flame graph zoomed, from the fragment, on a node of the
    biggest site's path (the deepest one with more than one callee): the
    root and the nodes above it as ancestors, the node itself the whole
    width, and below it only its own callees, each of at least DRAWN of
    it drawn."""
    nodes, root, tree = flame_nodes(rep["sites"], live_at)
    path = flame_path(max(rep["sites"], key=lambda s: s["live_bytes"]))
    check(len(path) >= 3, "%s: the biggest site's path: %r" % (what, path))
    k = max([d for d in range(2, len(path))
             if sum(1 for p in tree if len(p) == d + 1 and
                    p[:d] == tuple(path[:d])) > 1] or [2])
    at = tuple(path[:k])
    doc = load(page, "zoom=" + ";".join(quote(p, safe="") for p in at))
    fl = doc.by_id("flame")
    eq(fl.attr("data-zoom"), ";".join(at), what + ": #flame's data-zoom")
    drawn = fl.all("div", "node")
    eq([(e.num("data-depth"), e.attr("data-name"), e.num("data-bytes"))
        for e in drawn if "ancestor" in e.attr("class").split()],
       [(0, "all", root[0])] + [(d, at[d - 1], tree[at[:d]][0])
                                for d in range(1, k)],
       what + ": the zoomed graph's ancestors")
    below = [e for e in drawn if "ancestor" not in e.attr("class").split()]
    top = below[0]
    eq((top.num("data-depth"), top.attr("data-name"), top.num("data-bytes"),
        top.num("data-blocks"), top.attr("style").split("width:")[1]
        .split(";")[0].strip()), (k, at[-1]) + tree[at] + ("100%",),
       what + ": the zoomed node (depth, name, bytes, blocks, width)")
    for e in below:
        p = tuple(e.attr("data-path").split(";"))
        check(p[:k] == at and tree.get(p) == (e.num("data-bytes"),
                                              e.num("data-blocks")),
              "%s: node %r under the zoomed one, with the report's bytes "
              "and blocks %r" % (what, p, tree.get(p)))
    got = {tuple(e.attr("data-path").split(";")) for e in below}
    want = {p for p, (b, n) in tree.items()
            if p[:k] == at and len(p) == k + 1 and b >= DRAWN * tree[at][0]}
    check(len(want) > 1 or k == 2, "%s: callees of %r: %r" % (what, at, want))
    check(want <= got, "%s: the zoomed node's callees drawn: %r, want %r" %
          (what, sorted(got), sorted(want)))


def shot_of(page, what):
    """The page's screenshot: SHOT's size, and bigger than a blank
    page's."""
    tmp = tmpdir()
    blank = os.path.join(tmp, "blank.html")
    with open(blank, "w") as f:
        f.write("<!DOCTYPE html><html><body></body></html>\n")
    sizes = []
    for p in (blank, page):
        w, h, n, console, seen = chromium.screenshot(
            p, os.path.join(tmp, os.path.basename(p) + ".png"), *SHOT)
        eq((w, h, console, seen), SHOT + ([], []),
           what + ": the screenshot of %s: its size, console, connections"
           % os.path.basename(p))
        sizes.append(n)
    check(sizes[1] > 2 * sizes[0], "%s: the page's PNG (%d bytes) against a "
          "blank page's (%d)" % (what, sizes[1], sizes[0]))


# --- The tests --------------------------------------------------------------

def by_fn(rep, fn):
    found = [i for i, s in enumerate(rep["sites"])
             if s["frames"] and s["frames"][0]["function"] == fn]
    check(found, "a site of %s: %r" % (fn, [s["frames"][0]["function"]
                                           for s in rep["sites"]]))
    return found[0]


def test_html_demo():
    """The demo's page, as it opens and with another site, a snapshot and
    the window picked in its fragment; its screenshot."""
    chromium.binary()
    r = run([LAUNCHER, "-i", "0.5", "-o", "demo.lsd", "--", DEMO],
            preload=False, want_rc=0, timeout=60)
    dump = one_dump(r)
    rep = report(dump)
    n = rep["snapshots"]
    check(n >= 5, "snapshots: %d" % n)
    scans = scans_of(dump, n - 1)
    check(len(scans) >= 2, "scans while it ran and at exit: %r" % scans)
    chains = text_chains(dump)
    check_chains(rep, chains, "demo")
    fetch = by_fn(rep, "fetch_result")
    eq(rep["sites"][fetch]["growth"]["verdict"], "growing",
       "fetch_result's verdict")
    check(chains[fetch][2].startswith("command_new ("),
          "fetch_result's chain: %r" % chains[fetch][2])
    page = html_page(dump)
    check_report_page(dump, page, rep, scans, chains, "demo")
    reg = by_fn(rep, "register_cancel")
    check_picked(dump, page, rep, scans, chains, reg, n // 2, 1, "demo")
    check_zoom(page, rep, "demo")
    shot_of(page, "demo")


def test_html_big():
    """The page of a dump of 10,000 sites, all changing, and at least
    1,000 snapshots (tests/bench/manysites, 50 a second asked for 35 s,
    which a loaded machine's 2 cores write at 40 a second or more; the
    bench's html row measures its times): its size within the 12 MiB
    that leakspy-report(1) allows it, and it draws: the totals, the
    table's first page of 100 rows of 10,001 sites, the chart's
    snapshots and the flame graph's root are the JSON's."""
    chromium.binary()
    r = run([os.path.join(BUILD, "tests", "manysites"), "10000", "35"],
            env={"LEAKSPY_INTERVAL": "0.02"}, want_rc=0, timeout=120)
    dump = one_dump(r)
    rep = report(dump, "-n", "0")
    n = rep["snapshots"]
    check(n >= 1000, "snapshots: %d (50 a second asked for 35 s)" % n)
    eq(rep["totals"]["sites"], 10001, "sites")
    page = html_page(dump)
    size = os.path.getsize(page)
    check(size <= 12 << 20, "the page's size: %d bytes (at most 12 MiB)" %
          size)
    doc = load(page)
    eq(doc.by_id("total-live").num("data-bytes"),
       rep["totals"]["live_bytes"], "live bytes")
    eq(doc.by_id("chart").num("data-snaps"), n, "the chart's snapshots")
    rows = doc.by_id("sites").all("tr", cls=None)
    body = [t for t in rows if "data-site" in t.attrs]
    eq(len(body), 100, "rows on the table's first page")
    check("of 10001" in doc.by_id("sites-page").text(),
          "the pager: %r" % doc.by_id("sites-page").text())
    flame = doc.by_id("flame")
    eq(flame.num("data-total"), rep["totals"]["live_bytes"],
       "the flame graph's root")


def seed2_dump():
    """pattern seed2 for 3 s, 50 snapshots a second: more than the 64 the
    flame graph can be drawn at."""
    r = run([victim("pattern"), "seed2", "3"],
            env={"LEAKSPY_INTERVAL": "0.02"}, want_rc=0)
    return one_dump(r)


def test_html_seed():
    """pattern seed2: its page at exit (fetch_result released: no chain)
    and at the last heap scan while it ran, where fetch_result grows
    and its chain holds it; the flame graph at the snapshot nearest the
    one asked for, of more than 64."""
    chromium.binary()
    dump = seed2_dump()
    rep = report(dump)
    n = rep["snapshots"]
    scans = scans_of(dump, n - 1)
    running = [k for k in scans if k < n - 1]
    check(running, "a heap scan while it ran: %r" % scans)
    chains = text_chains(dump)
    check_chains(rep, chains, "seed2")
    fetch = by_fn(rep, "fetch_result")
    eq((rep["sites"][fetch]["live_bytes"], chains[fetch][2]), (0, ""),
       "fetch_result at exit: released, no chain")
    page = html_page(dump)
    check_report_page(dump, page, rep, scans, chains, "seed2 at exit")
    k = running[-1]
    rep = report(dump, "--snapshot", str(k))
    chains = text_chains(dump, "--snapshot", str(k))
    check_chains(rep, chains, "seed2 at #%d" % k)
    fetch = by_fn(rep, "fetch_result")
    eq(rep["sites"][fetch]["growth"]["verdict"], "growing",
       "fetch_result's verdict at #%d" % k)
    check(chains[fetch][2], "fetch_result's chain at #%d" % k)
    page = html_page(dump, "--snapshot", str(k), name="at.html")
    scans = [s for s in scans if s <= k]
    check_report_page(dump, page, rep, scans, chains, "seed2 at #%d" % k)
    check(k + 1 > 64, "more than 64 snapshots up to #%d" % k)
    check_picked(dump, page, rep, scans, chains, fetch, k // 2, k // 3,
                 "seed2 at #%d" % k)


def test_html_sorts():
    """pattern mixed: a sawtooth whose peak is above its live bytes, a
    cache, a steady leak and a faster late one; its table sorted by rate,
    peak and blocks from the fragment."""
    chromium.binary()
    r = run([victim("pattern"), "mixed", "3"],
            env={"LEAKSPY_INTERVAL": "0.1"}, want_rc=0)
    dump = one_dump(r)
    rep = report(dump)
    eq(sorted((frame_name(s["frames"][0]), s["growth"]["verdict"])
              for s in rep["sites"]),
       [("batch_add", "sawtooth"), ("cache_insert", "plateau"),
        ("get_buffer", "growing"), ("late_keep", "growing")],
       "the sites and their verdicts")
    check_sorts(html_page(dump), rep, "mixed")


def test_html_check():
    """--check -f html: the page's findings are --check -f json's, in
    order, and its exit status is the gate's."""
    chromium.binary()
    r = run([victim("pattern"), "seed1", "2.2"],
            env={"LEAKSPY_INTERVAL": "0.2"}, want_rc=0)
    dump = one_dump(r)
    p = subprocess.run([REPORT, "--check", "-f", "json", dump],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 1, "--check -f json: exit status")
    c = json.loads(p.stdout)["check"]
    want = [(f["kind"], f["bytes"], f["blocks"]) for f in c["findings"]]
    check({"definite", "indirect", "growth"} <= {w[0] for w in want},
          "lost and growing: %r" % want)
    page = html_page(dump, "--check", want_rc=1)
    doc = load(page)
    fs = doc.one("section", id="findings")
    eq(fs.num("data-exit"), 1, "#findings' data-exit")
    eq([(li.attr("data-kind"), li.num("data-bytes"), li.num("data-blocks"))
        for li in fs.all("li", "finding")], want,
       "the findings (kind, bytes, blocks)")


def test_html_usage():
    """-f html wants -o on a terminal (to a pipe the page goes to
    standard output), and one dump, with --check too: usage errors (exit
    2) with their message, and nothing written."""
    dump = one_dump(run([victim("tidy")], want_rc=0))
    for args in (["-f", "html"], ["--check", "-f", "html"]):
        master, slave = os.openpty()
        try:
            p = subprocess.run([REPORT] + args + [dump], stdout=slave,
                               stderr=subprocess.PIPE, timeout=TIMEOUT)
        finally:
            os.close(slave)
        os.close(master)
        eq(p.returncode, 2, "%s to a terminal: exit status" % " ".join(args))
        check("is not for a terminal" in p.stderr.decode(),
              "says why: %r" % p.stderr)
        p = subprocess.run([REPORT] + args + [dump], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq((p.returncode, p.stdout[:15]), (0, b"<!DOCTYPE html>"),
           "%s to a pipe: exit status, output" % " ".join(args))
    out = os.path.join(tmpdir(), "page.html")
    for args, word in ((["-f", "html", "-o", out, dump, dump],
                        "reads one dump, not 2"),
                       (["--check", "-f", "html", "-o", out, dump, dump],
                        "reads one dump, not 2")):
        p = subprocess.run([REPORT] + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq((p.returncode, p.stdout), (2, b""), "%s: exit status, output" %
           " ".join(args[:-3]))
        check(word in p.stderr.decode(), "%r says %r: %r" %
              (args[:-3], word, p.stderr))
        check(not os.path.exists(out), "%r wrote nothing" % args[:-3])


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
