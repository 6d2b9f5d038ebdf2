#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report --check, the leak gate, on dumps of victims: the
findings with their exact bytes, blocks and stacks, suppressions,
baselines, data that cannot support a verdict, and every exit status.
Usage: test_check.py TEST"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403


def gate(dumps, *args, want_rc=None, fmt=None, binary=REPORT_SAN):
    """leakspy-report --check ARGS DUMPS, built with ASan and UBSan unless
    told: (exit status, stdout, stderr); with fmt, --format fmt."""
    argv = [binary, "--check"] + (["--format", fmt] if fmt else []) + \
        list(args) + list(dumps)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    out, err = p.stdout.decode(), p.stderr.decode()
    if want_rc is not None:
        eq(p.returncode, want_rc, "exit status of %s (stderr: %s; "
           "stdout: %s)" % (" ".join(argv[1:]), err[-800:], out[-1500:]))
    check("Sanitizer" not in err, "no sanitizer report: %s" % err)
    return p.returncode, out, err


def gate_json(dumps, *args, want_rc=None):
    rc, out, err = gate(dumps, *args, want_rc=want_rc, fmt="json")
    try:
        return json.loads(out)["check"]
    except ValueError as ex:
        raise Fail("--check --format json: %s\n%s" % (ex, out[:2000]))


def findings(c, kind=None, failing=True):
    return [f for f in c["findings"] if (kind is None or f["kind"] == kind)
            and (not failing or f["fails"])]


def first_fn(f):
    return f["frames"][0]["function"] if f["frames"] else None


def reach_dump(mode):
    return one_dump(run([victim("reach"), mode], want_rc=0))


def test_lost():
    """reach list: a lost head (16 bytes) holding ten nodes (480 bytes):
    one definite and one indirect finding, exit 1, each with the stack
    that allocated it, in text and JSON."""
    d = reach_dump("list")
    c = gate_json([d], want_rc=1)
    eq(c["exit_status"], 1, "exit_status in JSON")
    got = sorted((f["kind"], first_fn(f), f["bytes"], f["blocks"])
                 for f in findings(c))
    eq(got, [("definite", "list_head", 16, 1),
             ("indirect", "list_node", 480, 10)], "the findings")
    for f in findings(c):
        fns = [fr["function"] for fr in f["frames"]]
        check("main" in fns, "main in the stack of %s: %r" % (first_fn(f),
                                                              fns))
        eq(f["frames"][0]["file"].endswith("reach.c"), True,
           "the first frame's file of %s" % first_fn(f))
    eq(c["dumps"][0]["verdict"], True, "the dump supports a verdict")
    eq(c["dumps"][0]["findings"], 2, "the dump's failing findings")
    rc, out, err = gate([d], want_rc=1)
    check(re.search(r"^FAIL  reach \(pid \d+\), .*: 2 findings$", out, re.M),
          "the dump's line:\n" + out)
    check(re.search(r"^  definitely lost: 16 bytes in 1 block at exit, "
                    r"allocated by malloc from\n        #0  list_head at "
                    r"\S*reach\.c:\d+ \[reach\]$", out, re.M),
          "the definite finding with its first frame:\n" + out)
    check("  indirectly lost: 480 bytes in 10 blocks at exit" in out,
          "the indirect finding:\n" + out)
    check(out.rstrip().endswith("result: FAIL: 2 findings in 1 of 1 dump"),
          "the result line:\n" + out)
    # Only what --fail-on asks for.
    c = gate_json([d], "--fail-on", "indirect", want_rc=1)
    eq([f["kind"] for f in c["findings"]], ["indirect"], "--fail-on indirect")
    gate([d], "--fail-on", "thread,growth", want_rc=0)


def test_clean():
    """Programs that keep everything reachable, or free it, pass with the
    built-in rules alone: exit 0 and a pass line."""
    for mode in ("tls", "register", "key", "array", "globals", "joined"):
        # Some of them leave a thread running: thread leaks, not failed
        # on here.
        d = reach_dump(mode)
        c = gate_json([d], "--fail-on", "lost,growth", want_rc=0)
        eq(findings(c), [], "findings of reach %s" % mode)
        rc, out, err = gate([d], "--fail-on", "lost", want_rc=0)
        check(out.rstrip().endswith("result: pass: 0 findings in 0 of 1 "
                                    "dump"), "the result of %s:\n%s" %
              (mode, out))
    r = run([victim("tidy")], want_rc=0)
    gate(r.dumps, want_rc=0)


DL_C = r"""
#include <dlfcn.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	void *h = dlopen("libm.so.6", RTLD_NOW);
	void *g = dlopen("%(lib)s", RTLD_LAZY | RTLD_GLOBAL);
	char *mine = %(leak)d ? malloc(%(leak)d) : NULL;

	if (h == NULL || g == NULL)
		return 2;
	dlclose(h);
	dlclose(g);
	setpwent();
	while (getpwent() != NULL)
		;
	endpwent();
	mine = NULL;
	return 0;
}
"""


def test_builtin():
    """The loader's and the C library's own allocations that no scan of
    the heap sees held (dlopen's scope list and dependency array, dynamic
    TLS of NSS modules) are suppressed by the built-in rules, which match
    the allocator's frames only: a program's own leak beside them still
    fails, and --no-builtin-suppressions shows what they hide."""
    t = tmpdir()
    lib = os.path.join(t, "libsmall.so")
    libsrc = write(os.path.join(t, "small.c"), "int small_fn(int x) "
                   "{ return x + 1; }\n")
    p = subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, libsrc],
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 0, "cc: %s" % p.stderr.decode())
    for leak, want in ((0, 0), (24, 1)):
        src = write(os.path.join(t, "dl.c"), DL_C % {"lib": lib,
                                                     "leak": leak})
        exe = os.path.join(t, "dl%d" % leak)
        p = subprocess.run(["cc", "-g", "-o", exe, src],
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq(p.returncode, 0, "cc: %s" % p.stderr.decode())
        d = one_dump(run([exe], want_rc=0))
        c = gate_json([d], want_rc=want)
        eq([(first_fn(f), f["bytes"]) for f in findings(c)],
           [("main", leak)] if leak else [], "findings with the built-ins")
        used = [s["rule"] for s in c["suppressions"] if s["used"]]
        check(all(s["builtin"] for s in c["suppressions"] if s["used"]),
              "only built-in rules used: %r" % used)
        if leak == 0:
            nb = gate_json([d], "--no-builtin-suppressions")
            eq(len(findings(nb)), c["suppressed"],
               "what --no-builtin-suppressions shows")


TLSLIB_C = r"""
#include <stdlib.h>
static __thread char *mine;
void tls_keep(size_t n) { mine = malloc(n); }
"""

TLSMAIN_C = r"""
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
static void (*keep)(size_t);
static void *worker(void *arg)
{
	(void)arg;
	keep(48);
	for (;;)
		pause();
	return NULL;
}
int main(void)
{
	void *h = dlopen("%(lib)s", RTLD_NOW);
	pthread_t t;

	if (h == NULL || (keep = (void (*)(size_t))dlsym(h, "tls_keep")) == NULL)
		return 2;
	keep(40);
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		return 2;
	usleep(100000);
	return 0;
}
"""


def test_dynamic_tls():
    """Blocks held by __thread variables of a dlopen'd module, in the main
    thread and in one still running at exit: reachable through each
    thread's vector of dynamic TLS blocks (the main thread's the loader
    allocated, where no scan looked before), so not lost, even with no
    built-in rule."""
    t = tmpdir()
    lib = os.path.join(t, "libtlskeep.so")
    for argv in (["cc", "-shared", "-fPIC", "-g", "-o", lib,
                  write(os.path.join(t, "lib.c"), TLSLIB_C)],
                 ["cc", "-g", "-pthread", "-o", os.path.join(t, "tlsmain"),
                  write(os.path.join(t, "main.c"), TLSMAIN_C % {"lib": lib}),
                  "-ldl"]):
        p = subprocess.run(argv, stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq(p.returncode, 0, "cc: %s" % p.stderr.decode())
    d = one_dump(run([os.path.join(t, "tlsmain")], want_rc=0))
    c = gate_json([d], "--no-builtin-suppressions", "--fail-on", "lost",
                  want_rc=0)
    eq(findings(c), [], "lost with no built-in rule")
    rep = report(d)
    for nbytes in (40, 48):
        got = [s["reach"] for s in rep["sites"] if s["frames"] and
               s["frames"][0]["function"] == "tls_keep" and
               s["live_bytes"] == nbytes]
        eq(len(got), 1, "the site of tls_keep(%d)" % nbytes)
        eq((got[0]["reachable"]["bytes"], got[0]["reachable"]["blocks"]),
           (nbytes, 1), "tls_keep(%d) reachable" % nbytes)


def test_possible():
    """Interior-only blocks are not failed on unless asked: reach
    interior keeps 5 blocks of 200 bytes by interior pointers."""
    d = reach_dump("interior")
    gate([d], want_rc=0)
    c = gate_json([d], "--fail-on", "possible", want_rc=1)
    eq([(f["kind"], first_fn(f), f["bytes"], f["blocks"])
        for f in findings(c)], [("possible", "interior_alloc", 1000, 5)],
       "--fail-on possible")


def test_threads():
    """threadlife: of its six threads, "forgotten" ended unjoined and
    "lingerer" still runs at exit (started in unjoined_main and
    runner_main): two thread findings, each with its
    start routine and creation stack; the joined, detached and cancelled
    ones are not findings."""
    d = one_dump(run([victim("threadlife")], want_rc=0))
    c = gate_json([d], "--fail-on", "thread", want_rc=1)
    got = sorted((f["start_routine"], f["state"], f["threads"])
                 for f in findings(c, "thread"))
    eq(got, [("runner_main", "still running at exit", 1),
             ("unjoined_main", "ended, never joined", 1)],
       "the thread findings")
    for f in findings(c, "thread"):
        check(f["frames"] and f["frames"][0]["function"].startswith("spawn_"),
              "the creation stack starts at its spawner: %r" % f["frames"])
    rc, out, err = gate([d], "--fail-on", "thread", want_rc=1)
    check("thread leak: 1 thread" in out and "running runner_main, still "
          "running at exit, created from" in out, "text:\n" + out)
    # A thread is created, not allocated, in JUnit and SARIF.
    for fmt, said in (("junit", "\ncreated by pthread_create\n"),
                      ("sarif", ", created by pthread_create, in ")):
        rc, out, err = gate([d], "--fail-on", "thread", want_rc=1, fmt=fmt)
        check(said in out and "allocated by pthread" not in out,
              "%s:\n%s" % (fmt, out))


def test_thread_exiter():
    """threadlife exiter: a thread calls exit() while main waits and the
    lingerer runs: the lingerer is a thread leak, the thread that ended
    the process is not (state ended_process)."""
    d = one_dump(run([victim("threadlife"), "exiter"], want_rc=0))
    eq(sorted((t["name"], t["state"], t["leak"])
              for t in report(d)["threads"]),
       [("exiter", "ended_process", False), ("lingerer", "running", True)],
       "the threads")
    c = gate_json([d], "--fail-on", "thread", want_rc=1)
    eq([(f["start_routine"], f["state"]) for f in findings(c, "thread")],
       [("runner_main", "still running at exit")], "the thread findings")


def grow_dump(mode, seconds="2.2"):
    return one_dump(run([victim("pattern"), mode, seconds],
                        env={"LEAKSPY_INTERVAL": "0.2"}, want_rc=0))


def test_growth():
    """pattern seed1 grows event_new for 2.2 s in 11 snapshots: a growth
    finding with its rate; --max-growth above its rate or its size lets
    it pass, below both fails it; seed1-fixed passes."""
    d = grow_dump("seed1")
    c = gate_json([d], "--fail-on", "growth", want_rc=1)
    g = findings(c, "growth")
    # The events grow, and with them (by realloc, in steps) the array
    # that holds them.
    names = [first_fn(f) for f in g]
    check(names[:1] == ["event_new"] and
          set(names) <= {"event_new", "children_push"},
          "the growing sites: %r" % names)
    g = g[:1]
    rate, grew = g[0]["bytes_per_second"], g[0]["grew"]
    check(rate > 1000 and grew > 1000, "rate %r, grew %r" % (rate, grew))
    check(g[0]["retained_by"] and "parent" in g[0]["retained_by"] or
          g[0]["retained_by"] is None, "retained_by: %r" %
          g[0]["retained_by"])
    # Limits above the fastest and biggest: passes.
    rate = max(f["bytes_per_second"] for f in findings(c, "growth"))
    grew = max(f["grew"] for f in findings(c, "growth"))
    gate([d], "--fail-on", "growth", "--max-growth",
         "%dB/s" % int(rate * 2 + 1), want_rc=0)
    gate([d], "--fail-on", "growth", "--max-growth",
         "%d" % (grew + 1), want_rc=0)
    gate([d], "--fail-on", "growth", "--max-growth",
         "%dB/s" % int(rate / 2), "--max-growth", "%d" % (grew // 2),
         want_rc=1)
    # Per hour and in KiB: the same limit.
    gate([d], "--fail-on", "growth", "--max-growth",
         "%dKiB/h" % int(rate * 3600 * 2 / 1024 + 1), want_rc=0)
    # The fixed program: nothing grows (the verdicts themselves are the
    # report suite's).
    gate([grow_dump("seed1-fixed")], "--fail-on", "growth", want_rc=0)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def test_suppressions():
    """Rules by function, module, file and wildcard, anchored or not,
    each counted; a rule that matches nothing is listed as unused."""
    d = reach_dump("list")
    t = tmpdir()
    cases = [
        ("leak:list_head\nleak:list_node\n", 0),
        ("leak:^list_*$\n", 0),            # one wildcard rule, both
        ("leak:reach.c\n", 0),             # the source file
        ("leak:/reach\n", 0),              # the module's path
        ("leak:^ist_head\n", 1),           # anchored: no match
        ("leak:list_head$\n", 1),          # only the head
        ("# a comment\n\n  leak:list_*  \n", 0),
        ("growth:list_\nthread:list_\n", 1),  # other kinds
    ]
    for text, want in cases:
        gate([d], "--suppressions", write(os.path.join(t, "s"), text),
             want_rc=want)
    supp = write(os.path.join(t, "supp.txt"),
                 "leak:list_head\nleak:no_such_function\n")
    c = gate_json([d], "--suppressions", supp, want_rc=1)
    eq([(f["kind"], f["suppressed_by"]) for f in c["findings"]],
       [("definite", "leak:list_head"), ("indirect", None)],
       "suppressed_by")
    used = {(s["rule"], s["where"]): (s["used"], s["bytes"])
            for s in c["suppressions"] if not s["builtin"]}
    eq(used, {("leak:list_head", supp + ":1"): (1, 16),
              ("leak:no_such_function", supp + ":2"): (0, 0)},
       "the rules' counts")
    rc, out, err = gate([d], "--suppressions", supp, want_rc=1)
    check("suppressed: 1 finding (16 bytes) by leak:list_head (%s:1)" % supp
          in out, "the used rule:\n" + out)
    check("unused suppression: leak:no_such_function (%s:2)" % supp in out,
          "the unused rule:\n" + out)
    check(", 1 suppressed" in out, "the result counts it:\n" + out)
    # Two files.
    gate([d], "--suppressions", supp, "--suppressions",
         write(os.path.join(t, "b"), "leak:list_node\n"), want_rc=0)
    # Bad files: said with the file and line, exit 2.
    rc, out, err = gate([d], "--suppressions",
                        write(os.path.join(t, "bad"), "leak:x\nfoo:bar\n"),
                        want_rc=2)
    check("bad:2: not a suppression rule: 'foo:bar'" in err, err)
    # As in LeakSanitizer: an empty pattern matches every stack, and
    # the allocation function counts as a frame (malloc).
    gate([d], "--suppressions", write(os.path.join(t, "e"), "leak:\n"),
         want_rc=0)
    gate([d], "--suppressions", write(os.path.join(t, "m"),
                                      "leak:^malloc$\n"), want_rc=0)
    # LeakSanitizer's matching: each run of text at its first place.
    for pat, want in (("list_head$", 1), ("list_*$", 0), ("l*t_h*d", 1),
                      ("^list$", 1), ("list_no*", 1)):
        gate([d], "--suppressions", write(os.path.join(t, "p"),
                                          "leak:%s\n" % pat), want_rc=want)
    # Counted once, also when the baseline is written and judged again.
    c = gate_json([d], "--suppressions", supp, "--write-baseline",
                  os.path.join(t, "b.txt"), want_rc=0)
    eq([(x["rule"], x["used"], x["bytes"]) for x in c["suppressions"]
        if x["used"]], [("leak:list_head", 1, 16)], "counts with a new "
       "baseline")
    # -o never replaces a file being read.
    rc, out, err = gate([d], "--suppressions", supp, "-o", supp, want_rc=2)
    check("suppression file" in err, err)
    with open(supp) as f:
        eq(f.read(), "leak:list_head\nleak:no_such_function\n",
           "the suppression file")
    rc, out, err = gate([d], "--suppressions", os.path.join(t, "none"),
                        want_rc=2)
    check("No such file" in err, err)


def test_gen_suppressions():
    """--gen-suppressions prints a rule for each failing finding; those
    rules suppress them all."""
    d = reach_dump("list")
    rc, out, err = gate([d], "--gen-suppressions", want_rc=1)
    rules = [ln for ln in out.splitlines() if ln.startswith("leak:")]
    eq(rules, ["leak:^list_head$", "leak:^list_node$"], "generated rules")
    # A leak made in main itself: no function is its own, and a rule
    # on main would hide every other finding: none is written.
    both = [d, reach_dump("lost")]
    rc, out2, err = gate(both, "--gen-suppressions", want_rc=1)
    check("leak:^lost_alloc$" in out2, out2)
    path = write(os.path.join(tmpdir(), "gen.supp"),
                 out.split("# Suppressions for the findings that fail:")[1])
    gate([d], "--suppressions", path, want_rc=0)
    # In other formats, on stderr: the JSON stays whole.
    rc, out, err = gate([d], "--gen-suppressions", want_rc=1, fmt="json")
    json.loads(out)
    check("leak:^list_head$" in err, err)


LEAK_C = r"""
#include <stdlib.h>
#include <string.h>
%(pad)s
static char *keep_name(const char *s) { return strdup(s); }
static void *make_table(size_t n) { return calloc(n, 8); }
%(extra)s
int main(int argc, char **argv)
{
	keep_name(argv[0]);
	make_table(%(n)d);
%(call)s
	return argc > 99;
}
"""


def build_leaker(t, name, pad=0, n=4, new=False):
    src = os.path.join(t, "leaker.c")
    write(src, LEAK_C % {
        "pad": "\n" * pad, "n": n,
        "extra": "static void *make_more(void) { return malloc(77); }"
        if new else "",
        "call": "\tmake_more();" if new else ""})
    exe = os.path.join(t, name)
    p = subprocess.run(["cc", "-g", "-O0", "-o", exe, src],
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 0, "cc: %s" % p.stderr.decode())
    return exe


def test_baseline():
    """A baseline absorbs the findings it recorded, also once the program
    is rebuilt with other line numbers; it still fails on a new finding
    and on one past its budget; it replaces only a baseline."""
    t = tmpdir()
    exe = build_leaker(t, "leaker")
    d = one_dump(run([exe], want_rc=0))
    gate([d], want_rc=1)
    # A rule on a function of the allocator's (strdup, in libc), as
    # LeakSanitizer users write them.
    c = gate_json([d], "--suppressions", write(os.path.join(t, "s"),
                                               "leak:strdup\n"), want_rc=1)
    eq([first_fn(f) for f in findings(c)], ["make_table"],
       "what leak:strdup leaves")
    base = os.path.join(t, "base.txt")
    rc, out, err = gate([d], "--write-baseline", base, want_rc=0)
    with open(base) as f:
        text = f.read()
    check(text.startswith("# leakspy baseline 1\n"), text)
    check(re.search(r"^definite 32 1\n    make_table \(leaker\.c\)\n"
                    r"    main \(leaker\.c\)\n", text, re.M), text)
    check(re.search(r"^definite \d+ 1\n    keep_name \(leaker\.c\)\n", text,
                    re.M), text)
    check(not re.search(r":\d+\)", text), "no line numbers: " + text)
    gate([d], "--baseline", base, want_rc=0)
    # Rebuilt with every line moved by 7 (and in another directory).
    t2 = tmpdir()
    d2 = one_dump(run([build_leaker(t2, "leaker", pad=7)], want_rc=0))
    c = gate_json([d2], "--baseline", base, want_rc=0)
    eq(c["baselined"], 2, "baselined after the rebuild")
    # A new leak fails, alone.
    d3 = one_dump(run([build_leaker(t2, "leaker", pad=3, new=True)],
                      want_rc=0))
    c = gate_json([d3], "--baseline", base, want_rc=1)
    eq([first_fn(f) for f in findings(c)], ["make_more"], "the new finding")
    # Past its budget: make_table(5) holds 40 bytes, 32 allowed.
    d4 = one_dump(run([build_leaker(t2, "leaker", n=5)], want_rc=0))
    rc, out, err = gate([d4], "--baseline", base, want_rc=1)
    check("make_table" in out and "over its baseline budget (%s:" % base in
          out, out)
    # Budgets edited by hand.
    write(base, text.replace("definite 32 1", "definite 64 2"))
    gate([d4], "--baseline", base, want_rc=0)
    # Not a baseline: not read, not replaced.
    other = write(os.path.join(t, "notes.txt"), "my notes\n")
    rc, out, err = gate([d], "--baseline", other, want_rc=2)
    check("not a leakspy baseline" in err, err)
    rc, out, err = gate([d], "--write-baseline", other, want_rc=2)
    with open(other) as f:
        eq(f.read(), "my notes\n", "the file that is not a baseline")
    write(base, text.replace("definite 32 1", "definite x 1"))
    rc, out, err = gate([d], "--baseline", base, want_rc=2)
    check("base.txt:" in err and "not a baseline line" in err, err)


UNROLL_C = r"""
#include <stdlib.h>
#include <string.h>

static void *make_rec(size_t n) { return memset(malloc(n), 1, n); }

int main(int argc, char **argv)
{
%s
	return argc > 99 && argv != NULL;
}
"""


def test_merged():
    """Sites that differ only in lines (a call repeated, as an unrolled
    loop leaves them) are one finding, amounts summed; a baseline of the
    repeated calls still holds after a rebuild that makes them a loop."""
    t = tmpdir()

    def build(name, body):
        src = write(os.path.join(t, name + ".c"), UNROLL_C % body)
        exe = os.path.join(t, name)
        p = subprocess.run(["cc", "-g", "-O0", "-o", exe, src],
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq(p.returncode, 0, "cc: %s" % p.stderr.decode())
        return one_dump(run([exe], want_rc=0))
    d = build("rep", "\tmake_rec(40);\n\tmake_rec(24);\n\tmake_rec(40);")
    c = gate_json([d], want_rc=1)
    got = [(f["kind"], f["bytes"], f["blocks"], f.get("stacks"), first_fn(f),
            [fr["line"] for fr in f["frames"][:2]]) for f in findings(c)]
    eq(got, [("definite", 104, 3, 3, "make_rec", [5, 9])], "one finding")
    rc, out, err = gate([d], want_rc=1)
    check("definitely lost: 104 bytes in 3 blocks at exit, allocated by "
          "malloc from 3 call stacks of the same functions and files, the "
          "biggest\n" in out, out)
    base = os.path.join(t, "base.txt")
    gate([d], "--write-baseline", base, want_rc=0)
    with open(base) as f:
        check("\ndefinite 104 3\n    make_rec (rep.c)\n    main (rep.c)\n"
              in f.read(), "the baseline")
    d2 = build("rep", "\tfor (int i = 0; i < 3; i++)\n\t\tmake_rec(32);")
    c = gate_json([d2], "--baseline", base, want_rc=0)
    eq(c["baselined"], 1, "baselined, rolled into a loop")
    d3 = build("rep", "\tfor (int i = 0; i < 4; i++)\n\t\tmake_rec(32);")
    gate([d3], "--baseline", base, want_rc=1)


def test_no_verdict():
    """Data that cannot support a verdict gives 3, never 0, saying which
    dump and why: sampled, damaged, cut short; a
    process that executed another is judged without lost memory."""
    t = tmpdir()
    d = one_dump(run([victim("reach"), "array"],
                     env={"LEAKSPY_SAMPLE": "4096"}, want_rc=0))
    rc, out, err = gate([d], want_rc=3)
    check("NO VERDICT" in out and "sampled" in out, out)
    # Not even for growth: sampled figures are estimates.
    gate([d], "--fail-on", "growth", want_rc=3)
    good = reach_dump("array")
    with open(good, "rb") as f:
        data = f.read()
    cut = write(os.path.join(t, "cut.lsd"), "")
    with open(cut, "wb") as f:
        f.write(data[:len(data) - 40])
    c = gate_json([cut], want_rc=3)
    eq(c["dumps"][0]["verdict"], False, "a cut dump")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x55
    bad = os.path.join(t, "flip.lsd")
    with open(bad, "wb") as f:
        f.write(bytes(flipped))
    gate([bad], want_rc=3)
    # The same under ASan and UBSan, in every format.
    for f in ("text", "json"):
        gate([cut, bad, good], want_rc=3, fmt=f, binary=REPORT_SAN)
    # A leak in a damaged dump's readable part still fails it (1).
    lost = reach_dump("lost")
    gate([lost, cut], want_rc=1)
    # Clean plus a sampled dump: 3.
    gate([good, cut], want_rc=3)
    # Ended by exec: no lost memory judged, said in a note.
    r = run([victim("reach"), "lost", "exec"], want_rc=0)
    c = gate_json(r.dumps, want_rc=None)
    notes = [x["note"] for x in c["dumps"] if x["note"]]
    check(any("not judged" in n for n in notes), c["dumps"])


def test_usage():
    """Usage errors exit 2 with a message: unknown words, gate options
    without --check, formats of the gate without it, --check with report
    options, a dump that cannot be opened."""
    d = reach_dump("tls")
    cases = [
        ([REPORT, "--check", "--fail-on", "bogus", d], "--fail-on wants"),
        ([REPORT, "--check", "--fail-on", "", d], "--fail-on wants"),
        ([REPORT, "--check", "--max-growth", "1MiB/fortnight", d],
         "--max-growth wants"),
        ([REPORT, "--check", "--max-growth", "-1", d], "--max-growth wants"),
        ([REPORT, "--fail-on", "lost", d], "want --check"),
        ([REPORT, "--baseline", "x", d], "want --check"),
        ([REPORT, "--check", "-f", "yaml", d], "unknown format"),
        ([REPORT, "--check", "--diff", "0..1", d], "judges the whole run"),
        ([REPORT, "--check", "-n", "3", d], "judges the whole run"),
        ([REPORT, "--check", "/nonexistent.lsd"], "nonexistent"),
        ([REPORT, "--check", "--max-growth", "1e308TiB/s", d],
         "--max-growth wants"),
        ([REPORT, "--check"], "usage"),
    ]
    for argv, msg in cases:
        p = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        eq(p.returncode, 2, "exit status of %r" % argv[1:])
        check(msg in p.stderr.decode(), "message %r for %r: %r" %
              (msg, argv[1:], p.stderr.decode()))


def test_unreadable():
    """A dump that cannot be opened: exit 2, and the outputs say 2."""
    d = reach_dump("list")
    rc, out, err = gate([d, "/nonexistent.lsd"], want_rc=2, fmt="json")
    c = json.loads(out)["check"]
    eq(c["exit_status"], 2, "JSON's exit status")
    eq([x["verdict"] for x in c["dumps"]], [True, False], "verdicts")
    rc, out, err = gate([d, "/nonexistent.lsd"], want_rc=2, fmt="sarif")
    inv = json.loads(out)["runs"][0]["invocations"][0]
    eq((inv["exitCode"], inv["executionSuccessful"]), (2, False),
       "SARIF's invocation")
    rc, out, err = gate(["/nonexistent.lsd"], want_rc=2)
    check("result: ERROR" in out, out)


def test_output_file():
    """-o writes the result to a file, replaced only once complete; a dump
    is never overwritten."""
    d = reach_dump("list")
    t = tmpdir()
    out = os.path.join(t, "gate.json")
    write(out, "old")
    gate([d], "-o", out, want_rc=1, fmt="json")
    with open(out) as f:
        eq(json.load(f)["check"]["exit_status"], 1, "the file's JSON")
    eq(sorted(os.listdir(t)), ["gate.json"], "no temporary file left")
    with open(d, "rb") as f:
        before = f.read()
    rc, _, err = gate([d], "-o", d, want_rc=2)
    other = os.path.join(t, "copy.lsd")
    with open(other, "wb") as f:
        f.write(before)
    rc, _, err = gate([d], "-o", other, want_rc=2)
    check("that is a dump" in err, err)
    for p in (d, other):
        with open(p, "rb") as f:
            eq(f.read(), before, "the dump %s" % p)


def test_many_dumps():
    """A test suite's dumps at once: each judged, the findings in the dump
    they came from, the worst status wins."""
    dumps = [reach_dump("array"), reach_dump("lost"), reach_dump("list")]
    c = gate_json(dumps, want_rc=1)
    eq([x["findings"] for x in c["dumps"]], [0, 1, 2], "findings per dump")
    eq(sorted((f["dump"], first_fn(f)) for f in findings(c)),
       [(1, "lost_alloc"), (2, "list_head"), (2, "list_node")],
       "the dump of each finding")
    rc, out, err = gate(dumps, want_rc=1)
    check(re.search(r"^ok  reach \(pid \d+\)", out, re.M), out)
    check(out.rstrip().endswith("3 findings in 2 of 3 dumps"), out)


if __name__ == "__main__":
    sys.exit(main({n[5:]: f for n, f in sorted(globals().items())
                   if n.startswith("test_")}))
