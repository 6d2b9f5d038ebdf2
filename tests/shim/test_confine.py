#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shim where the host confines it: write faults and full disks, big
snapshots, seccomp, chroot, secure execution, and its settings of depth
and interval.  Usage: test_confine.py TEST"""

import os
import pwd
import shutil
import subprocess
import tempfile
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402
from shimfacts import *  # noqa: E402,F401,F403


def test_file_size_limit():
    """Under RLIMIT_FSIZE the dump's writes fail with EFBIG: the program
    is not killed by SIGXFSZ, and the dump keeps what was written."""
    r = same_as_native([victim("stress"), "fsize"],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    check_cut_short(r)


def writefault_says(r):
    """What libwritefault.so says of run r: (faults it injected, the most
    one write() to the dump was asked to write)."""
    for line in r.err.decode().splitlines():
        if line.startswith("writefault: "):
            words = line.split()
            return int(words[1]), int(words[5])
    raise Fail("no writefault message in %r" % r.err)


def faults_of(r):
    return writefault_says(r)[0]


def test_write_faults():
    """Writes to the dump that fail with EINTR, or that write 7 bytes at
    a time, lose nothing: the dump is whole.  A device that fills up at
    any offset leaves the program as it was, a message, and a dump that
    reads without damage up to its last whole snapshot, or no file at all
    if not even its first records fit."""
    fault = victim("libwritefault.so")
    argv = [victim("sleeper"), "400"]
    env = {"LEAKSPY_INTERVAL": "0.1", "LD_PRELOAD": LIB + ":" + fault}
    for mode in ("eintr", "short"):
        r = run(argv, env=dict(env, WRITEFAULT=mode))
        eq((r.rc, r.out), (0, b"kept 40\n"), mode + ": exit and output")
        check(faults_of(r) > 0, mode + ": faults injected")
        check(b"leakspy" not in r.err, mode + ": no message: %r" % r.err)
        rep = report(one_dump(r))
        check(rep["snapshots"] >= 3, mode + ": snapshots: %d" %
              rep["snapshots"])
        expect_site(rep, "grow", 40000, 40)
    size = os.path.getsize(one_dump(run(argv, env=env, want_rc=0)))
    seen = set()
    for full in range(1, size, size // 8):
        r = run(argv, env=dict(env, WRITEFAULT="enospc:%d" % full))
        what = "device full at %d of %d bytes" % (full, size)
        eq((r.rc, r.out), (0, b"kept 40\n"), what + ": exit and output")
        if faults_of(r) == 0:
            # The snapshots come by timer: this run's dump may be
            # shorter than the first run's, and then it must fit whole.
            check(os.path.getsize(one_dump(r)) <= full, what +
                  ": no fault, so the dump fits")
            eq((report(one_dump(r))["complete"], r.err.count(b"leakspy")),
               (True, 0), what + ": no fault: complete, no message")
            continue
        if not r.dumps:
            check(b"cannot create the dump; not writing one: no space left "
                  b"on device" in r.err, what + ": message %r" % r.err)
            eq(os.listdir(r.tmp), [], what + ": no file left")
            seen.add("none")
            continue
        check(b"cannot write a snapshot to the dump: no space left on "
              b"device" in r.err, what + ": message %r" % r.err)
        check(os.path.getsize(one_dump(r)) <= full, what + ": dump size")
        rep = report(one_dump(r), want_rc=3)
        eq((rep["complete"], rep["error"]["offset"]), (False, None),
           what + ": no final snapshot, no damage")
        seen.add("cut")
    eq(seen, {"none", "cut"}, "outcomes of the faults")


def test_big_snapshot():
    """A snapshot bigger than the writer's buffer (16,384 new stacks,
    some 2 MiB) reaches the dump in pieces of at most 64 KiB and a
    record, and whole: every site exact.  A device that fills in the
    middle of it leaves the dump as it was before that write-out: no
    snapshot, no damage."""
    n = 16384
    argv = [victim("manystacks"), str(n)]
    env = {"LEAKSPY_INTERVAL": "0.1",
           "LD_PRELOAD": LIB + ":" + victim("libwritefault.so")}
    total = sum(16 + i % 64 for i in range(n))
    r = run(argv, env=dict(env, WRITEFAULT="none"))
    eq((r.rc, r.out), (0, b"kept %d %d\n" % (n, total)), "exit and output")
    size = os.path.getsize(one_dump(r))
    check(size > 2 << 20, "a dump of %d bytes" % size)
    largest = writefault_says(r)[1]
    check(largest <= 192 << 10, "largest write %d bytes" % largest)
    rep = report(one_dump(r), "--top=0")
    leaves = sites_of(rep, "leaf")
    eq(len(leaves), n, "sites of leaf")
    eq(sorted(s["live_bytes"] for s in leaves),
       sorted(16 + i % 64 for i in range(n)), "each site's bytes")
    eq(by_function(rep, "leaf"), (total, n), "leaf's bytes and blocks")
    # The header is written at start; the device fills 1 MiB on.
    r = run(argv, env=dict(env, WRITEFAULT="enospc:%d" % (1 << 20)))
    eq((r.rc, r.out), (0, b"kept %d %d\n" % (n, total)),
       "device full: exit and output")
    check(b"cannot write a snapshot to the dump: no space left on device"
          in r.err, "device full: message %r" % r.err)
    check(os.path.getsize(one_dump(r)) < 64 << 10, "device full: cut back "
          "to %d bytes" % os.path.getsize(one_dump(r)))
    rep = report(one_dump(r), want_rc=3)
    eq((rep["complete"], rep["error"]["offset"], rep["snapshots"]),
       (False, None, 0), "device full: no snapshot, no damage")


def test_site_table():
    """Four threads meet the same 16,384 new stacks at once, while the
    site table doubles under them (from 1,024 chains to 16,384): every
    stack is one site (the dump has no stack twice), with exactly one
    block of each thread."""
    n, threads = 16384, 4
    r = same_as_native([victim("manystacks"), str(n), str(threads)],
                       want_rc=0)
    eq((r.rc, r.out), (0, b"kept %d %d\n" % (n, sum(16 + i % 64
                                                     for i in range(n)))),
       "exit and output")
    rep = report(one_dump(r), "--top=0")
    leaves = sites_of(rep, "leaf")
    eq(len(leaves), n, "sites of leaf")
    eq(sorted((s["live_bytes"], s["live_blocks"]) for s in leaves),
       sorted((threads * (16 + i % 64), threads) for i in range(n)),
       "each site's bytes and blocks")
    eq(rep["coverage"]["dropped"], 0, "nothing dropped")
    with open(one_dump(r), "rb") as f:
        stacks = lsdump.parse(f.read())["stacks"]
    keys = [(tuple(st["ips"]), st["api"], st["flags"]) for st in stacks]
    eq(len(keys) - len(set(keys)), 0, "stacks written twice")


def test_seccomp():
    """A seccomp filter goes on mid-run, one that kills the process on any
    system call it does not list, open included; through prctl(), and
    through syscall() for all threads as libseccomp does it.  The program
    runs as without leakspy (not killed by SIGSYS, as it was before
    leakspy knew of filters); the dump's last snapshot is taken just
    before the filter, marked "sandbox", and the report says that
    nothing follows it."""
    for how in ("prctl", "syscall"):
        for env in MODES:
            r = same_as_native([victim("stress"), "seccomp", how],
                               env=dict(env, LEAKSPY_INTERVAL="0.05"))
            eq((r.rc, r.out, r.err), (0, b"ok\n", b""),
               "%s %s: exit status, output, messages" % (how, env))
            rep = report(one_dump(r), want_rc=3)
            eq((rep["complete"], rep["snapshot"]["reason"]),
               (False, "sandbox"), "%s %s: the last snapshot" % (how, env))
            check("seccomp sandbox" in rep["error"]["message"],
                  "the report says why: %r" % rep["error"])
            eq(by_function(rep, "in_sandbox"), (0, 0),
               "nothing from inside the sandbox")
            if not env:
                expect_site(rep, "before_sandbox", 4000, 4)
    # OpenSSH sets RLIMIT_NOFILE to 0 (and FSIZE, NPROC) before its
    # filter: even the sandbox snapshot cannot be written, and leakspy
    # says why.
    r = same_as_native([victim("stress"), "seccomp", "prctl", "rlimits"],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    eq((r.rc, r.out), (0, b"ok\n"), "rlimits: exit status and output")
    eq(r.err, b"leakspy: cannot write a snapshot to the dump: too many "
       b"open files\n", "rlimits: the message")
    eq(report(one_dump(r), want_rc=3)["snapshots"], 0, "rlimits: snapshots")


def test_chroot():
    """A program that chroots leaves no file inside the new root, and its
    dump outside goes on: the descriptors leakspy keeps from just before
    the chroot reach it, up to the final snapshot."""
    if os.getuid() != 0:
        raise Skip("chroot needs root")
    jail = tempfile.mkdtemp(prefix="lst.jail.")
    r = same_as_native([victim("stress"), "chroot", jail],
                       env={"LEAKSPY_INTERVAL": "0.05"})
    eq(os.listdir(jail), [], "nothing written inside the chroot")
    eq((r.rc, r.out, r.err), (0, b"ok\n", b""), "exit, output, messages")
    rep = report(one_dump(r))
    eq(rep["complete"], True, "the final snapshot")


def make_root(files):
    """A directory to chroot into, holding files (host paths, copied to the
    same paths) and the shared libraries they need."""
    root = tempfile.mkdtemp(prefix="lst.root.")
    need = set(files)
    for f in files:
        out = subprocess.run(["ldd", f], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        for line in out.splitlines():
            words = line.split()
            path = words[2] if "=>" in words else words[0]
            if path.startswith("/"):
                need.add(path)
    for f in need:
        os.makedirs(os.path.dirname(root + f), exist_ok=True)
        shutil.copy(f, root + f)
    return root


def test_secure_exec():
    """A setuid program (setuid to nobody, run by root) is in secure-
    execution mode: the dynamic loader ignores LD_PRELOAD, and when the
    library is loaded anyway, through /etc/ld.so.preload (in a directory
    made to chroot into), it writes nothing, wherever LEAKSPY_OUTPUT
    points and although nobody may write the default path.  The same
    program without the setuid bit does write its dump there, so the
    library was loaded."""
    if os.getuid() != 0:
        raise Skip("chroot and a setuid file need root")
    prog = victim("leaky_fp")
    root = make_root([prog, LIB])
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "ld.so.preload"), "w") as f:
        f.write(LIB + "\n")
    os.makedirs(os.path.join(root, "out"))
    os.chmod(os.path.join(root, "out"), 0o1777)
    os.chmod(root, 0o1777)
    suid = os.path.join(root, "leaky-suid")
    shutil.copy(prog, suid)
    os.chown(suid, pwd.getpwnam("nobody").pw_uid, -1)
    os.chmod(suid, 0o4755)
    env = {"PATH": os.environ["PATH"], "LEAKSPY_INTERVAL": "0",
           "LEAKSPY_OUTPUT": "/out/%e.lsd"}
    native = run([prog], preload=False, want_rc=3)

    def dumps():
        return sorted(os.path.relpath(os.path.join(d, f), root)
                      for d, _, fs in os.walk(root) for f in fs
                      if f.endswith(".lsd"))

    plain = subprocess.run(["chroot", root, prog], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
    eq((plain.returncode, plain.stdout), (native.rc, native.out),
       "plain: exit status and output")
    eq(dumps(), ["out/leaky_fp.lsd"], "plain: its dump")
    rep = report(os.path.join(root, "out", "leaky_fp.lsd"))
    expect_site(rep, "leak_malloc", *LEAKY["leak_malloc"][:2])
    os.unlink(os.path.join(root, "out", "leaky_fp.lsd"))
    sec = subprocess.run(["chroot", root, "/leaky-suid"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=TIMEOUT)
    eq((sec.returncode, sec.stdout, sec.stderr),
       (native.rc, native.out, native.err), "setuid: as without leakspy")
    eq(dumps(), [], "setuid: no dump anywhere")
    shutil.rmtree(root)


def test_depth():
    r = run([victim("leaky_fp")], env={"LEAKSPY_DEPTH": "1"}, want_rc=3)
    rep = report(one_dump(r))
    expect_site(rep, "leak_malloc", 3000, 3)
    for s in rep["sites"]:
        check(len(s["frames"]) <= 2, "one frame (plus inlines): %r" %
              s["frames"])
    check(any(s["truncated"] for s in sites_of(rep, "leak_malloc")),
          "leak_malloc's stack is marked truncated")
    check(rep["coverage"]["truncated_stacks"] > 0, "truncated count")
    eq(rep["process"]["max_depth"], 1, "process.max_depth")


def test_interval():
    r = run([victim("sleeper"), "400"], env={"LEAKSPY_INTERVAL": "0.1"},
            want_rc=0)
    eq(r.out, b"kept 40\n", "output")
    rep = report(one_dump(r))
    check(rep["snapshots"] >= 3, "several snapshots, got %d" %
          rep["snapshots"])
    expect_site(rep, "grow", 40000, 40)
    first = report(r.dumps[0], "--snapshot", "0")
    eq(first["snapshot"]["reason"], "interval", "first snapshot's reason")
    b, n = by_function(first, "grow")
    check(0 < n < 40, "the first snapshot saw part of the growth: %d" % n)
    eq(b, n * 1000, "bytes follow blocks")


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
