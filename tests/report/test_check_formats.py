#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--check's CI formats (JUnit, SARIF, LeakSanitizer's text), written by
tests/unit/check_out from a result built by hand, read back with the
readers CI services use: python3-junitparser, Microsoft's SARIF
validator, the line grammar of a real LeakSanitizer report and the
regular expressions CTest and CodeChecker read it with.  Usage:
test_check_formats.py TEST"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
from cireaders import junitparser, validate  # noqa: E402

CHECK_OUT = os.path.join(BUILD, "tests", "unit", "check_out")
ROOT = "/src/proj"
FFFD = "\ufffd"


def out(fmt, *args, cwd=None):
    p = subprocess.run([CHECK_OUT, fmt] + list(args), cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq((p.returncode, p.stderr.decode(errors="replace")), (0, ""),
       "check_out %s: exit status and stderr" % fmt)
    return p.stdout


def sarif(*args, cwd=None):
    return json.loads(out("sarif", *args, cwd=cwd))


# The stacks check_out builds, innermost first, as (function, file, line).
DEFINITE = [
    ("std::vector<int, std::allocator<int> >::push_back(int const&)",
     "/usr/include/c++/12/bits/stl_vector.h", 1287),
    ("Tree<K&V>::insert(\"key\", 'c')" + FFFD, "/src/proj/lib/tree.cc", 42),
    ("main", "/src/proj/main.c", 7),
    ("__libc_start_call_main", "../sysdeps/nptl/libc_start_call_main.h",
     58),
    (None, None, 0),
]


# SARIF

def test_check_sarif_validates():
    """Zero errors and zero warnings from Microsoft's validator.  It
    reports nothing at all when one of its rules throws (a URI it cannot
    parse does that), so its notes must show that it read every result."""
    data = out("sarif", ROOT)
    found = validate(data)
    bad = [r for r in found if r[0] in ("error", "warning")]
    eq(bad, [], "validator errors and warnings")
    nres = len(json.loads(data)["runs"][0]["results"])
    eq(len([r for r in found if r[1] == "SARIF2002"]), nres,
       "validator notes on each result's message (it read them all)")
    # A log that breaks the rules is caught: the validator works.
    broken = json.loads(data)
    del broken["runs"][0]["results"][0]["message"]
    check(any(r[0] == "error" for r in
              validate(json.dumps(broken).encode())),
          "the validator finds a result without a message")


def test_check_sarif_rules():
    log = sarif(ROOT)
    eq((log["$schema"], log["version"]),
       ("https://json.schemastore.org/sarif-2.1.0.json", "2.1.0"),
       "schema and version")
    eq(len(log["runs"]), 1, "runs")
    run = log["runs"][0]
    drv = run["tool"]["driver"]
    eq(drv["name"], "leakspy", "driver name")
    check(re.match(r"^\d+\.\d+\.\d+$", drv["version"]), "driver version")
    eq([(r["id"], r["name"], r["defaultConfiguration"]["level"])
        for r in drv["rules"]],
       [("LSK001", "DefiniteLeak", "error"),
        ("LSK002", "IndirectLeak", "warning"),
        ("LSK003", "PossibleLeak", "warning"),
        ("LSK004", "ThreadLeak", "warning"),
        ("LSK005", "MemoryGrowth", "error")], "rules")
    for r in drv["rules"]:
        for k in ("shortDescription", "fullDescription", "help"):
            check(r[k]["text"].endswith("."), "%s %s" % (r["id"], k))
    res = run["results"]
    eq([(r["ruleId"], r["ruleIndex"]) for r in res],
       [("LSK001", 0), ("LSK001", 0), ("LSK002", 1), ("LSK002", 1),
        ("LSK004", 3), ("LSK005", 4)], "results' rules")
    eq([r["level"] for r in res],
       ["error", "error", "warning", "warning", "warning", "error"],
       "levels")
    eq(res[0]["message"]["text"],
       "demo: definitely lost: 40 bytes in 1 block, allocated by "
       "operator new(unsigned long), in Tree<K&V>::insert(\"key\", 'c')"
       + FFFD + ".", "first message")
    eq(res[5]["message"]["text"],
       "demo: growth: 5.0 MiB in 300 blocks live, 3.0 MiB more since "
       "2.0 s, at 1.2 MiB/s, allocated by malloc, in cache_put, retained "
       "by cache_put <- global g_cache.", "growth message")
    # Suppressed: shown, with its suppression; the baseline's states.
    eq(res[1]["suppressions"], [{"kind": "external", "status": "accepted",
                                 "justification":
                                 "leak:libfoo.so (supp.txt:3)"}],
       "suppressed result")
    eq([r.get("suppressions") is not None for r in res],
       [False, True, False, False, False, False], "which are suppressed")
    eq([r["baselineState"] for r in res],
       ["new", "new", "new", "unchanged", "new", "new"], "baselineState")
    inv = run["invocations"]
    eq(len(inv), 1, "invocations")
    eq((inv[0]["executionSuccessful"], inv[0]["exitCode"]), (False, 3),
       "invocation")
    eq([(n["level"], n["message"]["text"])
        for n in inv[0]["toolExecutionNotifications"]],
       [("warning", "demo (pid 4242): ended by SIGTERM: memory lost at "
         "exit not judged."),
        ("error", "quiet (pid 77): no verdict: the dump ends before its "
         "final snapshot.")], "notifications")


def phys(loc):
    p = loc.get("physicalLocation")
    if p is None:
        return None
    a = p["artifactLocation"]
    return (a["uri"], a.get("uriBaseId"), p.get("region", {}).get(
        "startLine"))


def test_check_sarif_locations():
    """A result is at its first frame under the source root, relative to
    it; without one at the first frame with a file outside the runtime,
    by an absolute URI; without any, at a logical location only."""
    for root in (ROOT, ROOT + "/", ROOT + "/."):
        run = sarif(root)["runs"][0]
        eq(run["originalUriBaseIds"],
           {"%SRCROOT%": {"uri": "file:///src/proj/"}},
           "originalUriBaseIds for root %s" % root)
        eq([phys(r["locations"][0]) for r in run["results"]],
           [("lib/tree.cc", "%SRCROOT%", 42), ("main.c", "%SRCROOT%", 10),
            ("lib/node.c", "%SRCROOT%", 5), ("config.c", "%SRCROOT%", 30),
            ("pool.c", "%SRCROOT%", 12),
            ("file:///other/place/cache.c", None, 88)],
           "primary locations for root %s" % root)
    # The working directory as the root: nothing is under it.
    tmp = tempfile.mkdtemp(prefix="lst. dir%")
    run = sarif("-", cwd=tmp)["runs"][0]
    enc = "".join(c if re.match(r"[A-Za-z0-9._~/-]", c) else
                  "%%%02X" % ord(c) for c in os.path.realpath(tmp))
    eq(run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
       "file://" + enc + "/", "the working directory as the root")
    os.rmdir(tmp)
    eq(phys(run["results"][0]["locations"][0]),
       ("file:///usr/include/c%2B%2B/12/bits/stl_vector.h", None, 1287),
       "first frame with a file outside the runtime")


def test_check_sarif_stacks():
    """The whole stack, innermost first, as a stack and as a code flow."""
    res = sarif(ROOT)["runs"][0]["results"]
    r = res[0]
    eq(len(r["stacks"]), 1, "stacks")
    frames = [f["location"] for f in r["stacks"][0]["frames"]]
    flow = r["codeFlows"][0]["threadFlows"][0]["locations"]
    eq(len(r["codeFlows"]), 1, "code flows")
    eq(len(r["codeFlows"][0]["threadFlows"]), 1, "thread flows")
    flow = [t["location"] for t in flow]
    eq(flow, frames, "code flow and stack")
    eq([lo["logicalLocations"][0]["fullyQualifiedName"] for lo in frames],
       [f for f, _, _ in DEFINITE[:4]] + ["libc.so.6+0x27285"],
       "frames' functions")
    eq([phys(lo) for lo in frames],
       [("file:///usr/include/c%2B%2B/12/bits/stl_vector.h", None, 1287),
        ("lib/tree.cc", "%SRCROOT%", 42), ("main.c", "%SRCROOT%", 7),
        None, None], "frames' files")
    eq(frames[3]["message"]["text"],
       "../sysdeps/nptl/libc_start_call_main.h:58",
       "a file outside the root and not absolute, by name")
    eq([f.get("module") for f in r["stacks"][0]["frames"]],
       ["/src/proj/build/demo"] * 3 + ["/lib/x86_64-linux-gnu/libc.so.6"]
       * 2, "frames' modules")
    eq([len(x["stacks"][0]["frames"]) for x in res], [5, 2, 3, 2, 2, 2],
       "frames of each result")
    eq([len(x["codeFlows"][0]["threadFlows"][0]["locations"]) for x in res],
       [5, 2, 3, 2, 2, 2], "code flow locations of each result")


def test_check_sarif_fingerprints():
    """Stable from run to run and across line changes; another stack,
    another fingerprint."""
    def prints(*args):
        res = sarif(*args)["runs"][0]["results"]
        return [r["partialFingerprints"]["leakspyStack/v1"] for r in res]

    a, b, alt = prints(ROOT), prints(ROOT), prints(ROOT, "alt")
    eq(a, b, "fingerprints of two runs")
    for fp in a:
        check(re.match(r"^[0-9a-f]{16}$", fp), "fingerprint %r" % fp)
    eq(len(set(a)), len(a), "one fingerprint a stack")
    check(alt[0] != a[0], "another caller, another fingerprint")
    eq(alt[1:], a[1:], "other lines, the same fingerprints")
    eq(prints("/elsewhere"), a, "fingerprints without the root")


# JUnit

def test_check_junit():
    jp = junitparser()
    data = out("junit", ROOT)
    import xml.etree.ElementTree as ET
    ET.fromstring(data)     # well-formed, or this raises
    xml = jp.JUnitXml.fromstring(data.decode())
    suites = list(xml)
    eq(len(suites), 1, "test suites")
    s = suites[0]
    eq((s.name, s.tests, s.failures, s.errors, s.skipped),
       ("leakspy", 2, 1, 1, 0), "suite counts")
    eq((xml.tests, xml.failures, xml.errors), (2, 1, 1), "testsuites counts")
    eq(s.time, 1.75, "suite time")
    cases = list(s)
    eq([(c.name, c.classname, c.time) for c in cases],
       [("demo (pid 4242)", "leakspy.demo", 1.25),
        ("quiet (pid 77)", "leakspy.quiet", 0.5)], "test cases")
    demo, quiet = cases
    eq([(type(r).__name__, r.type, r.message) for r in demo.result],
       [("Failure", "definite", "definitely lost: 40 bytes in 1 block"),
        ("Failure", "indirect", "indirectly lost: 64 bytes in 2 blocks"),
        ("Failure", "thread", "thread leak: thread 3 \"work<er>" + FFFD +
         "\", running, start routine worker_main"),
        ("Failure", "growth", "growth: 5.0 MiB in 300 blocks live, 3.0 MiB "
         "more since 2.0 s, at 1.2 MiB/s")], "demo's failures")
    eq(demo.result[0].text.splitlines(),
       ["#0 std::vector<int, std::allocator<int> >::push_back(int const&) "
        "at /usr/include/c++/12/bits/stl_vector.h:1287 (inlined) [demo]",
        "#1 Tree<K&V>::insert(\"key\", 'c')" + FFFD +
        " at /src/proj/lib/tree.cc:42 [demo]",
        "#2 main at /src/proj/main.c:7 [demo]",
        "#3 __libc_start_call_main at ../sysdeps/nptl/"
        "libc_start_call_main.h:58 [libc.so.6]",
        "#4 ?? [libc.so.6+0x27285]",
        "allocated by operator new(unsigned long)"], "first failure's text")
    for r, frames in zip(demo.result[1:], (3, 2, 2)):
        lines = r.text.splitlines()
        eq([re.sub(r" .*", "", x) for x in lines[:frames]],
           ["#%d" % i for i in range(frames)], "frames of %s" % r.type)
    check("retained by cache_put <- global g_cache" in demo.result[3].text,
          "growth's retainer")
    eq(demo.system_out.splitlines(),
       ["dump: /tmp/leakspy.demo.4242.lsd",
        "command: ./demo --size 3 \"x&y\"",
        "note: ended by SIGTERM: memory lost at exit not judged",
        "failing: 4, suppressed: 1, within the baseline: 1",
        "suppressed: definitely lost: 16 bytes in 1 block by "
        "leak:libfoo.so (supp.txt:3)",
        "within the baseline: indirectly lost: 24 bytes in 1 block "
        "(base.txt:1)"], "demo's system-out")
    eq([(type(r).__name__, r.type, r.message) for r in quiet.result],
       [("Error", "no-verdict", "the dump ends before its final "
         "snapshot")], "quiet's error")


# LeakSanitizer

# LeakSanitizer's lines (sanitizer_common's default stack_trace_format
# "    #%n %p %F %L", lsan_common.cpp's report), by shape.
LSAN = [
    ("blank", r""),
    ("rule", r"={65}"),
    ("error", r"==\d+==ERROR: LeakSanitizer: detected memory leaks"),
    ("leak", r"(Direct|Indirect) leak of \d+ byte\(s\) in \d+ "
     r"object\(s\) allocated from:"),
    ("frame-file", r"    #\d+ 0x[0-9a-f]+ in .+ [^ ]+:\d+(:\d+)?"),
    ("frame-module", r"    #\d+ 0x[0-9a-f]+ in .+ \([^ ]+\+0x[0-9a-f]+\)"
     r"( \(BuildId: [0-9a-f]+\))?"),
    ("frame-bare", r"    #\d+ 0x[0-9a-f]+  \([^ ]+\+0x[0-9a-f]+\)"
     r"( \(BuildId: [0-9a-f]+\))?"),
    ("dashes", r"-{53}"),
    ("supp-head", r"Suppressions used:"),
    ("supp-cols", r"  count      bytes template"),
    ("supp", r"[ \d]{7} [ \d]{10} \S.*"),
    ("summary", r"SUMMARY: LeakSanitizer: \d+ byte\(s\) leaked in \d+ "
     r"allocation\(s\)\."),
]
# leakspy's own lines: what LSan has no words for.
LEAKSPY = ("leakspy", r"==\d+==leakspy: \S.*")


def shape(line, extra=()):
    for name, rx in LSAN + list(extra):
        if re.fullmatch(rx, line):
            return name
    raise Fail("not a LeakSanitizer line: %r" % line)


LEAKER = r"""
#include <stdlib.h>
#include <string.h>
__attribute__((noinline)) static char *keep(size_t n)
{
	char *p = malloc(n);
	memset(p, 1, n);
	return p;
}
__attribute__((noinline)) static void **node(void)
{
	void **n = malloc(4 * sizeof(void *));
	n[0] = keep(24);
	return n;
}
__attribute__((noinline)) static void lose(void)
{
	char *volatile p = keep(7);
	p = NULL;
}
/* Stale copies of the pointers on the stack would keep them reachable
 * for the check at exit, which runs deeper. */
__attribute__((noinline)) static void clobber(void)
{
	volatile char buf[8192];
	memset((char *)buf, 0, sizeof(buf));
}
int main(void)
{
	void *volatile a = node();
	a = NULL;
	lose();
	clobber();
	return 0;
}
"""


def real_lsan():
    """LeakSanitizer's own reports of a small leaking program: one
    symbolized, with one site suppressed, and one not symbolized."""
    cc = shutil.which("clang")
    if cc is None:
        raise Skip("clang is not installed (.ci/run installs it)")
    tmp = tempfile.mkdtemp(prefix="lst.")
    src, exe = os.path.join(tmp, "leaker.c"), os.path.join(tmp, "leaker")
    with open(src, "w") as f:
        f.write(LEAKER)
    with open(os.path.join(tmp, "supp"), "w") as f:
        f.write("leak:node\n")
    p = subprocess.run([cc, "-g", "-O0", "-fsanitize=leak", src, "-o", exe],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    if p.returncode != 0:
        raise Skip("clang cannot build with -fsanitize=leak: %s" %
                   p.stdout.decode(errors="replace")[-500:])
    reports = []
    for opts in ("suppressions=%s" % os.path.join(tmp, "supp"),
                 "symbolize=0"):
        env = dict(os.environ, LSAN_OPTIONS=opts)
        env.pop("LD_PRELOAD", None)
        r = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        eq(r.returncode, 23, "LeakSanitizer's exit status")
        reports.append(r.stderr.decode(errors="replace"))
    shutil.rmtree(tmp)
    return reports


def blocks(lines):
    """The report's shapes, a frame shape standing as 'frame'."""
    return ["frame" if s.startswith("frame") else s for s in
            (shape(x, [LEAKSPY]) for x in lines)]


def test_check_lsan_grammar():
    """Every line is one of LeakSanitizer's, or leakspy's own; a report's
    lines come in LSan's order; CTest and CodeChecker find exactly the
    failing leaks in it."""
    text = out("lsan", ROOT).decode()
    check(text.endswith("\n"), "ends with a newline")
    lines = text.split("\n")[:-1]
    seq = " ".join(blocks(lines))
    report = (r"blank rule error blank( leak( frame)+ blank)+"
              r"( leakspy( frame)+ blank)*( leakspy)*"
              r"( dashes supp-head supp-cols( supp)+ dashes blank)?"
              r" summary( leakspy)*")
    check(re.fullmatch(report, seq), "report's order: %s" % seq)
    # CTest's memcheck: any line with "(Direct|Indirect) leak of" is one
    # defect (cmCTestMemCheckHandler::ProcessMemCheckSanitizerOutput).
    eq([re.search(r"(Direct|Indirect) leak of .*", x).group(1)
        for x in lines if re.search(r"(Direct|Indirect) leak of .*", x)],
       ["Direct", "Indirect"], "CTest's defects")
    # CodeChecker's report-converter -t lsan: a report per line that
    # starts as a leak does, with the frames up to the next blank line,
    # its event at the innermost frame with file:line.
    head = re.compile(r"(?P<message>(Ind|D)irect leak of \d+ byte\(s\) "
                      r"in \d+ object\(s\) allocated from:)")
    loc = re.compile(r"(?P<path>[\S]+?):(?P<line>\d+)(:(?P<column>\d+))?")
    reports = []
    for i, x in enumerate(lines):
        if head.match(x):
            stack = []
            for y in lines[i + 1:]:
                if not y.strip():
                    break
                m = loc.search(y)
                if m:
                    stack.append((m.group("path"), int(m.group("line"))))
            reports.append((head.match(x).group("message"), stack[0]))
    eq(reports,
       [("Direct leak of 40 byte(s) in 1 object(s) allocated from:",
         ("/usr/include/c++/12/bits/stl_vector.h", 1287)),
        ("Indirect leak of 64 byte(s) in 2 object(s) allocated from:",
         ("/src/proj/lib/node.c", 5))], "CodeChecker's reports")
    eq(lines[lines.index("Direct leak of 40 byte(s) in 1 object(s) "
                         "allocated from:") + 1:][:5],
       ["    #0 0x1a2b in std::vector<int, std::allocator<int> >::"
        "push_back(int const&) /usr/include/c++/12/bits/stl_vector.h:1287",
        "    #1 0x1a2b in Tree<K&V>::insert(\"key\", 'c')" + FFFD +
        " /src/proj/lib/tree.cc:42",
        "    #2 0x11c0 in main /src/proj/main.c:7",
        "    #3 0x271ca in __libc_start_call_main ../sysdeps/nptl/"
        "libc_start_call_main.h:58",
        "    #4 0x27285  (/lib/x86_64-linux-gnu/libc.so.6+0x27285)"],
       "the definite leak's frames")
    eq([x for x in lines if re.match(r"==\d+==", x)],
       ["==4242==ERROR: LeakSanitizer: detected memory leaks",
        "==4242==leakspy: thread leak: thread 3 \"work<er>?\" (running), "
        "start routine worker_main, created from:",
        "==4242==leakspy: growth of 5242880 byte(s) in 300 object(s), "
        "3145728 byte(s) more since 2.0 s, at 1258291 byte(s)/s, "
        "allocated from:",
        "==4242==leakspy: note: ended by SIGTERM: memory lost at exit not "
        "judged",
        "==77==leakspy: no verdict: the dump ends before its final "
        "snapshot"], "LSan's and leakspy's own messages")
    eq([x for x in lines if re.fullmatch(LSAN[10][1], x)],
       ["      1         16 libfoo.so"], "suppressions used")
    eq(lines[-2], "SUMMARY: LeakSanitizer: 104 byte(s) leaked in 3 "
       "allocation(s).", "summary")


def test_check_lsan_like_lsan():
    """Each shape of line leakspy writes is one LeakSanitizer wrote in a
    real report; the grammar above reads the real reports whole."""
    seen = set()
    for rep in real_lsan():
        lines = rep.split("\n")[:-1]
        shapes = [shape(x) for x in lines]
        seen.update(shapes)
        seq = " ".join("frame" if s.startswith("frame") else s
                       for s in shapes)
        check(re.fullmatch(r"blank rule error blank( leak( frame)+ blank)+"
                           r"( dashes supp-head supp-cols( supp)+ dashes "
                           r"blank)? summary", seq),
              "real report's order: %s" % seq)
    eq(sorted(seen), sorted(n for n, _ in LSAN), "shapes of real reports")
    ours = {shape(x, [LEAKSPY]) for x in
            out("lsan", ROOT).decode().split("\n")[:-1]}
    eq(sorted(ours - seen), ["leakspy"], "shapes that LSan does not write")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
