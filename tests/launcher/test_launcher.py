#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The launcher, leakspy(1): it passes the command's exit status and the
signals it receives on, stays out of the way, names the dumps of the run
(exact text) and refuses bad templates and snapshot signals.  Usage:
test_launcher.py TEST"""

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
    """The PROCESS record of a dump (a whole one: leakspy-report exits 0)."""
    return report(os.path.join(tmp, name))["process"]


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
        check(r.err.startswith(b"leakspy: dump: "),
              "the dumps named before it dies: %r" % r.err)


def test_sigterm_forwarded():
    tmp, p = start_sleeper()
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=TIMEOUT)
    eq(p.returncode, -signal.SIGTERM, "the command died of SIGTERM")
    check(time.monotonic() - t0 < 4, "it died when told, not at the end")
    eq(out, b"", "sleeper printed nothing: it did not finish")
    d = [f for f in os.listdir(tmp) if f.endswith(".lsd")]
    eq(len(d), 1, "one dump")
    eq(lines(err), tell_one(d[0], "sleeper", pid_of(d[0])), "stderr")


def wait_for_dump(tmp, p, n=1):
    """Until the command's dumps exist: it runs, under the shim."""
    deadline = time.monotonic() + 10
    while len([f for f in os.listdir(tmp) if f.endswith(".lsd")]) < n:
        check(p.poll() is None, "the command is still running")
        check(time.monotonic() < deadline, "no dump appeared")
        time.sleep(0.02)


def start_sleeper():
    """The launcher running sleeper (8 s) in a fresh directory, once the
    sleeper's dump is there: (the directory, the launcher's Popen)."""
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--", victim("sleeper"), "8000"],
                         cwd=tmp, env=env_for(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    wait_for_dump(tmp, p)
    return tmp, p


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
    _, p = start_sleeper()
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        child = int(f.read().split()[0])
    p.kill()
    p.communicate(timeout=TIMEOUT)
    eq(p.returncode, -signal.SIGKILL, "the launcher killed")
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
    eq((r.rc, native.returncode), (0, 0), "the shell's exit status")
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


# --- naming the dumps ---

def test_tells_plain_run():
    r = launch(["--", victim("leaky_fp")])
    eq(r.rc, 3, "leaky_fp's status")
    eq(len(r.dumps), 1, "one dump")
    pid = dump_pid(r.tmp, r.dumps[0])
    eq(r.dumps[0], "leakspy.leaky_fp.%d.lsd" % pid, "its name")
    eq(lines(r.err), tell_one(r.dumps[0], "leaky_fp", pid), "stderr")


def test_tells_report_on_path():
    # The leakspy-report first in PATH is the one next to the launcher:
    # by its name only.
    r = launch(["--", victim("leaky_fp")],
               env={"PATH": os.path.dirname(REPORT_PATH) + ":" + PATH})
    eq(r.rc, 3, "leaky_fp's status")
    eq(lines(r.err), tell_one(r.dumps[0], "leaky_fp", pid_of(r.dumps[0]),
                              "leakspy-report"), "stderr")
    # Another one is first: the launcher's, by its path.
    tmp = tempfile.mkdtemp(prefix="lst.")
    other = os.path.join(tmp, "leakspy-report")
    with open(other, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(other, 0o755)
    r = launch(["--", victim("leaky_fp")], env={"PATH": tmp + ":" + PATH})
    eq(r.rc, 3, "leaky_fp's status")
    eq(lines(r.err), tell_one(r.dumps[0], "leaky_fp", pid_of(r.dumps[0])),
       "stderr")


def test_tells_fork_child():
    r = launch(["--", victim("forker")])
    eq((r.rc, r.out), (0, b"7 8 0\n"), "forker's status, output")
    eq(len(r.dumps), 2, "two dumps: %r" % r.dumps)
    pids = sorted(dump_pid(r.tmp, d) for d in r.dumps)
    names = ["leakspy.forker.%d.lsd" % p for p in pids]
    eq(r.dumps, names, "their names")
    eq(process(r.tmp, names[1])["ppid"], pids[0],
       "the second is the first's child")
    eq(lines(r.err), [
        "leakspy: 2 dumps:",
        "leakspy:   %s (forker, pid %d)" % (names[0], pids[0]),
        "leakspy:   %s (forker, pid %d, forked by pid %d)" %
        (names[1], pids[1], pids[0]),
        "leakspy: read them with: %s %s %s" % (REPORT_PATH, names[0],
                                              names[1])], "stderr")


WRAPPED = ("leakspy: only the wrapper was traced: %s (pid %d) executed "
           "another program before its first snapshot; rerun with -f to "
           "trace that program too")


def test_tells_wrapper_env():
    r = launch(["--", "env", victim("leaky_fp")])
    eq((r.rc, r.out), (3, b"leaky: done\n"), "status, output")
    eq(len(r.dumps), 1, "only env's dump: %r" % r.dumps)
    pid = pid_of(r.dumps[0])
    eq(r.dumps[0], "leakspy.env.%d.lsd" % pid, "its name")
    eq(lines(r.err), tell_one(r.dumps[0], "env", pid) +
       [WRAPPED % ("env", pid)], "stderr")


def test_tells_wrapper_sh():
    r = launch(["--", "/bin/sh", "-c", "exec %s" % victim("leaky_fp")])
    eq(r.rc, 3, "leaky_fp's status")
    eq(len(r.dumps), 1, "only the shell's dump: %r" % r.dumps)
    pid = pid_of(r.dumps[0])
    prog = r.dumps[0].split(".")[1]
    eq(lines(r.err), tell_one(r.dumps[0], prog, pid) +
       [WRAPPED % (prog, pid)], "stderr")


def test_tells_wrapper_followed():
    r = launch(["-f", "--", "env", victim("leaky_fp")])
    eq((r.rc, r.out), (3, b"leaky: done\n"), "status, output")
    pid = pid_of(r.dumps[0])
    names = ["leakspy.env.%d.lsd" % pid, "leakspy.leaky_fp.%d.lsd" % pid]
    eq(r.dumps, names, "both images' dumps")
    eq(lines(r.err), [
        "leakspy: 2 dumps:",
        "leakspy:   %s (env, pid %d)" % (names[0], pid),
        "leakspy:   %s (leaky_fp, pid %d, executed by env)" % (names[1],
                                                              pid),
        "leakspy: read them with: %s %s %s" % (REPORT_PATH, names[0],
                                              names[1])], "stderr")


def test_tells_exec_images():
    # Four images under one template without %e: x.PID.lsd, x.PID.2.lsd,
    # ...
    r = launch(["-f", "-o", "x.%p.lsd", "--", victim("execer"), "3"])
    eq((r.rc, r.out), (0, b"image 3\nimage 2\nimage 1\nimage 0\n"),
       "status, output")
    pid = dump_pid(r.tmp, r.dumps[0])
    names = ["x.%d%s.lsd" % (pid, k) for k in ("", ".2", ".3", ".4")]
    eq(sorted(r.dumps), sorted(names), "dump names")
    eq(lines(r.err), [
        "leakspy: 4 dumps:",
        "leakspy:   %s (execer, pid %d)" % (names[0], pid)] + [
        "leakspy:   %s (execer, pid %d, executed by execer)" % (n, pid)
        for n in names[1:]] + [
        "leakspy: read them with: %s %s" % (REPORT_PATH, " ".join(names))],
        "stderr")
    # Five: one example command.
    r = launch(["-f", "-o", "x.%p.lsd", "--", victim("execer"), "4"])
    eq(r.rc, 0, "five images: status")
    pid = dump_pid(r.tmp, r.dumps[0])
    check(lines(r.err)[-1] == "leakspy: read one with: %s x.%d.lsd (the "
          "others alike)" % (REPORT_PATH, pid), "stderr: %r" % r.err)
    # An exec that fails is no wrapper: the program goes on.
    r = launch(["--", victim("execer"), "fail"])
    eq(r.rc, 0, "a failed exec: status")
    eq(lines(r.err), tell_one(r.dumps[0], "execer", pid_of(r.dumps[0])),
       "a failed exec: stderr")


def test_tells_only_new_dumps():
    # A dump from before the run, and one of another process that
    # appears during it, are not the run's; every process of the run's
    # tree is: the shell, the sleep it started (through a fork child of
    # its own, which writes a dump too, unless it used vfork) and the
    # program the shell executed.
    tmp = tempfile.mkdtemp(prefix="lst.")
    first = launch(["--", victim("leaky_fp")], cwd=tmp)
    eq((first.rc, len(first.dumps)), (3, 1), "the first run's status, dump")
    other = subprocess.Popen([victim("sleeper"), "1500"], cwd=tmp,
                             env=env_for({"LD_PRELOAD": LIB}),
                             stdout=subprocess.DEVNULL)
    r = launch(["-f", "--", "/bin/sh", "-c",
                "/bin/sleep 0.3; exec %s" % victim("leaky_fp")], cwd=tmp)
    eq(other.wait(timeout=TIMEOUT), 0, "the other process's status")
    eq(r.rc, 3, "status")
    procs = {}
    for d in r.dumps:
        if d in first.dumps or d.startswith("leakspy.sleeper."):
            continue
        rep = process(tmp, d)
        procs[d] = (rep["start_time_ns"], rep["pid"], rep["ppid"],
                    prog_of(tmp, d))
    order = sorted(procs, key=lambda d: procs[d][:2])
    progs = [procs[d][3] for d in order]
    root, pid = progs[0], procs[order[0]][1]
    check(progs in ([root, "sleep", "leaky_fp"],
                    [root, root, "sleep", "leaky_fp"]),
          "the run's dumps: %r" % procs)
    want = ["leakspy: %d dumps:" % len(order),
            "leakspy:   %s (%s, pid %d)" % (order[0], root, pid)]
    if len(order) == 4:
        cpid = procs[order[1]][1]
        want.append("leakspy:   %s (%s, pid %d, forked by pid %d)" %
                    (order[1], root, cpid, pid))
        want.append("leakspy:   %s (sleep, pid %d, executed by %s)" %
                    (order[2], cpid, root))
    else:
        want.append("leakspy:   %s (sleep, pid %d, forked by pid %d)" %
                    (order[1], procs[order[1]][1], pid))
    eq(procs[order[-1]][1], pid, "the shell executed leaky_fp")
    want += ["leakspy:   %s (leaky_fp, pid %d, executed by %s)" %
             (order[-1], pid, root),
             "leakspy: read them with: %s %s" % (REPORT_PATH,
                                                " ".join(order))]
    eq(lines(r.err), want, "stderr")


def test_tells_no_dump():
    r = launch(["-o", "/nonexistent/x.%p.lsd", "--", victim("leaky_fp")])
    eq(r.rc, 3, "the command's status")
    eq(lines(r.err)[-1], "leakspy: no dump of this run matches "
       "/nonexistent/x.%p.lsd", "last line of stderr")


def test_template_with_dir():
    tmp = tempfile.mkdtemp(prefix="lst.")
    os.mkdir(os.path.join(tmp, "out%d"))
    r = launch(["-o", "out%%d/%e-%%-%p", "--", victim("leaky_fp")],
               cwd=tmp)
    eq(r.rc, 3, "leaky_fp's status")
    files = os.listdir(os.path.join(tmp, "out%d"))
    eq(len(files), 1, "one dump: %r" % files)
    pid = int(files[0].split("-")[-1])
    eq(files[0], "leaky_fp-%%-%d" % pid, "its name")
    path = "out%d/" + files[0]
    eq(lines(r.err), tell_one(path, "leaky_fp", pid), "stderr")
    # An absolute template gives absolute names, quoted if need be.
    sub = os.path.join(tmp, "a b")
    os.mkdir(sub)
    r = launch(["-o", sub + "/%e.%p.lsd", "--", victim("leaky_fp")])
    eq(r.rc, 3, "absolute template: leaky_fp's status")
    files = os.listdir(sub)
    path = os.path.join(sub, files[0])
    pid = int(files[0].split(".")[1])
    eq(lines(r.err), [
        "leakspy: dump: %s (leaky_fp, pid %d)" % (path, pid),
        "leakspy: read it with: %s '%s'" % (REPORT_PATH, path)], "stderr")


def test_quiet():
    # -q: no message, and the command is leakspy's own process.
    r = launch(["-q", "--", "/bin/sh", "-c", "echo $$; exit 5"])
    eq(r.rc, 5, "exit status")
    eq(r.err, b"", "nothing on stderr")
    eq(len(r.dumps), 1, "the dump is still written")
    tmp = tempfile.mkdtemp(prefix="lst.")
    p = subprocess.Popen([LAUNCHER, "--quiet", "--", "/bin/sh", "-c",
                          "echo $$"], cwd=tmp, env=env_for(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=TIMEOUT)
    eq((p.returncode, out, err), (0, b"%d\n" % p.pid, b""),
       "status, same pid, silent")
    r = launch(["-q", "--", "env", victim("leaky_fp")])
    eq((r.rc, r.err), (3, b""), "no wrapper message either")


# --- options ---

def test_bad_template():
    for t, why in (("x.%q.lsd", "an unknown % escape (known: %p, %e, %%)"),
                   ("x.lsd%", "a % at the end (write %% for a percent "
                    "sign)"),
                   ("", "the template is empty"),
                   ("dir/", "the template names a directory")):
        r = launch(["-o", t, "--", "true"])
        eq((r.rc, lines(r.err)), (2, ["leakspy: --output=%s: %s" %
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
           (2, ["leakspy: --signal=%s: cannot be the snapshot signal: %s" %
                (s, why)]), "-s %s" % s)
    for s in ("NOPE", "0", "65", "RTMIN+99"):
        r = launch(["-s", s, "--", "true"])
        eq((r.rc, lines(r.err)),
           (2, ["leakspy: --signal=%s: unknown signal" % s]), "-s %s" % s)


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


# Values the shim refuses (tests/shim/test_fidelity.py REFUSALS, but for
# LEAKSPY_FOLLOW_EXEC, which -f sets to 1): the launcher refuses them,
# with the same reason.
REFUSED = (
    ("-d", "depth", "500", "want 1 to 248"),
    ("-d", "depth", "0", "want 1 to 248"),
    ("-d", "depth", "12x", "want 1 to 248"),
    ("-i", "interval", "0.001", "want seconds: 0, or 0.01 to 4000000"),
    ("-i", "interval", "5000000", "want seconds: 0, or 0.01 to 4000000"),
    ("-i", "interval", "1s", "want seconds: 0, or 0.01 to 4000000"),
    ("-s", "signal", "TERM", "cannot be the snapshot signal: services and "
     "their managers rely on it to stop or reload them"),
    ("-s", "signal", "nonsense", "unknown signal"),
    ("-S", "sample", "1.5M", "want bytes (such as 524288, 512k or 2M): 0 "
     "to 1024G"),
    ("-S", "sample", "2048G", "want bytes (such as 524288, 512k or 2M): 0 "
     "to 1024G"),
    ("-u", "unwind", "slow", "want fast, libunwind or check"),
    ("-o", "output", "x.%q.lsd", "an unknown % escape (known: %p, %e, %%)"),
)


def test_refused_like_shim():
    """Each value the shim refuses is a usage error, with the shim's
    reason, whether given short, long, or long with =; nothing runs."""
    for opt, long_opt, value, why in REFUSED:
        for args in ([opt, value], ["--" + long_opt, value],
                     ["--%s=%s" % (long_opt, value)]):
            r = launch(args + ["--", "touch", "ran"])
            eq((r.rc, r.out, lines(r.err)),
               (2, b"", ["leakspy: --%s=%s: %s" % (long_opt, value, why)]),
               " ".join(args))
            eq(os.listdir(r.tmp), [], " ".join(args) + ": nothing ran")
    # The largest depth is taken, and is what the dump has.
    r = launch(["-d", "248", "--", victim("leaky_fp")])
    eq((r.rc, process(r.tmp, r.dumps[0])["max_depth"]), (3, 248),
       "-d 248: status, max_depth")


def test_help_from_table():
    """--help gives each setting's variable, range and default, as the
    shim has them; the usage line lists every option."""
    out = subprocess.run([LAUNCHER, "--help"], stdout=subprocess.PIPE,
                         timeout=TIMEOUT).stdout.decode()
    flat = " ".join(out.split())
    for line in ("-d, --depth DEPTH keep at most DEPTH frames a stack "
                 "(LEAKSPY_DEPTH; 1 to 248; default 64)",
                 "-i, --interval SECONDS snapshot every SECONDS seconds; 0 "
                 "only at exit (LEAKSPY_INTERVAL; 0, or 0.01 to 4000000; "
                 "default 10)",
                 "(LEAKSPY_SIGNAL; default none)",
                 "(LEAKSPY_SAMPLE; 0 to 1024G; default 0)",
                 "-f, --follow-exec programs the command executes are "
                 "traced too (LEAKSPY_FOLLOW_EXEC=1)",
                 "(LEAKSPY_UNWIND; fast, libunwind or check; default fast)",
                 "(LEAKSPY_OUTPUT; default leakspy.%e.%p.lsd)"):
        check(line in flat, "--help has %r:\n%s" % (line, out))
    eq(out.split("\n\n")[0], "usage: leakspy [-fhqV] [-c seconds] "
       "[-d depth] [-g percent] [-i seconds]\n               [-o template] "
       "[-S bytes] [-s signal] [-u mode] [--] command\n               "
       "[arg ...]\n"
       "       leakspy --check [--gen-suppressions] "
       "[--no-builtin-suppressions]\n"
       "               [--baseline file] [--check-output file] "
       "[--exitcode n]\n"
       "               [--fail-on list] [--format format] "
       "[--max-growth limit]\n"
       "               [--source-root dir] [--suppressions file]\n"
       "               [--write-baseline file] [option ...] [--] command "
       "[arg ...]\n"
       "       leakspy --watch seconds [option ...] [--] command [arg ...]\n"
       "       leakspy attach [--background] [option ...] pid\n"
       "       leakspy detach pid",
       "the usage lines")
    # The gate's options, long only, after the others.
    for line in ("--check when the command ends, check the dumps of the "
                 "run",
                 "--check-output FILE write the check's report to FILE, %p "
                 "being the command's pid",
                 "--exitcode N exit N, 0 to 255, when the check finds what "
                 "fails it (default 1)",
                 "--format FORMAT the check's report: text (default), json, "
                 "junit, sarif or lsan"):
        check(line in flat, "--help has %r:\n%s" % (line, out))
    check(max(len(x) for x in out.splitlines()) < 80, "79 columns at most")


def test_env_settings():
    """The launcher reads LEAKSPY_OUTPUT and LEAKSPY_FOLLOW_EXEC from its
    environment as the shim does: a refused template means the default
    one, any yes word follows."""
    r = launch(["--", victim("leaky_fp")], env={"LEAKSPY_OUTPUT": "x.%q"})
    eq(r.rc, 3, "leaky_fp's exit status")
    pid = pid_of(r.dumps[0])
    eq(r.dumps, ["leakspy.leaky_fp.%d.lsd" % pid], "the default dump")
    eq(lines(r.err), ["leakspy: LEAKSPY_OUTPUT=x.%q: an unknown % escape "
                      "(known: %p, %e, %%); using leakspy.%e.%p.lsd"] +
       tell_one(r.dumps[0], "leaky_fp", pid), "stderr")
    # Followed (yes is 1): the program env executes without LD_PRELOAD
    # is said to be untraceable, not to be traced with -f.
    r = launch(["--", "env", "-u", "LD_PRELOAD", victim("leaky_fp")],
               env={"LEAKSPY_FOLLOW_EXEC": "yes"})
    eq(r.rc, 3, "leaky_fp's exit status through env")
    pid = pid_of(r.dumps[0])
    eq(r.dumps, ["leakspy.env.%d.lsd" % pid], "env's dump only")
    eq(lines(r.err), tell_one(r.dumps[0], "env", pid) + [
        "leakspy: the program that env (pid %d) executed wrote no dump (a "
        "static or set-user-ID program, or one run without LD_PRELOAD, is "
        "not traced)" % pid], "stderr")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
