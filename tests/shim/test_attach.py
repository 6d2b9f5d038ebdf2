#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tracking that starts in a running process: libleakspy.so loaded by
dlopen(RTLD_LOCAL) stays dormant, leakspy_attach() redirects the loaded
objects' GOT entries (and those of objects loaded later), and
leakspy_detach() puts them back.  tests/victims/selfattach.c makes the
calls itself, as `leakspy attach` makes them from outside.
Usage: test_attach.py TEST"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

PLUGIN = os.path.join(VICTIMS, "libplugin.so")
DEMO = os.path.join(BUILD, "tools", "leakspy-demo")


def selfattach(tmp_settings=""):
    settings = "LEAKSPY_OUTPUT=%s/attach.lsd\nLEAKSPY_INTERVAL=0\n" + \
        tmp_settings
    d = tmpdir()
    r = run([victim("selfattach"), LIB, settings % d, PLUGIN],
            preload=False, cwd=d, want_rc=0)
    dumps = sorted(f for f in os.listdir(d) if f.endswith(".lsd"))
    eq(dumps, ["attach.lsd"], "the dumps written (the settings' path only)")
    return r, os.path.join(d, "attach.lsd")


def test_figures():
    """Exactly what was allocated after the attach and still live at the
    detach; blocks from before are unknown, their frees counted."""
    r, dump = selfattach()
    eq(r.out.decode().splitlines(), [
        "errno after attach: 1234",
        "second attach: -17 (leakspy is attached already)",
        "detach: 0, errno 4321",
        "second detach: -2 (leakspy is not attached)",
        "selfattach: ok"], "the victim's output")
    eq(r.err, b"", "nothing written to the program's stderr")
    rep = report(dump)
    expect_site(rep, "after_attach", 48000, 1000)
    expect_site(rep, "after_calloc", 6 * 4096, 6)
    expect_site(rep, "after_realloc", 5000, 1)
    # Loaded after the attach: redirected by the writer's look.
    expect_site(rep, "plugin_leak", 2 * 777, 2)
    for fn in ("before_attach", "after_detach"):
        eq(by_function(rep, fn), (0, 0), "live figures of %s" % fn)
    # 50 frees and a realloc of blocks from before the attach.
    eq(rep["coverage"]["unknown_frees"], 51, "frees of unknown blocks")
    eq(rep["coverage"]["attached"], True, "coverage.attached")
    eq(rep["final"]["how"], "detach", "how the dump ended")
    eq(rep["snapshot"]["reason"], "detach", "the last snapshot's reason")
    eq((rep["scan"]["complete"], rep["scan"]["reason"]),
       (False, "blocks allocated before the attach are not known"),
       "the scan at the detach")
    text, _ = report_text(dump)
    check("\nattached:  " in text and "tracking since the attach" in text,
          "the text report says tracking began at the attach:\n" + text)


def test_dormant():
    """Loaded by dlopen and never attached: no dump, nothing changed."""
    d = tmpdir()
    r = run([victim("selfattach"), LIB, "", PLUGIN, "dormant"],
            preload=False, cwd=d, want_rc=0)
    eq(r.out, b"dormant: ok\n", "the victim's output")
    eq([f for f in os.listdir(d) if f.endswith(".lsd")], [], "dumps")


class Target:
    """A process started without leakspy, its stdin and stdout piped,
    in a directory of its own (where the dumps go)."""

    def __init__(self, argv, env=None):
        self.dir = tmpdir()
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("LEAKSPY_") and k != "LD_PRELOAD"}
        e.update(env or {})
        self.p = subprocess.Popen(argv, cwd=self.dir, env=e,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.pid = self.p.pid

    def line(self):
        return self.p.stdout.readline()

    def send(self, b):
        self.p.stdin.write(b)
        self.p.stdin.flush()

    def finish(self):
        out, err = self.p.communicate(timeout=60)
        return self.p.returncode, out, err

    def dumps(self):
        return sorted(os.path.join(self.dir, f)
                      for f in os.listdir(self.dir) if f.endswith(".lsd"))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def leakspy(*args, want_rc=None, cwd=None, pre=()):
    """leakspy ARGS (after the command prefix pre); (rc, stderr)."""
    p = subprocess.run(list(pre) + [LAUNCHER] + list(args), cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    err = p.stderr.decode(errors="replace")
    if "Operation not permitted" in err and want_rc == 0:
        raise Skip("this machine forbids ptrace: " + err.strip())
    if want_rc is not None:
        eq(p.returncode, want_rc, "exit status of leakspy %s (stderr: %s)"
           % (" ".join(args), err))
    return p.returncode, err


def blocked_in(pid, nr):
    """Wait until pid's main thread is blocked in system call nr."""
    for _ in range(500):
        with open("/proc/%d/syscall" % pid) as f:
            if f.read().split(" ")[0] == str(nr):
                return
        time.sleep(0.01)
    raise Fail("process %d never blocked in system call %d" % (pid, nr))


def test_demo():
    """The README's demo, attached to mid-run: its growing site is found
    at the rate it grows; it serves every query and exits as without."""
    qps = 500
    t = Target([DEMO, "-s", "5", "-q", str(qps)])
    try:
        time.sleep(1.0)
        leakspy("attach", "--background", "-i", "0.5", str(t.pid),
                want_rc=0, cwd=t.dir)
        time.sleep(2.5)
        leakspy("detach", str(t.pid), want_rc=0)
        rc, out, err = t.finish()
    finally:
        t.kill()
    eq(rc, 0, "the demo's exit status")
    m = re.match(rb"leakspy-demo: (\d+) queries, (\d+) registrations", out)
    check(m and m.group(1) == m.group(2), "the demo's output: %r" % out)
    served = int(m.group(1))
    check(served > 4 * qps, "queries served: %d" % served)
    dumps = t.dumps()
    eq(len(dumps), 1, "dumps written")
    rep = report(dumps[0])
    top = rep["sites"][0]
    eq(top["frames"][0]["function"], "fetch_result", "the top site")
    eq(top["growth"]["verdict"], "growing", "its verdict")
    # fetch_result keeps one block of 2368 bytes a query.
    rate, want = top["growth"]["bytes_per_second"], served / 5 * 2368
    check(abs(rate - want) < want * 0.2,
          "growth rate %.0f B/s, want about %.0f" % (rate, want))
    eq(rep["final"]["how"], "detach", "how the dump ended")


def blocked_case(mode, nr, feed, want):
    t = Target([victim("attachee"), mode])
    try:
        eq(t.line(), b"ready\n", "the victim started")
        blocked_in(t.pid, nr)
        leakspy("attach", "--background", "-i", "0", str(t.pid),
                want_rc=0, cwd=t.dir)
        leakspy("detach", str(t.pid), want_rc=0)
        if feed:
            t.send(feed)
        rc, out, _ = t.finish()
    finally:
        t.kill()
    eq((rc, out), (0, want), "%s: exit status and output" % mode)
    rep = report(t.dumps()[0])
    eq(rep["final"]["how"], "detach", "how the dump ended")


def test_blocked():
    """Blocked in read(), epoll_wait() and nanosleep() while attached and
    detached: each call goes on as without, no EINTR; a pending signal
    stays pending."""
    blocked_case("read", 0, b"hello\n", b"read 6 errno 0\n")
    blocked_case("epoll", 232, b"hello\n", b"epoll 1 errno 0, read 6\n")
    blocked_case("sleep", 230, None,
                 b"nanosleep 0 errno 0, the whole 2 s: yes\n")
    # A signal the program blocked stays pending, its mask and
    # dispositions as they were.
    blocked_case("pending", 0, b"hello\n", b"read 6 errno 0\n"
                 b"SIGUSR1 pending 1, blocked 1; SIGUSR2 ignored 1; "
                 b"SIGSEGV handled 1\n")


def test_threads():
    """8 threads allocating while leakspy attaches: the dump holds exactly
    the blocks whose malloc went through leakspy's."""
    t = Target([victim("attachee"), "threads"])
    try:
        eq(t.line(), b"ready\n", "the victim started")
        time.sleep(0.2)
        leakspy("attach", "--background", "-i", "0", str(t.pid),
                want_rc=0, cwd=t.dir)
        time.sleep(0.5)
        t.send(b"p\n")
        eq(t.line(), b"paused\n", "the threads stopped")
        leakspy("detach", str(t.pid), want_rc=0)
        t.send(b"r\n")
        rc, out, _ = t.finish()
    finally:
        t.kill()
    eq(rc, 0, "exit status")
    n = int(out.split()[1])
    check(n > 1000, "blocks allocated while attached: %d" % n)
    rep = report(t.dumps()[0])
    expect_site(rep, "worker", 48 * n, n)
    eq(rep["coverage"]["unknown_frees"], 0, "frees of unknown blocks")


def test_again():
    """Detach, the blocks tracked freed, attach again: a second dump with
    the second stretch's blocks only."""
    t = Target([victim("attachee"), "threads"])
    try:
        eq(t.line(), b"ready\n", "the victim started")
        for _ in range(2):
            leakspy("attach", "--background", "-i", "0", str(t.pid),
                    want_rc=0, cwd=t.dir)
            time.sleep(0.3)
            leakspy("detach", str(t.pid), want_rc=0)
        t.send(b"p\n")
        eq(t.line(), b"paused\n", "the threads stopped")
        t.send(b"r\n")
        rc, out, _ = t.finish()
    finally:
        t.kill()
    eq(rc, 0, "exit status")
    dumps = t.dumps()
    eq(len(dumps), 2, "a dump for each attach")
    live = [by_function(report(d), "worker")[1] for d in dumps]
    check(all(n > 100 for n in live), "blocks of each stretch: %r" % live)
    # The threads allocate while the last snapshot is written and the
    # entries go back: what they allocate between the two is redirected
    # but in no snapshot.
    n = int(out.split()[1])
    check(n * 0.9 <= sum(live) <= n, "blocks of both together: %d, of %d "
          "redirected" % (sum(live), n))


def test_refusals():
    """Each refusal with its message, exit 1, the process untouched."""
    leakspy("attach", "12x", want_rc=2)
    rc, err = leakspy("attach", "4000000", want_rc=1)
    check("no process 4000000" in err, err)
    # A static executable.
    t = Target([victim("static_victim"), "read"])
    try:
        eq(t.line(), b"ready\n", "the static victim started")
        rc, err = leakspy("attach", str(t.pid), want_rc=1)
        check("statically linked" in err, err)
    finally:
        t.kill()
    # Traced already (strace).
    if shutil_which("strace"):
        t = Target(["strace", "-o", "/dev/null", victim("attachee"),
                    "read"])
        try:
            eq(t.line(), b"ready\n", "the victim started under strace")
            kids = open("/proc/%d/task/%d/children" % (t.pid, t.pid)
                        ).read().split()
            rc, err = leakspy("attach", kids[0], want_rc=1)
            check("traced already" in err and "strace" in err, err)
        finally:
            t.kill()
    # Another user's process, leakspy without CAP_SYS_PTRACE.
    if os.geteuid() == 0 and shutil_which("setpriv"):
        t = Target([victim("attachee"), "read"])
        try:
            eq(t.line(), b"ready\n", "the victim started")
            rc, err = leakspy("attach", str(t.pid), want_rc=1,
                              pre=["setpriv", "--reuid=65534",
                                   "--regid=65534", "--clear-groups",
                                   "--inh-caps=-all"])
            check("runs as user 0 and leakspy as user 65534" in err, err)
        finally:
            t.kill()
    # leakspy preloaded already.
    t = Target([victim("attachee"), "read"], env={"LD_PRELOAD": LIB})
    try:
        eq(t.line(), b"ready\n", "the victim started")
        rc, err = leakspy("attach", str(t.pid), want_rc=1)
        check("runs in this process already (preloaded)" in err, err)
    finally:
        t.kill()
    # Attached already; detach where leakspy was never loaded.
    t = Target([victim("attachee"), "read"])
    try:
        eq(t.line(), b"ready\n", "the victim started")
        rc, err = leakspy("detach", str(t.pid), want_rc=1)
        check("leakspy is not loaded" in err, err)
        leakspy("attach", "--background", str(t.pid), want_rc=0,
                cwd=t.dir)
        rc, err = leakspy("attach", "--background", str(t.pid),
                          want_rc=1, cwd=t.dir)
        check("attached already" in err, err)
        leakspy("detach", str(t.pid), want_rc=0)
        rc, err = leakspy("detach", str(t.pid), want_rc=3)
        check("leakspy is not attached" in err, err)
        t.send(b"x\n")
        eq(t.finish()[:2], (0, b"read 2 errno 0\n"), "the victim went on")
    finally:
        t.kill()


def shutil_which(name):
    import shutil
    return shutil.which(name)


def test_ctrl_c():
    """leakspy attach in the foreground: SIGINT detaches."""
    t = Target([victim("attachee"), "read"])
    try:
        eq(t.line(), b"ready\n", "the victim started")
        a = subprocess.Popen([LAUNCHER, "attach", "-i", "0", str(t.pid)],
                             cwd=t.dir, stderr=subprocess.PIPE)
        for _ in range(500):
            if t.dumps():
                break
            time.sleep(0.01)
        time.sleep(0.2)
        a.send_signal(signal.SIGINT)
        _, err = a.communicate(timeout=60)
        eq(a.returncode, 0, "leakspy attach's exit status (%s)" % err)
        check(b"detached from process" in err, err)
        t.send(b"x\n")
        eq(t.finish()[:2], (0, b"read 2 errno 0\n"), "the victim went on")
    finally:
        t.kill()
    eq(report(t.dumps()[0])["final"]["how"], "detach", "the dump's end")


if __name__ == "__main__":
    sys.exit(main({"attach_figures": test_figures,
                  "attach_dormant": test_dormant,
                  "attach_demo": test_demo,
                  "attach_blocked": test_blocked,
                  "attach_threads": test_threads,
                  "attach_again": test_again,
                  "attach_refusals": test_refusals,
                  "attach_ctrl_c": test_ctrl_c}))
