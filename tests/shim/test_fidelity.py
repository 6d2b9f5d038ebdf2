#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Services that change themselves under leakspy: they drop privileges,
chroot, sandbox themselves, are stopped by signals, allocate before libc
is up.  Each runs as without leakspy and leaves its data.
Usage: test_fidelity.py TEST"""

import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402


def need_root():
    if os.getuid() != 0:
        raise Skip("needs root")


def open_dir():
    """A directory nobody may read and write in, as run() makes them."""
    d = tempfile.mkdtemp(prefix="lst.")
    os.chmod(d, 0o755)
    return d


def check_privdrop(argv, what, dumps_want=1):
    """privdrop's dump (or its fork child's) has snapshots from after the
    drop, the final one, and exact figures."""
    r = same_as_native(argv, env={"LEAKSPY_INTERVAL": "0.05"})
    eq((r.rc, r.out, r.err), (0, b"ok\n", b""), what +
       ": exit status, output, messages")
    eq(len(r.dumps), dumps_want, what + ": dumps")
    reps = [report(d) for d in r.dumps]
    pids = {x["process"]["pid"] for x in reps}
    # The one that dropped: the fork child's, if there is one.
    rep = [x for x in reps if x["process"]["ppid"] in pids or
           len(reps) == 1][0]
    eq(rep["complete"], True, what + ": the final snapshot")
    expect_site(rep, "after_drop", 15 * 500, 15)
    expect_site(rep, "before_drop", 2000, 2)
    check(rep["snapshots"] >= 4, what + ": %d snapshots" % rep["snapshots"])
    return r, rep


def test_privdrop():
    """A program that gives up root (setgroups, setgid, setuid to nobody)
    goes on writing snapshots to its dump, created 0600 by root, and its
    final one; so does one that chroots first (nothing is written inside
    the new root) and a fork child that gives up root itself."""
    need_root()
    prog = victim("privdrop")
    r, rep = check_privdrop([prog, "setuid"], "setuid")
    dump = one_dump(r)
    eq(os.stat(dump).st_uid, 0, "the dump stays root's")
    eq(os.stat(dump).st_mode & 0o777, 0o600, "mode 0600")
    # The snapshots after the drop saw after_drop grow.
    seen = [by_function(report(dump, "--snapshot", str(i)), "after_drop")[1]
            for i in range(rep["snapshots"])]
    check(len(set(seen)) >= 3, "growth seen after the drop: %r" % seen)
    jail = tempfile.mkdtemp(prefix="lst.jail.")
    check_privdrop([prog, "chroot", jail], "chroot")
    eq(os.listdir(jail), [], "nothing written inside the chroot")
    r, rep = check_privdrop([prog, "fork"], "fork", dumps_want=2)


class Signalled:
    def __init__(self, rc, out, err, dumps):
        self.rc, self.out, self.err, self.dumps = rc, out, err, dumps


def signalled(argv, sigs, preload=True, env=None, delay=0.05):
    """Run argv, wait for its "ready", send it each of sigs (delay apart),
    and wait for it: its exit status, output and dumps."""
    tmp = tempfile.mkdtemp(prefix="lst.")
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LEAKSPY_") and k != "LD_PRELOAD"}
    e["LEAKSPY_INTERVAL"] = "0"
    if preload:
        e["LD_PRELOAD"] = LIB
    e.update(env or {})
    p = subprocess.Popen(argv, cwd=tmp, env=e, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = p.stdout.readline()
    check(out == b"ready\n", "%r: ready, got %r" % (argv, out))
    for sig in sigs:
        time.sleep(delay)
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
    rest, err = p.communicate(timeout=TIMEOUT)
    dumps = sorted(os.path.join(tmp, f) for f in os.listdir(tmp)
                   if f.endswith(".lsd"))
    return Signalled(p.returncode, out + rest, err, dumps)


def final_record(dump):
    """The FINAL record's fields (how, then signo), or None."""
    with open(dump, "rb") as f:
        data = f.read()
    got = None
    for off, typ, payload in lsdump.records(data):
        if typ == lsdump.T["FINAL"]:
            c = lsdump.Cur(payload)
            got = [c.uv()]
            while c.left():
                got.append(c.uv())
    return got


FINAL_EXIT, FINAL_SIGNAL = 0, 3


def check_death(argv, sig, what, env=None, sigs=None, want_final=True,
                want_err=b""):
    """argv dies of sig, as without leakspy, after its final snapshot."""
    native = signalled(argv, sigs or [sig], preload=False)
    traced = signalled(argv, sigs or [sig], env=env)
    eq((native.rc, traced.rc), (-sig, -sig), what + ": killed by the signal")
    eq(traced.out, native.out, what + ": output")
    eq(traced.err, want_err, what + ": messages")
    eq(len(traced.dumps), 1, what + ": one dump")
    if want_final:
        eq(final_record(traced.dumps[0]), [FINAL_SIGNAL, sig],
           what + ": FINAL record")
        rep = report(traced.dumps[0])
        eq(rep["complete"], True, what + ": complete")
        expect_site(rep, "fate_alloc", 2100, 3)
    return traced


def test_fatal_signals():
    """SIGTERM, SIGINT and SIGHUP left at their default end the program as
    without leakspy (exit status, output: the sleep they cut short never
    returns), after a final snapshot with exact figures, the FINAL
    record naming the signal; also when set back to SIG_DFL, and while
    two threads allocate without end (so that the signal often lands
    inside leakspy)."""
    prog = victim("fate")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        check_death([prog, "default", str(int(sig))], sig,
                    "%s default" % sig.name)
        check_death([prog, "explicit", str(int(sig))], sig,
                    "%s set to SIG_DFL" % sig.name)
    for i in range(10):
        check_death([prog, "busy", str(int(signal.SIGTERM))],
                    signal.SIGTERM, "busy, run %d" % i,
                    env={"LEAKSPY_INTERVAL": "0.01"})
    # SIGTERM while the snapshot before an exec is written (it lands
    # inside leakspy, so the writer thread ends the process): the exec
    # does not go ahead, the process dies of it.
    for i in range(5):
        argv = [prog, "exec", str(int(signal.SIGTERM))]
        native = signalled(argv, [signal.SIGTERM], preload=False)
        traced = signalled(argv, [signal.SIGTERM],
                           env={"LEAKSPY_INTERVAL": "10"}, delay=0.02)
        eq((native.rc, traced.rc), (-signal.SIGTERM, -signal.SIGTERM),
           "SIGTERM during the exec's snapshot, run %d" % i)


def test_fatal_signals_handled():
    """A program that ignores SIGTERM, or handles it, gets what it asked
    for: leakspy's part in that signal ends when the program sets it."""
    prog = victim("fate")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        for mode, rc, out in (("ignore", 0, b"ready\ndone\n"),
                              ("handle", 7, b"ready\ncaught 1\n")):
            what = "%s %s" % (sig.name, mode)
            native = signalled([prog, mode, str(int(sig))], [sig],
                               preload=False)
            traced = signalled([prog, mode, str(int(sig))], [sig])
            eq((native.rc, native.out), (rc, out), what + ": natively")
            eq((traced.rc, traced.out, traced.err), (rc, out, b""),
               what + ": under leakspy")
            eq(final_record(traced.dumps[0]), [FINAL_EXIT],
               what + ": an exit")
            expect_site(report(traced.dumps[0]), "fate_alloc", 2100, 3)


def test_readback():
    """sigaction reads back what the program set, SA_RESTORER and the C
    library's restorer included, for SIGTERM and for the snapshot
    signal."""
    prog = victim("fate")
    for sig, env in ((signal.SIGTERM, {}),
                     (signal.SIGUSR2, {"LEAKSPY_SIGNAL": "USR2"})):
        r = same_as_native([prog, "readback", str(int(sig))], env=env,
                           want_rc=0)
        eq(r.err, b"", "%s: messages" % sig.name)
        line = [x for x in r.out.split(b"\n") if x.startswith(b"handler")]
        check(line and int(line[0].split()[4], 16) & 0x04000000 and
              b"restorer set" in line[0], "%s: read back: %r" %
              (sig.name, r.out))


def snapshot_reasons(dump):
    return [report(dump, "--snapshot", str(i))["snapshot"]["reason"]
            for i in range(report(dump)["snapshots"])]


def test_snapshot_signal():
    """USR2, SIGUSR2, 12 and RTMIN+3 all name a snapshot signal.  Left at
    the default it started with, it only takes a snapshot; set to
    SIG_DFL by the program (or by SA_RESETHAND), it ends the program
    after the snapshot, as it would without leakspy; ignored, it is
    ignored, and takes no snapshot."""
    prog = victim("fate")
    usr2 = int(signal.SIGUSR2)
    rtmin3 = signal.SIGRTMIN + 3
    for name, sig in (("USR2", usr2), ("SIGUSR2", usr2), ("12", usr2),
                      ("RTMIN+3", rtmin3), ("SIGRTMIN+3", rtmin3)):
        r = signalled([prog, "default", str(sig)], [sig],
                      env={"LEAKSPY_SIGNAL": name})
        eq((r.rc, r.err), (0, b""), name + ": survives, no message")
        check(r.out.endswith(b"done\n"), name + ": output %r" % r.out)
        eq(snapshot_reasons(r.dumps[0]), ["signal", "exit"],
           name + ": snapshots")
    env = {"LEAKSPY_SIGNAL": "USR2"}
    t = check_death([prog, "explicit", str(usr2)], signal.SIGUSR2,
                    "USR2 set to SIG_DFL", env=env)
    # The snapshot the signal asks for is the final one.
    eq(snapshot_reasons(t.dumps[0]), ["exit"],
       "USR2 set to SIG_DFL: snapshots")
    t = check_death([prog, "resethand", str(usr2)], signal.SIGUSR2,
                    "USR2 with SA_RESETHAND", env=env,
                    sigs=[signal.SIGUSR2, signal.SIGUSR2], )
    eq(t.out, b"ready\ncaught 1\n", "SA_RESETHAND: the handler ran once")
    eq(snapshot_reasons(t.dumps[0]), ["signal", "exit"],
       "SA_RESETHAND: snapshots")
    # Ignored, it stays ignored in the kernel: it cuts no sleep short,
    # and takes no snapshot.
    r = signalled([prog, "ignore", str(usr2)], [signal.SIGUSR2], env=env)
    eq((r.rc, r.out, r.err), (0, b"ready\ndone\n", b""),
       "USR2 ignored: survives, uninterrupted, no message")
    eq(snapshot_reasons(r.dumps[0]), ["exit"], "USR2 ignored: snapshots")


REFUSED = ("15", "TERM", "SIGTERM", "2", "SIGINT", "1", "HUP", "3", "QUIT",
           "9", "KILL", "SIGSTOP", "11", "SEGV", "CHLD", "PIPE", "32", "0",
           "65", "RTMIN+99", "nonsense")


def test_refused_signals():
    """The snapshot signal may not be one a service relies on to stop or
    the kernel uses: leakspy says why once, takes none, and the signal
    does to the program what it always did."""
    prog = victim("fate")
    for name in REFUSED:
        r = run([victim("leaky_fp")], env={"LEAKSPY_SIGNAL": name})
        eq(r.rc, 3, name + ": exit status")
        err = r.err.decode()
        check(err.startswith("leakspy: LEAKSPY_SIGNAL=%s: " % name) and
              err.endswith("; using none\n") and err.count("\n") == 1,
              name + ": the message %r" % err)
    t = check_death([prog, "default", str(int(signal.SIGTERM))],
                    signal.SIGTERM, "LEAKSPY_SIGNAL=TERM refused",
                    env={"LEAKSPY_SIGNAL": "TERM"},
                    want_err=b"leakspy: LEAKSPY_SIGNAL=TERM: cannot be the "
                    b"snapshot signal: services and their managers rely on "
                    b"it to stop or reload them; using none\n")


def test_sshd_child():
    """OpenSSH's pre-authentication child, its standard error a regular
    file: RLIMIT_FSIZE 0, RLIMIT_NOFILE 1, no_new_privs and a seccomp
    filter that kills on anything unlisted.  The sandbox snapshot cannot
    be written (no descriptor left), and neither can leakspy's message
    (the file may not grow): the program runs and exits as without
    leakspy, not killed by SIGXFSZ."""
    argv = [victim("stress"), "seccomp", "prctl", "sshd"]
    got = []
    for preload in (False, True):
        tmp = tempfile.mkdtemp(prefix="lst.")
        err = os.path.join(tmp, "stderr")
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("LEAKSPY_") and k != "LD_PRELOAD"}
        if preload:
            e.update(LD_PRELOAD=LIB, LEAKSPY_INTERVAL="0.05")
        with open(err, "wb") as f:
            p = subprocess.run(argv, cwd=tmp, env=e, stdout=subprocess.PIPE,
                               stderr=f, timeout=TIMEOUT)
        with open(err, "rb") as f:
            got.append((p.returncode, p.stdout, f.read()))
    eq(got[0], (0, b"ok\n", b""), "natively")
    eq(got[1], got[0], "under leakspy")


def test_sandbox_signals():
    """Inside a seccomp sandbox that kills on rt_sigaction, SIGTERM still
    ends the program as it would without leakspy: its handler went back to
    SIG_DFL before the filter, since it would make system calls the
    filter forbids."""
    argv = [victim("stress"), "seccomp", "prctl", "wait"]
    native = signalled(argv, [signal.SIGTERM], preload=False)
    traced = signalled(argv, [signal.SIGTERM],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    eq((native.rc, traced.rc), (-signal.SIGTERM, -signal.SIGTERM),
       "killed by SIGTERM, not SIGSYS")
    eq((traced.out, traced.err), (native.out, b""), "output, messages")


def test_final_write_failed():
    """The final write-out fails: on a full device the dump says so (a
    LOST record fits where the snapshot did not) and the report names
    the cause and where leakspy's message went.  A program at its
    descriptor limit still gets its final snapshot: the shim raises the
    soft limit by one for its open, and puts it back."""
    r = run([victim("stress"), "nofile"])
    eq((r.rc, r.out, r.err), (0, b"ok\n", b""), "nofile: as without leakspy")
    rep = report(one_dump(r))
    eq(rep["complete"], True, "nofile: the final snapshot")
    expect_site(rep, "at_limit", 1000, 1)
    argv = [victim("leaky_fp")]
    env = {"LD_PRELOAD": LIB + ":" + victim("libwritefault.so"),
           "WRITEFAULT": "none"}
    full = os.path.getsize(one_dump(run(argv, env=env, want_rc=3)))
    r = run(argv, env=dict(env, WRITEFAULT="enospc:%d" % (full - 100)))
    eq(r.rc, 3, "device full: exit status")
    check(b"cannot write a snapshot to the dump: no space left on device"
          in r.err, "device full: message %r" % r.err)
    rep = report(one_dump(r), want_rc=3)
    eq(rep["complete"], False, "device full: incomplete")
    why = rep["error"]["message"]
    check("no space left on device" in why and "standard error" in why,
          "device full: the reason %r" % why)


def test_final_write_refused():
    """A dump that may no longer be opened (EACCES): nothing can say so in
    the file, and the report does not claim a cause it cannot know."""
    need_root()
    d = open_dir()
    nobody = pwd.getpwnam("nobody")
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LEAKSPY_") and k != "LD_PRELOAD"}
    e.update(LD_PRELOAD=LIB, LEAKSPY_INTERVAL="0")

    def as_nobody():
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    p = subprocess.run([victim("stress"), "readonly"], cwd=d, env=e,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       preexec_fn=as_nobody, timeout=TIMEOUT)
    eq((p.returncode, p.stdout, p.stderr), (0, b"ok\n", b"leakspy: cannot "
       b"write a snapshot to the dump: permission denied\n"),
       "read-only dump: exit status, output, message")
    dumps = [f for f in os.listdir(d) if f.endswith(".lsd")]
    rep = report(os.path.join(d, dumps[0]), want_rc=3)
    eq(rep["error"]["message"], "no final snapshot: the process is still "
       "running, was killed, or could not write it", "read-only dump: why")


def test_run_name():
    """%e is the name the program was run as: a symbolic link's (as
    redis-server is to redis-check-rdb), not its target's; the report
    shows both."""
    d = tempfile.mkdtemp(prefix="lst.link.")
    link = os.path.join(d, "redis-server")
    os.symlink(victim("leaky_fp"), link)
    r = same_as_native([link], want_rc=3)
    eq([os.path.basename(x).split(".")[1] for x in r.dumps],
       ["redis-server"], "the dump's name")
    rep = report(one_dump(r))
    eq((rep["process"]["name"], rep["process"]["exe"]),
       ("redis-server", victim("leaky_fp")), "name and exe")
    text, _ = report_text(one_dump(r))
    check("redis-server" in text and victim("leaky_fp") in text,
          "the text report shows both: %r" % text[:300])


def test_settings_refused():
    """An output template with an unknown % escape, or a LEAKSPY_FOLLOW_EXEC
    that is neither yes nor no, is refused aloud: the default is used and
    leakspy says so once."""
    for tmpl, why in (("%", "a % at the end (write %% for a percent sign)"),
                      ("x.%q.lsd", "an unknown % escape (known: %p, %e, "
                       "%%)")):
        r = run([victim("leaky_fp")], env={"LEAKSPY_OUTPUT": tmpl})
        eq(r.rc, 3, tmpl + ": exit status")
        eq(r.err.decode(), "leakspy: LEAKSPY_OUTPUT=%s: %s; using "
           "leakspy.%%e.%%p.lsd\n" % (tmpl, why), tmpl + ": message")
        eq([os.path.basename(x).split(".")[1] for x in r.dumps],
           ["leaky_fp"], tmpl + ": the default dump")
        eq(sorted(os.listdir(r.tmp)), [os.path.basename(r.dumps[0])],
           tmpl + ": no file named after the template")
    script = "%s >/dev/null; :" % victim("tidy")
    r = run(["/bin/sh", "-c", script], env={"LEAKSPY_FOLLOW_EXEC": "yes"},
            want_rc=0)
    eq((r.err, len(r.dumps)), (b"", 2), "FOLLOW_EXEC=yes follows")
    r = run(["/bin/sh", "-c", script], env={"LEAKSPY_FOLLOW_EXEC": "maybe"},
            want_rc=0)
    eq((r.err, len(r.dumps)), (b"leakspy: LEAKSPY_FOLLOW_EXEC=maybe: want "
       b"yes or no (1 or 0, true or false, on or off); using no\n", 1),
       "FOLLOW_EXEC=maybe")


# A refused value of each setting: (variable, value, reason, the value
# used, the PROCESS field that shows it in the report's JSON and its
# value there, or None).
DEPTH_WHY = "want 1 to 248"
SECONDS_WHY = "want seconds: 0, or 0.01 to 4000000"
BYTES_WHY = "want bytes (such as 524288, 512k or 2M): 0 to 1024G"
REFUSALS = (
    ("LEAKSPY_DEPTH", "500", DEPTH_WHY, "248", ("max_depth", 248)),
    ("LEAKSPY_DEPTH", "0", DEPTH_WHY, "64", ("max_depth", 64)),
    ("LEAKSPY_DEPTH", "12x", DEPTH_WHY, "64", ("max_depth", 64)),
    ("LEAKSPY_INTERVAL", "0.001", SECONDS_WHY, "0.01",
     ("interval_s", 0.01)),
    ("LEAKSPY_INTERVAL", "5000000", SECONDS_WHY, "4000000",
     ("interval_s", 4000000.0)),
    ("LEAKSPY_INTERVAL", "1s", SECONDS_WHY, "10", ("interval_s", 10.0)),
    ("LEAKSPY_SIGNAL", "TERM", "cannot be the snapshot signal: services "
     "and their managers rely on it to stop or reload them", "none", None),
    ("LEAKSPY_SIGNAL", "nonsense", "unknown signal", "none", None),
    ("LEAKSPY_SAMPLE", "1.5M", BYTES_WHY, "0", ("sample_bytes", 0)),
    ("LEAKSPY_SAMPLE", "2048G", BYTES_WHY, "1024G",
     ("sample_bytes", 1 << 40)),
    ("LEAKSPY_UNWIND", "slow", "want fast, libunwind or check", "fast",
     None),
    ("LEAKSPY_FOLLOW_EXEC", "maybe", "want yes or no (1 or 0, true or "
     "false, on or off)", "no", None),
    ("LEAKSPY_OUTPUT", "x.%q.lsd", "an unknown % escape (known: %p, %e, "
     "%%)", "leakspy.%e.%p.lsd", None),
)


def refused_in_dump(dump, name, value, why, used, what):
    """The dump's SETTING record, right after PROCESS, and the report's
    text line and JSON entry for it."""
    with open(dump, "rb") as f:
        data = f.read()
    types = [t for _, t, _ in lsdump.records(data)]
    eq(types[:3], [lsdump.T["PROCESS"], lsdump.T["SETTING"],
                   lsdump.T["MODULE"]], what + ": records at the start")
    eq(lsdump.parse(data).get("settings"), [{"name": name, "given": value,
       "used": used, "reason": why}], what + ": the SETTING record")
    text, _ = report_text(dump)
    eq([x for x in text.splitlines() if x.startswith("setting:")],
       ["setting:   %s=%s was refused (%s); the run used %s" %
        (name, value, why, used)], what + ": the text report")
    rep = report(dump)
    eq(rep.get("refused_settings"), [{"name": name, "given": value,
       "used": used, "reason": why}], what + ": the JSON report")
    return rep


def test_depth_refused():
    """LEAKSPY_DEPTH=500: one line on stderr, the run at 248 frames, and
    the dump and both reports say so."""
    r = run([victim("leaky_fp")], env={"LEAKSPY_DEPTH": "500"})
    eq((r.rc, r.err), (3, b"leakspy: LEAKSPY_DEPTH=500: want 1 to 248; "
       b"using 248\n"), "exit status, the message")
    rep = refused_in_dump(one_dump(r), "LEAKSPY_DEPTH", "500", DEPTH_WHY,
                          "248", "DEPTH=500")
    eq(rep["process"]["max_depth"], 248, "max_depth")
    expect_site(rep, "leak_malloc", 3000, 3)


def test_each_setting_refused():
    """A refused value of every setting: one message, exactly; what was
    used instead is what the dump shows; the SETTING record, the text
    and the JSON report say the same.  Empty is unset: no message."""
    for name, value, why, used, field in REFUSALS:
        what = "%s=%s" % (name, value)
        r = run([victim("leaky_fp")], env={name: value})
        eq((r.rc, r.err.decode()), (3, "leakspy: %s: %s; using %s\n" %
           (what, why, used)), what + ": exit status, the message")
        rep = refused_in_dump(one_dump(r), name, value, why, used, what)
        if field is not None:
            eq(rep["process"][field[0]], field[1], what + ": " + field[0])
        r = run([victim("leaky_fp")], env={name: ""})
        eq((r.rc, r.err), (3, b""), name + "=: no message")
        eq(report(one_dump(r)).get("refused_settings"), None,
           name + "=: nothing refused")


def test_refused_once():
    """Two refused settings, a fork child: two messages, said once, and
    both dumps (the parent's, the child's) record both."""
    env = {"LEAKSPY_DEPTH": "500", "LEAKSPY_UNWIND": "slow"}
    r = run([victim("forker")], env=env, want_rc=0)
    eq(r.err, b"leakspy: LEAKSPY_DEPTH=500: want 1 to 248; using 248\n"
       b"leakspy: LEAKSPY_UNWIND=slow: want fast, libunwind or check; "
       b"using fast\n", "the messages")
    eq(len(r.dumps), 2, "the parent's dump and the child's")
    for dump in r.dumps:
        rep = report(dump)
        eq([(x["name"], x["used"]) for x in rep["refused_settings"]],
           [("LEAKSPY_DEPTH", "248"), ("LEAKSPY_UNWIND", "fast")],
           "refused settings in %s" % os.path.basename(dump))
        eq(rep["process"]["max_depth"], 248, "max_depth")


def test_setting_record_damaged():
    """A dump with SETTING records, cut at every byte and with every bit
    flipped, read under ASan and UBSan (tests/unit/test_reader)."""
    reader = os.path.join(BUILD, "tests", "unit", "test_reader")
    if not os.path.exists(reader):
        raise Skip("test_reader not built")
    r = run([victim("sleeper"), "120"], env={"LEAKSPY_INTERVAL": "0.03",
            "LEAKSPY_DEPTH": "500", "LEAKSPY_UNWIND": "slow"})
    eq(r.rc, 0, "sleeper's exit status")
    dump = one_dump(r)
    with open(dump, "rb") as f:
        eq(len(lsdump.parse(f.read())["settings"]), 2, "SETTING records")
    p = subprocess.run([reader, dump], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT * 2)
    eq(p.returncode, 0, "test_reader: %s" % p.stderr.decode()[-3000:])


def test_descriptors():
    """The program's first open() gets the descriptor it gets without
    leakspy: libunwind's pipe (which it opens at start-up, and reads and
    writes to check addresses) sits at high numbers, not at 3 and 4
    where the program's own files would go."""
    native = run([victim("fds")], preload=False, want_rc=0)
    eq(native.out, b"first open 3, open 4\n", "natively")
    for unwind in ("fast", "libunwind", "check"):
        r = run([victim("fds")], env={"LEAKSPY_UNWIND": unwind}, want_rc=0)
        eq(r.out, b"first open 3, open 6\n", unwind + ": output")


TESTS = {k[5:]: v for k, v in globals().items() if k.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
