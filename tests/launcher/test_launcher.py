#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The launcher, leakspy(1): it passes the command's exit status and the
signals it receives on, stays out of the way, and refuses bad templates
and snapshot signals.  Usage: test_launcher.py TEST"""

import ctypes
import fcntl
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

SIGCOUNT = os.path.join(BUILD, "tests", "launcher", "sigcount")
# leakspy-report as the launcher names it when it is not the one in PATH.
REPORT_PATH = os.path.realpath(REPORT)
PATH = "/usr/bin:/bin"


def env_for(extra=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LEAKSPY_") and k != "LD_PRELOAD"}
    e["PATH"] = PATH
    e["LEAKSPY_INTERVAL"] = "0"
    e.update(extra or {})
    return e


def launch(args, env=None, cwd=None, stdin=subprocess.DEVNULL, **kw):
    """Run the launcher with args in a fresh directory (or cwd)."""
    tmp = cwd or tempfile.mkdtemp(prefix="lst.")
    p = subprocess.run([LAUNCHER] + args, cwd=tmp, env=env_for(env),
                       stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT, **kw)
    dumps = sorted(f for f in os.listdir(tmp) if f.endswith(".lsd"))
    return Run(p.returncode, p.stdout, p.stderr, dumps, tmp)


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def pid_of(name):
    """The pid in a dump's name, leakspy.PROG.PID.lsd."""
    return int(name.split(".")[2])


def process(tmp, name):
    """The PROCESS record of a dump, whatever else it holds."""
    p = subprocess.run([REPORT, "--format", "json", os.path.join(tmp, name)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    return json.loads(p.stdout)["process"]


def dump_pid(tmp, name):
    return process(tmp, name)["pid"]


def prog_of(tmp, name):
    """The program's name as a dump gives it (sh may be dash)."""
    proc = process(tmp, name)
    return proc.get("name") or os.path.basename(proc["exe"])


def lines(b):
    return b.decode().splitlines()


def tell_one(path, prog, pid, report_cmd=REPORT_PATH):
    return ["leakspy: dump: %s (%s, pid %d)" % (path, prog, pid),
            "leakspy: read it with: %s %s" % (report_cmd, path)]


# --- staying out of the way ---

def test_exit_status():
    r = launch(["--", victim("leaky_fp")])
    eq((r.rc, r.out), (3, b"leaky: done\n"), "leaky_fp's status, output")
    for code in (0, 1, 42, 255):
        r = launch(["--", "/bin/sh", "-c", "exit %d" % code])
        eq(r.rc, code, "exit %d passed on" % code)


def test_death_by_signal():
    # The parent sees the launcher die of the signal the command died of.
    for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGSEGV,
                signal.SIGUSR1):
        r = launch(["--", "/bin/sh", "-c", "kill -%d $$" % sig],
                   preexec_fn=no_core)
        eq(r.rc, -sig, "death by %s" % sig.name)


def test_sigterm_forwarded():
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--", victim("sleeper"), "8000"],
                         cwd=tmp, env=env_for(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    wait_for_dump(tmp, p)
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=TIMEOUT)
    eq(p.returncode, -signal.SIGTERM, "the command died of SIGTERM")
    check(time.monotonic() - t0 < 4, "it died when told, not at the end")
    eq(out, b"", "sleeper printed nothing: it did not finish")
    d = [f for f in os.listdir(tmp) if f.endswith(".lsd")]
    eq(len(d), 1, "one dump")
    eq(err, b"", "stderr")


def wait_for_dump(tmp, p, n=1):
    """Until the command's dumps exist: it runs, under the shim."""
    deadline = time.monotonic() + 10
    while len([f for f in os.listdir(tmp) if f.endswith(".lsd")]) < n:
        check(p.poll() is None, "the command is still running")
        check(time.monotonic() < deadline, "no dump appeared")
        time.sleep(0.02)


def read_line(f, timeout=10):
    r, _, _ = select.select([f], [], [], timeout)
    check(r, "a line within %d s" % timeout)
    return f.readline()


def start_sigcount(args=(), **kw):
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--", SIGCOUNT] + list(args), cwd=tmp,
                         env=env_for(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, **kw)
    eq(read_line(p.stdout), b"ready\n", "sigcount started")
    return p


def finish_sigcount(p):
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=TIMEOUT)
    eq(p.returncode, 0, "sigcount exit status (stderr: %r)" % err)
    return lines(out)


def test_signals_forwarded():
    # From another process: each reaches the command once, sent by its
    # parent (the launcher); a queued one keeps its value.
    p = start_sigcount()
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGUSR1):
        p.send_signal(sig)
        time.sleep(0.1)
    libc = ctypes.CDLL(None, use_errno=True)
    rt = signal.SIGRTMIN + 1
    eq(libc.sigqueue(p.pid, rt, ctypes.c_void_p(42)), 0, "sigqueue")
    eq(finish_sigcount(p), ["HUP parent", "INT parent", "USR1 parent",
                            "RTMIN+1 parent 42", "TERM parent"],
       "signals the command received")


def test_terminal_signals():
    # Ctrl-C at the terminal reaches the command once, from the kernel:
    # the launcher, in the same foreground process group, does not pass
    # its own copy on.
    master, slave = os.openpty()

    def ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = start_sigcount(["spin"], stdin=slave, start_new_session=True,
                       preexec_fn=ctty)
    os.close(slave)
    os.write(master, b"\x03")
    time.sleep(0.3)
    got = finish_sigcount(p)
    os.close(master)
    eq(got, ["INT kernel", "TERM parent"], "signals the command received")


def test_group_signal_from_command():
    # The command signals its own process group, the launcher in it:
    # the launcher does not send it back.
    p = start_sigcount(["group"], start_new_session=True)
    eq(finish_sigcount(p), ["USR1 self", "TERM parent"],
       "signals the command received")


def test_dies_with_launcher():
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--", victim("sleeper"), "8000"],
                         cwd=tmp, env=env_for(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    wait_for_dump(tmp, p)
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        child = int(f.read().split()[0])
    p.kill()
    p.communicate(timeout=TIMEOUT)
    deadline = time.monotonic() + 5
    while os.path.exists("/proc/%d" % child):
        with open("/proc/%d/stat" % child) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        check(time.monotonic() < deadline,
              "the command ended with the launcher")
        time.sleep(0.02)


def test_stdio_and_fds():
    # Input, output and descriptors are the launcher's own, no more: the
    # shell lists the same descriptors as under LD_PRELOAD alone.
    p = subprocess.run([LAUNCHER, "--", "cat"], input=b"abc\n",
                       env=env_for(), cwd=tempfile.mkdtemp(prefix="lst."),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq((p.returncode, p.stdout), (0, b"abc\n"), "cat's status, output")
    rfd, wfd = os.pipe()
    os.set_inheritable(rfd, True)
    cmd = ["/bin/sh", "-c", "ls /proc/$$/fd; :"]
    r = launch(["--"] + cmd, pass_fds=(rfd,))
    native = subprocess.run(cmd, pass_fds=(rfd,), stdout=subprocess.PIPE,
                            env=env_for({"LD_PRELOAD": LIB}),
                            cwd=tempfile.mkdtemp(prefix="lst."),
                            timeout=TIMEOUT)
    os.close(rfd)
    os.close(wfd)
    check(str(rfd).encode() in r.out.split(), "the passed fd is there")
    eq(r.out, native.stdout, "descriptors under the launcher")


def test_not_found():
    r = launch(["--", "/nonexistent/cmd"])
    eq((r.rc, lines(r.err)),
       (127, ["leakspy: /nonexistent/cmd: No such file or directory"]),
       "command not found")
    r = launch(["--", "/etc/passwd"])
    eq((r.rc, lines(r.err)),
       (126, ["leakspy: /etc/passwd: Permission denied"]),
       "command not executable")
    r = launch(["--", "no-such-command-anywhere"])
    eq(r.rc, 127, "not in PATH")


def test_quiet():
    # -q: the command is leakspy's own process.
    r = launch(["-q", "--", "/bin/sh", "-c", "echo $$; exit 5"])
    eq(r.rc, 5, "exit status")
    eq(r.err, b"", "nothing on stderr")
    eq(len(r.dumps), 1, "the dump is still written")
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--quiet", "--", "/bin/sh", "-c",
                          "echo $$"], cwd=tmp, env=env_for(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=TIMEOUT)
    eq((out, err), (b"%d\n" % p.pid, b""), "same pid, silent")
    r = launch(["-q", "--", "env", victim("leaky_fp")])
    eq((r.rc, r.err), (3, b""), "status, stderr")


# --- options ---

def test_bad_template():
    for t, why in (("x.%q.lsd", "an unknown % escape (known: %p, %e, %%)"),
                   ("x.lsd%", "a % at the end (write %% for a percent "
                    "sign)"),
                   ("", "the template is empty"),
                   ("dir/", "the template names a directory")):
        r = launch(["-o", t, "--", "true"])
        eq((r.rc, lines(r.err)), (2, ["leakspy: --output '%s': %s" %
                                      (t, why)]), "-o %r" % t)
        eq(r.dumps, [], "nothing run")


def test_bad_signal():
    hup = "services and their managers rely on it to stop or reload them"
    for s, why in (("TERM", hup), ("SIGINT", hup), ("1", hup),
                   ("KILL", "it cannot be caught"),
                   ("SEGV", "the kernel or the C library sends it on a "
                    "fault or a limit, and the program must die of it"),
                   ("CHLD", "the kernel and shells send it with a "
                    "meaning of their own"),
                   ("33", "the C library keeps it for its threads")):
        r = launch(["-s", s, "--", "true"])
        eq((r.rc, lines(r.err)),
           (2, ["leakspy: --signal %s cannot be the snapshot signal: %s" %
                (s, why)]), "-s %s" % s)
    for s in ("NOPE", "0", "65", "RTMIN+99"):
        r = launch(["-s", s, "--", "true"])
        eq((r.rc, lines(r.err)),
           (2, ["leakspy: --signal: unknown signal '%s'" % s]), "-s %s" % s)


def test_good_signals():
    # Each spelling of SIGUSR2 (and a real-time one) is taken; the
    # sleeper raising SIGUSR2 gets a snapshot for it.
    for s in ("USR2", "SIGUSR2", "12", "RTMIN+3"):
        r = launch(["-q", "-s", s, "--", "/bin/sh", "-c",
                    "echo $LEAKSPY_SIGNAL"])
        eq((r.rc, r.out, r.err), (0, s.encode() + b"\n", b""), "-s %s" % s)
    r = launch(["-s", "SIGUSR2", "--", victim("sleeper"), "200", "raise"])
    eq(r.rc, 0, "sleeper's status")
    reasons = [report(os.path.join(r.tmp, r.dumps[0]), "--snapshot",
                      str(i))["snapshot"]["reason"] for i in range(2)]
    eq(reasons, ["signal", "exit"], "snapshot reasons")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
