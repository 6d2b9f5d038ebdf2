#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The leak gate in one command, leakspy --check (tools/launch-check.c):
the fixture suite of tests/check-fixture run by meson test with the gate
as its wrapper (what passes, what fails, and each finding's exact stack
and size in the tests' logs), and the exit-status contract, the dumps'
directory, the options passed on to leakspy-report and where its report
goes.  Usage: test_check.py TEST"""

import fcntl
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
from cireaders import junitparser, validate  # noqa: E402

FIXTURE_SRC = os.path.join(SRC, "tests", "check-fixture")
FIXTURE = os.path.join(BUILD, "tests", "launcher", "check-fixture")
KEPT = "leakspy: the dumps are kept in "


def clean_env(extra=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LEAKSPY_") and k not in
         ("LD_PRELOAD", "LSAN_OPTIONS", "MESON_TESTTHREADS")}
    e.update(extra or {})
    return e


def fixture():
    """The fixture built (once, whichever test comes first) in the build
    tree; the directory of its programs."""
    if not shutil.which("meson"):
        raise Skip("meson is not installed")
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(FIXTURE, "build.ninja")):
            shutil.rmtree(FIXTURE, ignore_errors=True)
            p = subprocess.run(["meson", "setup", FIXTURE, FIXTURE_SRC],
                               env=clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=TIMEOUT)
            eq(p.returncode, 0, "meson setup of the fixture: %s" %
               p.stdout.decode()[-2000:])
        p = subprocess.run(["meson", "compile", "-C", FIXTURE],
                           env=clean_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=TIMEOUT)
        eq(p.returncode, 0, "building the fixture: %s" %
           p.stdout.decode()[-2000:])
    return FIXTURE


def prog(name):
    return os.path.join(fixture(), "fixture-" + name)


class Gate:
    """A finished leakspy --check run: its status, output, and the
    private directories it left in its own TMPDIR."""

    def __init__(self, args, env=None, cwd=None):
        self.tmpdir = tempfile.mkdtemp(prefix="lst.")
        self.cwd = cwd or tempfile.mkdtemp(prefix="lst.")
        p = subprocess.run([LAUNCHER] + args, cwd=self.cwd,
                           env=clean_env(dict(env or {},
                                              TMPDIR=self.tmpdir)),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        self.run = Run(p.returncode, p.stdout, p.stderr, [], self.cwd,
                       [LAUNCHER] + args)
        self.out, self.err = p.stdout, p.stderr.decode()
        self.left = sorted(os.listdir(self.tmpdir))

    @property
    def rc(self):
        return self.run.rc

    def kept(self):
        """The one directory kept, named on stderr's last line, and the
        dumps in it."""
        eq(len(self.left), 1, "directories left in TMPDIR")
        d = os.path.join(self.tmpdir, self.left[0])
        eq(self.err.splitlines()[-1], KEPT + d, "stderr's last line")
        check(re.fullmatch(r"leakspy-check\.\w{6}", self.left[0]),
              "its name: %r" % self.left[0])
        return d, sorted(os.listdir(d))


def site_lines(path, marker):
    """The line of source file path whose comment is /* site: marker */."""
    with open(path) as f:
        hits = [i + 1 for i, l in enumerate(f)
                if re.search(r"/\* site: %s \*/" % re.escape(marker), l)]
    eq(len(hits), 1, "lines marked %r in %s" % (marker, path))
    return hits[0]


def findings(text):
    """The findings of a text report: [(header, [(function, file base
    name, line)] of the frames in the fixture)]."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^  (\S[^:]*: .*)$", line)
        if m and not line.startswith("  cannot"):
            out.append((m.group(1), []))
            continue
        m = re.match(r"^\s+#\d+\s+(\S+) at (\S+):(\d+) \[fixture-", line)
        if m and out:
            out[-1][1].append((m.group(1), os.path.basename(m.group(2)),
                               int(m.group(3))))
    return out


def frame(src, fn, marker):
    return (fn, src, site_lines(os.path.join(FIXTURE_SRC, src), marker))


LEAK_FINDINGS = [
    ("definitely lost: 144 bytes in 3 blocks at exit, allocated by malloc "
     "from", [("make_node", "make_node"), ("main", "main calls make_node")]),
    ("definitely lost: 16 bytes in 1 block at exit, allocated by malloc "
     "from", [("make_holder", "make_holder"),
              ("main", "main calls make_holder")]),
    ("indirectly lost: 100 bytes in 1 block at exit, allocated by malloc "
     "from", [("make_buffer", "make_buffer"),
              ("make_holder", "make_holder calls"),
              ("main", "main calls make_holder")]),
]


def want_leak_findings(text):
    eq(findings(text), [(h, [frame("leak.c", fn, m) for fn, m in frames])
                        for h, frames in LEAK_FINDINGS],
       "the leak's findings and stacks in:\n%s" % text)


# --- the fixture suite under meson test ---

def test_meson_wrapper():
    """meson test --wrapper 'leakspy --check --': clean passes; leak,
    grow and thread fail, each log naming the finding with its stack;
    only the failing tests' dumps are kept."""
    build = fixture()
    tmp = tempfile.mkdtemp(prefix="lst.")
    wrapper = "%s --check --" % shlex.quote(LAUNCHER)
    p = subprocess.run(["meson", "test", "-C", build, "--wrapper", wrapper],
                       env=clean_env({"TMPDIR": tmp}), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    check(p.returncode != 0, "meson test failed: %s" % p.stdout.decode())
    logs = glob.glob(os.path.join(build, "meson-logs", "testlog-*.json"))
    eq(len(logs), 1, "meson's log of the wrapped run: %r" % logs)
    with open(logs[0]) as f:
        tests = {r["name"]: r for r in map(json.loads, f)}
    eq({n: (r["result"], r["returncode"]) for n, r in tests.items()},
       {"clean": ("OK", 0), "leak": ("FAIL", 1), "grow": ("FAIL", 1),
        "thread": ("FAIL", 1)}, "results")
    eq({n: r["stdout"] for n, r in tests.items()},
       {"clean": "clean: ok\n", "leak": "leak: done\n",
        "grow": "grow: 100 records\n", "thread": "thread: left running\n"},
       "each test's standard output is its own")
    err = {n: r.get("stderr", "") for n, r in tests.items()}
    check(re.search(r"^ok  fixture-clean \(pid \d+\), ", err["clean"], re.M)
          and "\nresult: pass: 0 findings in 0 of 1 dump\n" in err["clean"],
          "clean's log: %s" % err["clean"])
    want_leak_findings(err["leak"])
    check("result: FAIL: 3 findings in 1 of 1 dump" in err["leak"],
          "leak's result: %s" % err["leak"])
    grow = findings(err["grow"])
    eq([(h.split(":")[0], f) for h, f in grow],
       [("growth", [frame("grow.c", "add_record", "add_record"),
                    frame("grow.c", "main", "main calls add_record")])],
       "grow's finding in:\n%s" % err["grow"])
    check(re.search(r"up \d+ bytes to 100000 bytes \(97.7 KiB\) in 100 "
                    r"blocks", grow[0][0]), "grow's size: %r" % grow[0][0])
    eq(findings(err["thread"]),
       [('thread leak: 1 thread "lingerer" running linger, still running '
         'at exit, created from',
         [frame("thread.c", "start_lingerer", "thread"),
          ("main", "thread.c", site_lines(os.path.join(
              FIXTURE_SRC, "thread.c"), "main calls start_lingerer"))])],
       "thread's finding in:\n%s" % err["thread"])
    # The three failing tests' directories, one dump each, kept.
    kept = sorted(sorted(os.listdir(os.path.join(tmp, d)))
                  for d in os.listdir(tmp))
    eq([[re.sub(r"\.\d+\.lsd$", "", f) for f in d] for d in kept],
       [["leakspy.fixture-grow"], ["leakspy.fixture-leak"],
        ["leakspy.fixture-thread"]], "the dumps kept")
    dumps = sorted(os.path.join(tmp, d, f) for d in os.listdir(tmp)
                   for f in os.listdir(os.path.join(tmp, d)))
    ci_formats(dumps)


def ci_formats(dumps):
    """The fixture's failing dumps in SARIF, valid for Microsoft's
    validator with each finding at its line of the fixture's sources, and
    in JUnit, read back by junitparser with each failure's stack."""
    p = subprocess.run([REPORT, "--check", "--format", "sarif",
                        "--source-root", FIXTURE_SRC] + dumps,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 1, "--format sarif: %s" % p.stderr.decode())
    eq([v for v in validate(p.stdout) if v[0] in ("error", "warning")], [],
       "the validator's errors and warnings")
    log = json.loads(p.stdout)
    got = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]
                  ["artifactLocation"]["uri"],
                  r["locations"][0]["physicalLocation"]["region"]
                  ["startLine"]) for r in log["runs"][0]["results"])
    want = sorted([
        ("LSK001", "leak.c", site_lines(os.path.join(FIXTURE_SRC, "leak.c"),
                                        "make_node")),
        ("LSK001", "leak.c", site_lines(os.path.join(FIXTURE_SRC, "leak.c"),
                                        "make_holder")),
        ("LSK002", "leak.c", site_lines(os.path.join(FIXTURE_SRC, "leak.c"),
                                        "make_buffer")),
        ("LSK005", "grow.c", site_lines(os.path.join(FIXTURE_SRC, "grow.c"),
                                        "add_record")),
        ("LSK004", "thread.c", site_lines(os.path.join(FIXTURE_SRC,
                                                       "thread.c"),
                                          "thread"))])
    eq(got, want, "SARIF results at the fixture's lines")
    p = subprocess.run([REPORT, "--check", "--format", "junit"] + dumps,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 1, "--format junit: %s" % p.stderr.decode())
    jp = junitparser()
    path = os.path.join(tempfile.mkdtemp(prefix="lst."), "gate.xml")
    with open(path, "wb") as f:
        f.write(p.stdout)
    cases = {}
    for suite in jp.JUnitXml.fromfile(path):
        for case in suite:
            cases[case.name.split(" ")[0]] = [
                (r.type, r.text) for r in case.result
                if isinstance(r, jp.Failure)]
    eq(sorted(cases), ["fixture-grow", "fixture-leak", "fixture-thread"],
       "JUnit's test cases")
    eq(sorted(t for t, _ in cases["fixture-leak"]),
       ["definite", "definite", "indirect"], "leak's failures")
    for name, fn in (("fixture-leak", "make_node"),
                     ("fixture-grow", "add_record"),
                     ("fixture-thread", "start_lingerer")):
        check(any(text.startswith("#0 %s at " % fn) for _, text in
                  cases[name]), "%s's failure carries its stack: %r" %
              (name, cases[name]))


# --- exit status ---

def test_exit_clean():
    r = Gate(["--check", "--", prog("clean")])
    eq((r.rc, r.out), (0, b"clean: ok\n"), "status, output")
    eq(r.left, [], "the private directory removed")
    eq(r.err.splitlines()[-1], "result: pass: 0 findings in 0 of 1 dump",
       "stderr: %s" % r.err)


def test_exit_leak():
    r = Gate(["--check", "--", prog("leak")])
    eq((r.rc, r.out), (1, b"leak: done\n"), "status, output")
    want_leak_findings(r.err)
    d, dumps = r.kept()
    eq(len(dumps), 1, "one dump kept: %r" % dumps)
    check(re.fullmatch(r"leakspy\.fixture-leak\.\d+\.lsd", dumps[0]),
          "its name: %r" % dumps[0])
    # The dump kept gives the same verdict by hand.
    p = subprocess.run([REPORT, "--check", os.path.join(d, dumps[0])],
                       stdout=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 1, "leakspy-report --check on the dump kept")
    want_leak_findings(p.stdout.decode())


def test_script():
    """A test that is a script running the program: the program executed
    is traced and judged too (the gate follows exec unless told not to),
    so its leak fails the script; LEAKSPY_FOLLOW_EXEC=0 judges the script
    alone."""
    script = ["/bin/sh", "-c", "%s; true" % shlex.quote(prog("leak"))]
    r = Gate(["--check", "--"] + script)
    eq((r.rc, r.out), (1, b"leak: done\n"), "status, output")
    want_leak_findings(r.err)
    d, dumps = r.kept()
    eq(sorted(re.sub(r"\.\d+\.lsd$", "", f) for f in dumps),
       ["leakspy.fixture-leak", "leakspy.sh"], "the dumps kept")
    r = Gate(["--check", "--"] + script, env={"LEAKSPY_FOLLOW_EXEC": "0"})
    eq(r.rc, 0, "the script alone (stderr: %s)" % r.err)


def test_exitcode():
    r = Gate(["--check", "--exitcode", "23", "--", prog("leak")])
    eq(r.rc, 23, "--exitcode 23 on findings")
    r.kept()
    r = Gate(["--check", "--exitcode=0", "--", prog("thread")])
    eq(r.rc, 0, "--exitcode 0 on findings")
    r.kept()
    r = Gate(["--check", "--exitcode", "23", "--", prog("clean")])
    eq((r.rc, r.left), (0, []), "--exitcode 23 when clean")


def test_command_fails():
    # Its own status wins, leaks or not; the dumps are kept.
    r = Gate(["--check", "--", prog("leak"), "5"])
    eq(r.rc, 5, "a leaking command that exits 5")
    want_leak_findings(r.err)
    r.kept()
    r = Gate(["--check", "--exitcode", "23", "--", prog("clean"), "7"])
    eq(r.rc, 7, "a clean command that exits 7")
    r.kept()


def test_command_killed():
    r = Gate(["--check", "--", "/bin/sh", "-c", "kill -TERM $$"])
    eq(r.rc, -signal.SIGTERM, "the command died of SIGTERM, and so does "
       "leakspy")
    d, dumps = r.kept()
    eq(len(dumps), 1, "its dump kept: %r" % dumps)
    # SIGTERM sent to leakspy goes on to the command.
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--check", "--", prog("grow")],
                         env=clean_env({"TMPDIR": tmp}),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=TIMEOUT)
    eq((p.returncode, out), (-signal.SIGTERM, b""), "grow stopped by "
       "SIGTERM: status, output")
    eq(len(os.listdir(tmp)), 1, "its directory kept")


def test_usage():
    """Refused before the command runs: exit 2, nothing run."""
    for args, msg in (
            (["--format", "xml"], "leakspy: --format=xml: want text, json, "
             "junit, sarif or lsan"),
            (["--exitcode", "256"], "leakspy: --exitcode=256: want 0 to "
             "255"),
            (["--check-output", "r.%q"], "leakspy: --check-output=r.%q: an "
             "unknown % escape (known: %p, %%)"),
            (["--fail-on", "nope"], "leakspy-report: --fail-on wants words "
             "of definite, indirect, possible, thread, growth, lost and "
             "all, separated by commas, not 'nope'"),
            (["--max-growth", "fast"], "leakspy-report: --max-growth wants "
             "a rate (1MiB/h, 10KiB/s) or a size (10MiB), not 'fast'"),
            (["--suppressions", "/nonexistent/supp"], "leakspy: "
             "--suppressions=/nonexistent/supp: No such file or "
             "directory"),
            (["-q"], "leakspy: --check waits for the command: it cannot go "
             "with -q")):
        r = Gate(["--check"] + args + ["--", "touch", "ran"])
        eq((r.rc, r.out, r.err.splitlines()), (2, b"", [msg]), " ".join(args))
        eq((os.listdir(r.cwd), r.left), ([], []), "nothing ran")
    r = Gate(["--fail-on", "definite", "--", "touch", "ran"])
    eq((r.rc, r.err.splitlines()), (2, ["leakspy: --fail-on goes with "
                                        "--check"]), "without --check")
    eq(os.listdir(r.cwd), [], "nothing ran")


def test_sampled():
    """Sampled mode cannot scan the heap: the gate says so, and cannot
    judge (3), by option or by the environment."""
    for args, env, value in ((["-S", "1M"], None, "1M"),
                             ([], {"LEAKSPY_SAMPLE": "64k"}, "64k")):
        r = Gate(args + ["--check", "--", prog("leak")], env=env)
        eq(r.rc, 3, "sampled %s: status" % value)
        eq(r.err.splitlines()[0], "leakspy: --check: sampled "
           "(LEAKSPY_SAMPLE=%s): the heap cannot be scanned, so the check "
           "cannot judge what was lost at exit" % value, "the warning")
        check("\nresult: NO VERDICT: " in r.err, "the report: %s" % r.err)
        r.kept()


def test_no_dump():
    # A static program writes no dump: nothing to judge.
    r = Gate(["--check", "-o", "/nonexistent/x.%p.lsd", "--", prog("clean")])
    eq(r.rc, 3, "no dump: status")
    check("leakspy: --check: no dump of this run matches "
          "/nonexistent/x.%p.lsd: nothing to check" in r.err.splitlines(),
          "stderr: %s" % r.err)


def test_settings():
    """A snapshot a second and the private directory, unless chosen."""
    sh = ["/bin/sh", "-c", "echo $LEAKSPY_INTERVAL $LEAKSPY_OUTPUT"]
    r = Gate(["--check", "--"] + sh)
    eq(r.rc, 0, "status (stderr: %s)" % r.err)
    interval, out = r.out.decode().split()
    eq(interval, "1", "the interval")
    check(re.fullmatch(re.escape(r.tmpdir) + r"/leakspy-check\.\w{6}/"
                       r"leakspy\.%e\.%p\.lsd", out), "the template: %r" % out)
    eq(r.left, [], "removed")
    r = Gate(["-i", "0.5", "--check", "--"] + sh)
    eq((r.rc, r.out.split()[0]), (0, b"0.5"), "-i 0.5")
    r = Gate(["--check", "--"] + sh, env={"LEAKSPY_INTERVAL": "2"})
    eq((r.rc, r.out.split()[0]), (0, b"2"), "LEAKSPY_INTERVAL=2")


def test_own_template():
    """With -o the dumps go there, are named, and stay; only the run's
    own are judged."""
    cwd = tempfile.mkdtemp(prefix="lst.")
    r = Gate(["-o", "d-%e.%p.lsd", "--check", "--", prog("leak")], cwd=cwd)
    eq(r.rc, 1, "the leak")
    r = Gate(["-o", "d-%e.%p.lsd", "--check", "--", prog("clean")], cwd=cwd)
    eq(r.rc, 0, "clean, beside the leak's old dump")
    dumps = sorted(os.listdir(cwd))
    eq([re.sub(r"\.\d+\.lsd$", "", d) for d in dumps],
       ["d-fixture-clean", "d-fixture-leak"], "both dumps stay")
    clean = [d for d in dumps if "clean" in d][0]
    eq(r.err.splitlines()[-2:], [
        "leakspy: dump: %s (fixture-clean, pid %s)" % (clean,
                                                       clean.split(".")[1]),
        "leakspy: read it with: %s %s" % (os.path.realpath(REPORT), clean)],
       "named")
    eq(r.left, [], "no private directory")


def test_descendants():
    # With -f the program a shell executes is checked too.
    r = Gate(["-f", "--check", "--", "/bin/sh", "-c",
              "%s; exit 0" % prog("leak")])
    eq(r.rc, 1, "the shell's child leaks")
    check(re.search(r"^FAIL  fixture-leak \(pid \d+\), .*: 3 findings$",
                    r.err, re.M), "stderr: %s" % r.err)
    d, dumps = r.kept()
    check(any(x.startswith("leakspy.fixture-leak.") for x in dumps),
          "the child's dump: %r" % dumps)


def test_check_output():
    """--check-output FILE (%p the command's pid): the report there, in
    the format asked, and not on stderr."""
    cwd = tempfile.mkdtemp(prefix="lst.")
    r = Gate(["--check", "--format", "json", "--check-output",
              "r.%p.json", "--", prog("leak")], cwd=cwd)
    eq((r.rc, r.out), (1, b"leak: done\n"), "status, output")
    d, dumps = r.kept()
    pid = dumps[0].split(".")[2]
    eq(sorted(os.listdir(cwd)), ["r.%s.json" % pid], "the report's file")
    with open(os.path.join(cwd, "r.%s.json" % pid)) as f:
        json.load(f)
    eq(r.err.splitlines(), [KEPT + d], "stderr: only the directory kept")


def test_lsan_log_path():
    """--format lsan with LSAN_OPTIONS's log_path (as CTest's memcheck
    quotes it): the report goes to PATH.PID, as LeakSanitizer's would."""
    logs = tempfile.mkdtemp(prefix="lst.")
    base = os.path.join(logs, "MemoryChecker.7.log")
    r = Gate(["--check", "--format", "lsan", "--", prog("leak")],
             env={"LSAN_OPTIONS": "log_path='%s':verbosity=0" % base})
    eq(r.rc, 1, "status (stderr: %s)" % r.err)
    d, dumps = r.kept()
    pid = dumps[0].split(".")[2]
    eq(os.listdir(logs), ["MemoryChecker.7.log." + pid], "the log")
    with open(base + "." + pid) as f:
        text = f.read()
    check("Direct leak of 144 byte(s) in 3 object(s) allocated from:" in
          text and "Indirect leak of 100 byte(s) in 1 object(s)" in text,
          "the log: %s" % text)


# A stand-in for leakspy-report beside a copy of the launcher: it notes
# its arguments and exits as FAKE_RC says (after --help: 0).
FAKE = """#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done >> "$FAKE_LOG"
echo END >> "$FAKE_LOG"
for a in "$@"; do [ "$a" = --help ] && exit 0; done
[ "$FAKE_RC" = kill ] && kill -KILL $$
exit "$FAKE_RC"
"""


def fake_launcher():
    root = tempfile.mkdtemp(prefix="lst.")
    os.makedirs(os.path.join(root, "tools"))
    os.makedirs(os.path.join(root, "preload"))
    shutil.copy(LAUNCHER, os.path.join(root, "tools", "leakspy"))
    os.symlink(LIB, os.path.join(root, "preload", "libleakspy.so"))
    with open(os.path.join(root, "tools", "leakspy-report"), "w") as f:
        f.write(FAKE)
    os.chmod(os.path.join(root, "tools", "leakspy-report"), 0o755)
    return root


def fake_run(root, args, rc):
    log = os.path.join(root, "log.%s" % rc)
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.run([os.path.join(root, "tools", "leakspy")] + args,
                       cwd=root, env=clean_env({"FAKE_LOG": log,
                                                "FAKE_RC": str(rc),
                                                "TMPDIR": tmp}),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    with open(log) as f:
        calls = [c.splitlines() for c in f.read().split("END\n")[:-1]]
    return p, calls, tmp


def test_report_args():
    """What leakspy-report gets: the gate's options as given, before
    --help first, then with the output file and the run's dumps."""
    root = fake_launcher()
    opts = ["--fail-on", "definite,growth", "--max-growth", "1MiB/h",
            "--suppressions", "/dev/null", "--suppressions", "/dev/null",
            "--no-builtin-suppressions", "--gen-suppressions",
            "--baseline", "/dev/null", "--write-baseline", "wb",
            "--format", "sarif", "--source-root", "/src"]
    p, calls, tmp = fake_run(root, ["--check"] + opts + [
        "--check-output", "out.%p.sarif", "--exitcode", "9", "--",
        prog("clean")], 1)
    eq(p.returncode, 9, "findings: --exitcode 9 (stderr: %r)" % p.stderr)
    eq(len(calls), 2, "the report ran twice: %r" % calls)
    eq(calls[0], ["--check"] + opts + ["--help"], "the first call")
    (d,) = os.listdir(tmp)
    (dump,) = os.listdir(os.path.join(tmp, d))
    pid = dump.split(".")[2]
    eq(calls[1], ["--check"] + opts + [
        "-o", "out.%s.sarif" % pid, "--", os.path.join(tmp, d, dump)],
       "the second call")


def test_report_status():
    """Each status of leakspy-report, and what leakspy makes of it."""
    root = fake_launcher()
    for rc, want in ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 3),
                     ("kill", 3)):
        p, calls, tmp = fake_run(root, ["--check", "--", prog("clean")], rc)
        eq(p.returncode, want, "leakspy-report exits %s" % rc)
        eq(len(os.listdir(tmp)), 0 if rc == 0 else 1,
           "the directory kept unless clean")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
