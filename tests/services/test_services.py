#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real services under leakspy, on 127.0.0.1, each bounded in time: they
behave and exit as without it, leave a dump per process, and their
reports read.  A service that is not installed is skipped with a message
(.ci/run installs them).  Usage: test_services.py TEST"""

import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

DEADLINE = 60


def need(prog):
    path = shutil.which(prog) or next(
        (p for p in ("/usr/sbin/" + prog, "/sbin/" + prog)
         if os.path.exists(p)), None)
    if path is None:
        raise Skip("%s is not installed (apt-get install it)" % prog)
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc):
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise Fail("exited early with %r" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise Fail("port %d never opened" % port)


def start(argv, traced, d, port, env=None, **kw):
    """Start a server in d and wait for its port."""
    p = subprocess.Popen(argv, cwd=d, env=env or env_for(traced, d),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         **kw)
    try:
        wait_port(port, p)
    except Exception:
        p.kill()
        raise
    return p


def stop(p, sig=signal.SIGTERM, pid=None):
    """Signal the server (or pid) and return its exit status."""
    try:
        os.kill(pid or p.pid, sig)
        return p.wait(timeout=DEADLINE)
    finally:
        if p.poll() is None:
            p.kill()


def env_for(traced, outdir, interval="0.5", **settings):
    """The environment without leakspy, or with it writing to outdir;
    settings are more LEAKSPY_* variables (FOLLOW_EXEC="1")."""
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKSPY_") or k == "LD_PRELOAD":
            del e[k]
    if traced:
        e["LD_PRELOAD"] = LIB
        e["LEAKSPY_INTERVAL"] = interval
        e["LEAKSPY_OUTPUT"] = os.path.join(outdir, "%e.%p.lsd")
        for k, v in settings.items():
            e["LEAKSPY_" + k] = v
    return e


def dumps_in(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.endswith(".lsd"))


def both(serve):
    """Run serve(traced, workdir) -> observable result, without and with
    leakspy; they must agree.  Returns (the traced result, its dumps)."""
    got = {}
    for traced in (False, True):
        d = tempfile.mkdtemp(prefix="lss.")
        got[traced] = (serve(traced, d), dumps_in(d))
    eq(got[True][0], got[False][0], "behaviour under leakspy")
    eq(got[False][1], [], "no dumps without leakspy")
    return got[True]


def read_all(dumps):
    """Every dump reads whole; returns the reports."""
    reps = []
    for d in dumps:
        rep = report(d)
        eq((rep["error"], rep["complete"]), (None, True), d)
        reps.append(rep)
    return reps


def report_any(dump):
    p = subprocess.run([REPORT, "--format", "json", dump],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    check(p.returncode in (0, 3), "%s: leakspy-report exit %d: %s" %
          (dump, p.returncode, p.stderr.decode()))
    return json.loads(p.stdout)


def test_redis():
    server = need("redis-server")
    bench = need("redis-benchmark")
    port = free_port()

    def serve(traced, d):
        p = start([server, "--port", str(port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", d],
                  traced, d, port)
        b = subprocess.run([bench, "-h", "127.0.0.1", "-p", str(port),
                            "-n", "20000", "-q", "-t", "set,get,lpush"],
                           stdout=subprocess.PIPE, timeout=DEADLINE)
        ok = b.returncode == 0 and b.stdout.count(b"requests per") == 3
        return ok, stop(p)

    res, dumps = both(serve)
    eq(res, (True, 0), "benchmark ran, server exited 0")
    eq(len(dumps), 1, "one process, one dump")
    rep = read_all(dumps)[0]
    check(rep["totals"]["allocated_blocks"] > 20000,
          "allocations seen: %r" % rep["totals"])
    eq(rep["coverage"]["interposition"], True, "malloc reaches leakspy")
    # Redis does not join its background threads at shutdown.
    eq(sorted(t["name"] for t in rep["threads"] if t["leak"]),
       ["bio_aof_fsync", "bio_close_file", "bio_lazy_free"],
       "redis's bio threads, never joined")


def nginx_conf(d, port, workers):
    """An nginx.conf in d: workers on 127.0.0.1:port answering "ok";
    returns its path."""
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
master_process on;
worker_processes %d;
%s
pid %s/nginx.pid;
error_log %s/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  server { listen 127.0.0.1:%d; location / { return 200 "ok"; } }
}
""" % (workers, ("user root;" if os.getuid() == 0 else ""), d, d, d, d, d,
            d, d, port))
    return conf


def test_nginx():
    nginx = need("nginx")
    port = free_port()

    def serve(traced, d):
        conf = nginx_conf(d, port, 2)
        p = start([nginx, "-p", d, "-c", conf], traced, d, port)
        url = "http://127.0.0.1:%d/" % port
        bodies = [urllib.request.urlopen(url, timeout=10).read()
                  for _ in range(20)]
        with open(os.path.join(d, "nginx.pid")) as f:
            master = int(f.read())
        os.kill(master, signal.SIGHUP)          # reload: new workers
        time.sleep(1.0)
        bodies += [urllib.request.urlopen(url, timeout=10).read()
                   for _ in range(20)]
        return set(bodies), stop(p, signal.SIGQUIT, master)

    res, dumps = both(serve)
    eq(res, ({b"ok"}, 0), "served, reloaded, exited 0")
    reps = read_all(dumps)
    masters = [r for r in reps if not r["process"]["fork_child"]]
    workers = [r for r in reps if r["process"]["fork_child"]]
    eq(len(masters), 1, "one master")
    eq(len(workers), 4, "two workers, then two more after the reload")
    for w in workers:
        eq(w["process"]["ppid"], masters[0]["process"]["pid"],
           "a worker's parent is the master")
        check(w["totals"]["inherited_bytes"] > 0, "workers inherit a heap")
    eq(len({r["process"]["pid"] for r in reps}), 5, "a dump per process")


def mc_load(port, clients, ops):
    """clients threads, each ops sets and gets of its own keys on a
    connection of its own; every get must return what was set.  Returns
    (errors, answers received)."""
    errors = []
    answered = [0] * clients

    def client(k):
        try:
            s = socket.create_connection(("127.0.0.1", port), 10)
            f = s.makefile("rb")
            for i in range(ops):
                v = b"v%d." % i * (1 + (i * 7) % 60)
                s.sendall(b"set k%d_%d 0 0 %d\r\n%s\r\n" %
                          (k, i, len(v), v))
                got = f.readline()
                if got != b"STORED\r\n":
                    raise Fail("set k%d_%d: %r" % (k, i, got))
                answered[k] += 1
                s.sendall(b"get k%d_%d\r\n" % (k, i))
                got = [f.readline(), f.readline(), f.readline()]
                want = [b"VALUE k%d_%d 0 %d\r\n" % (k, i, len(v)),
                        v + b"\r\n", b"END\r\n"]
                if got != want:
                    raise Fail("get k%d_%d: %r" % (k, i, got[:2]))
                answered[k] += 1
            s.close()
        except Exception as ex:
            errors.append(repr(ex))
    ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(DEADLINE)
    return errors, sum(answered)


def test_memcached():
    memcached = need("memcached")
    port = free_port()

    def serve(traced, d):
        argv = [memcached, "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                "-t", "8", "-m", "64"]
        if os.getuid() == 0:
            argv += ["-u", "root"]
        p = start(argv, traced, d, port)
        errors, _ = mc_load(port, 16, 300)
        return errors, stop(p)

    res, dumps = both(serve)
    eq(res, ([], 0), "16 clients served, exited 0")
    eq(len(dumps), 1, "one process, one dump")
    rep = read_all(dumps)[0]
    workers = [t for t in rep["threads"] if t["name"] == "mc-worker"]
    eq(len(workers), 8, "eight worker threads, by name")
    check(rep["threads_created"] >= 8, "threads created")


def report_rc(dump, *args):
    """leakspy-report --format json on dump: (exit status, report)."""
    p = subprocess.run([REPORT, "--format", "json"] + list(args) + [dump],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT)
    check(p.returncode in (0, 3), "%s: leakspy-report exit %d: %s" %
          (dump, p.returncode, p.stderr.decode()))
    return p.returncode, json.loads(p.stdout)


def snapshot_times(rep):
    """The times of all the report's snapshots, up to the one shown (each
    site's series has a point per snapshot)."""
    return [pt["time_s"] for pt in rep["sites"][0]["series"]] \
        if rep["sites"] else []


def test_memcached_nobody():
    """memcached started as root with -u nobody (strace -f, 1.6.18): one
    process; before its threads it sets RLIMIT_NOFILE (soft and hard) to
    1024, then setgroups(0), setgid(65534), setuid(65534) for good, then
    creates its threads and binds.  SIGTERM: its handler ends the event
    loop, it returns from main (status 0) within about a second.  The dump
    is created at start, by root; every snapshot is written after the
    drop.  Under load the periodic snapshots must go on, and the final
    one must be written at exit."""
    memcached = need("memcached")
    if os.getuid() != 0:
        raise Skip("memcached -u nobody needs root")
    port = free_port()
    clients, ops, interval = 8, 2000, 0.2
    clock = {}

    def serve(traced, d):
        os.chmod(d, 0o755)      # searchable by nobody; the dump is root's
        argv = [memcached, "-u", "nobody", "-l", "127.0.0.1", "-p",
                str(port), "-U", "0", "-t", "8", "-m", "64"]
        t = {"spawn": time.monotonic()}
        p = start(argv, traced, d, port, env=env_for(traced, d,
                                                     str(interval)))
        t["port"] = time.monotonic()
        errors, answered = mc_load(port, clients, ops)
        t["end"] = time.monotonic()
        status = stop(p)
        clock[traced] = {k: v - t["spawn"] for k, v in t.items()}
        return errors[:3], answered, status

    res, dumps = both(serve)
    eq(res, ([], clients * ops * 2, 0),
       "every set and get answered, exit status after SIGTERM")
    eq(len(dumps), 1, "one process, one dump")
    t = clock[True]
    rc, rep = report_rc(dumps[0], "-n", "1")
    times = snapshot_times(rep)
    load = t["end"] - t["port"]
    want = int(0.8 * load / interval)
    # Process time lags the test's clock by the exec, so a snapshot at
    # t["port"] or later came after the port opened, after the setuid.
    during = [x for x in times if t["port"] <= x <= t["end"]]
    bad = []
    if rep["snapshots"] < want:
        bad.append("%d snapshots in a %.1f s load at %gs, want %d or more"
                   % (rep["snapshots"], load, interval, want))
    if len(during) < max(want, 2):
        bad.append("%d snapshots during the load (%.2f..%.2f s, after "
                   "setuid), want %d or more; times %r" %
                   (len(during), t["port"], t["end"], want, times[:8]))
    elif (during[0] > t["port"] + interval + 0.5 or
          during[-1] < t["end"] - interval - 0.5):
        bad.append("snapshots at %.2f..%.2f s do not span the load "
                   "%.2f..%.2f s" % (during[0], during[-1], t["port"],
                                     t["end"]))
    last = rep["snapshot"]
    if (rc, rep["complete"]) != (0, True) or last is None or \
            last["reason"] != "exit" or last["time_s"] < t["end"] - 0.1:
        bad.append("want a final snapshot at exit, after SIGTERM at %.2f s;"
                   " leakspy-report exit %d, complete %r, error %r, last "
                   "snapshot %r" % (t["end"], rc, rep["complete"],
                                    rep["error"], last))
    check(not bad, "; ".join(bad))


def children_of(pid):
    """The pids whose parent is pid."""
    kids = []
    for e in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % e) as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            kids.append(int(e))
    return kids


def wait_for(what, cond, proc, timeout=15):
    end = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            raise Fail("exited with %r before %s" % (proc.returncode, what))
        if time.monotonic() > end:
            raise Fail("no %s in %d s" % (what, timeout))
        time.sleep(0.05)


SSHD_LOGINS = 20


def sshd_serve(sshd, ssh, key, d, env):
    """Run sshd -D on a new port with its config in d and its stderr in
    d/sshd.log, log in SSHD_LOGINS times, wait for the connections'
    processes to end, SIGTERM it.  Returns (the ssh exit statuses, its
    exit status, its pid, the log)."""
    port = free_port()
    cfg = os.path.join(d, "sshd_config")
    # SHLVL=1: bash run by sshd then skips ~/.bashrc, root's own business
    # (and half a second a login here).
    with open(cfg, "w") as f:
        f.write("AuthorizedKeysFile %s\n"
                "PermitRootLogin prohibit-password\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "UsePAM no\n"
                "StrictModes no\n"
                "SetEnv SHLVL=1\n"
                "PidFile %s\n" % (key + ".pub", os.path.join(d, "sshd.pid")))
    log = os.path.join(d, "sshd.log")
    with open(log, "wb") as err:
        p = subprocess.Popen([sshd, "-D", "-e", "-f", cfg, "-p", str(port),
                              "-o", "ListenAddress=127.0.0.1",
                              "-h", key + ".host"],
                             cwd=d, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)

    def text():
        with open(log, "rb") as f:
            return f.read().decode(errors="replace")
    try:
        # Not by connecting: that would be a connection more.
        wait_for("\"Server listening\" in its log",
                 lambda: "Server listening on 127.0.0.1 port %d" % port in
                 text(), p)
        logins = ssh_logins(ssh, key, port)
        wait_for("end of the connections' processes",
                 lambda: not children_of(p.pid), p)
        status = stop_within(p, 10)
    except Fail as ex:
        raise Fail("%s; sshd's log ends %r" % (ex, text()[-600:]))
    finally:
        if p.poll() is None:
            for k in children_of(p.pid):
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.kill()
            p.wait()
    return logins, status, p.pid, text()


def ssh_logins(ssh, key, port):
    """SSHD_LOGINS logins as root running true, one after the other, in
    50 s at most (about 10 s on an idle machine): their exit statuses, the
    first failure's message after its status."""
    logins = []
    end = time.monotonic() + DEADLINE - 10
    for _ in range(SSHD_LOGINS):
        if time.monotonic() > end:
            return logins + ["out of time"]
        try:
            r = subprocess.run([ssh, "-p", str(port), "-i", key,
                                "-o", "StrictHostKeyChecking=no",
                                "-o", "UserKnownHostsFile=/dev/null",
                                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                                "-o", "ConnectTimeout=10",
                                "root@127.0.0.1", "true"],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=10)
        except subprocess.TimeoutExpired:
            logins.append("timed out")
            continue
        logins.append(r.returncode)
        if r.returncode != 0 and all(isinstance(x, int) for x in logins):
            logins.append(r.stderr.decode(errors="replace").strip())
    return logins


def stop_within(p, timeout):
    """SIGTERM p: its exit status, or "none in N s" (then it is killed)."""
    os.kill(p.pid, signal.SIGTERM)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return "none in %d s" % timeout


def sshd_dumps(dumps, listener, follow):
    """Check the dumps of one traced run against what sshd's processes do
    (see test_sshd_logins); returns the problems found."""
    bad = []
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        reps = dict(zip(dumps, pool.map(lambda f: report_rc(f, "-n", "1"),
                                        dumps)))
    for f, (rc, rep) in sorted(reps.items()):
        if rep["error"] is not None and rep["error"]["offset"] is not None:
            bad.append("%s: damaged: %r" % (f, rep["error"]))

    def pick(cond):
        """The dumps whose process (pid, ppid, argv...) meets cond."""
        return sorted(f for f, (_, r) in reps.items() if cond(r["process"]))

    def reason(r):
        return r["snapshot"]["reason"] if r["snapshot"] else None

    def ends(files, want_rc, want_reason, what):
        got = sorted({(reps[f][0], reason(reps[f][1])) for f in files})
        if got != [(want_rc, want_reason)]:
            bad.append("%s: (report exit, last snapshot) %r, want %r" %
                       (what, got, [(want_rc, want_reason)]))

    n = SSHD_LOGINS
    top = pick(lambda p: p["pid"] == listener)
    if len(top) != 1:
        bad.append("want one dump of the listener (pid %d), found %r" %
                   (listener, top))
    else:
        rc, rep = reps[top[0]]
        if (rc, rep["complete"]) != (0, True):
            bad.append("listener's dump: report exit %d, complete %r, error "
                       "%r, last snapshot %r" % (rc, rep["complete"],
                                                 rep["error"],
                                                 rep["snapshot"]))
    forks = pick(lambda p: p["ppid"] == listener and p["fork_child"])
    if len(forks) != n:
        bad.append("want %d dumps of the listener's fork children, found %d"
                   % (n, len(forks)))
    ends(forks, 0, "exec", "listener's fork children (re-exec as sshd -R)")
    if not follow:
        others = len(dumps) - len(top) - len(forks)
        if others:
            bad.append("%d dumps of other processes (the exec'd ones run "
                       "without leakspy)" % others)
        return bad
    rexec = pick(lambda p: p["ppid"] == listener and
                 not p["fork_child"] and p["argv"][-1:] == ["-R"])
    if len(rexec) != n:
        bad.append("want %d dumps of sshd -R, found %d" % (n, len(rexec)))
    ends(rexec, 0, "exit", "sshd -R (the connection's monitor)")
    monitors = {reps[f][1]["process"]["pid"] for f in rexec}
    kids = pick(lambda p: p["ppid"] in monitors and p["fork_child"])
    session = [f for f in kids if reason(reps[f][1]) == "exec"]
    preauth = [f for f in kids if f not in session]
    if (len(preauth), len(session)) != (n, n):
        bad.append("children of sshd -R: %d ending in an exec (the session),"
                   " %d others (preauth), want %d and %d" %
                   (len(session), len(preauth), n, n))
    others = len(dumps) - len(top) - len(forks) - len(rexec) - len(kids)
    if others:
        bad.append("%d dumps of other processes" % others)
    return bad


def test_sshd_logins():
    """OpenSSH's sshd (Debian 12, 9.2p1) with key logins as root, UsePAM
    no.  What its processes do (strace -f):

    - the listener (sshd -D, root): setgroups(0), binds, and per
      connection fork()s a child that, unchanged, execve()s sshd again
      with -R.  SIGTERM: its handler sets a flag, the loop logs "Received
      signal 15; terminating.", unlinks the PidFile and exit(0)s.
    - sshd -R, the connection's monitor (root): fork()s the preauth
      child; while checking the key it switches its effective ids to the
      user's and back (setgroups, setresgid(-1, 0, -1), setresuid(-1, 0,
      -1): root's own); for root there is no post-auth privsep child:
      it fork()s the session child, waits for it, and exits with 255.
    - the preauth child (fork of the monitor, no exec): chroot("/run/
      sshd"), setgroups([65534]), setresgid(65534 x3), setresuid(the sshd
      user x3), checks that setgid(0)/setuid(0) fail, setrlimit
      RLIMIT_FSIZE 0, RLIMIT_NOFILE 1, RLIMIT_NPROC 0 (soft and hard),
      PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP (a filter), then does the key
      exchange and the authentication and exit(0)s.  It logs through the
      monitor, but its fd 2 is still sshd's stderr: here a regular file,
      where any write raises SIGXFSZ (this killed it, and every login,
      when leakspy wrote its "cannot write" message there).
    - the session child (fork of the monitor): setgid, setgroups, setresgid
      and setresuid(0, 0, 0), execve(root's shell, "-c", "true") with an
      environment of sshd's making, without LD_PRELOAD.
    No capset(2) anywhere.

    Without leakspy, with it, and with it and LEAKSPY_FOLLOW_EXEC=1: every
    login succeeds and sshd exits after SIGTERM as without leakspy; every
    dump reads undamaged; the listener's dump is complete; a dump per
    process as above (without FOLLOW_EXEC only the listener and its fork
    children, each ending at the exec)."""
    sshd = need("sshd")
    ssh = need("ssh")
    keygen = need("ssh-keygen")
    if os.getuid() != 0:
        raise Skip("sshd needs root (privilege separation)")
    if not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", 0o755)     # its privsep chroot
    keys = tempfile.mkdtemp(prefix="lss.")
    key = os.path.join(keys, "id")
    for k in (key, key + ".host"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", k],
                       check=True, timeout=TIMEOUT)
    # The three at once, on ports of their own: the logins take most of
    # the time.
    runs = {}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        for follow in (None, True, False):
            d = tempfile.mkdtemp(prefix="lss.")
            env = env_for(follow is not None, d, "0.2",
                          **({"FOLLOW_EXEC": "1"} if follow else {}))
            runs[follow] = (d, pool.submit(sshd_serve, sshd, ssh, key, d,
                                           env))
    d, run = runs.pop(None)
    native = run.result()
    eq(native[0], [0] * SSHD_LOGINS, "logins without leakspy")
    eq(dumps_in(d), [], "no dumps without leakspy")
    bad = []
    for follow, (d, run) in runs.items():
        what = "LEAKSPY_FOLLOW_EXEC=1" if follow else "no FOLLOW_EXEC"
        try:
            logins, status, pid, log = run.result()
        except Fail as ex:
            bad.append("%s: %s" % (what, ex))
            continue
        if logins != [0] * SSHD_LOGINS:
            bad.append("%s: ssh exit statuses %r; sshd's log ends %r" %
                       (what, logins, log[-600:]))
        if status != native[1]:
            bad.append("%s: sshd exit status after SIGTERM %r, without "
                       "leakspy %r" % (what, status, native[1]))
        bad += ["%s: %s" % (what, b)
                for b in sshd_dumps(dumps_in(d), pid, follow)]
    check(not bad, "\n  ".join(bad))


def test_stress_ng():
    stress = need("stress-ng")
    argv = [stress, "--malloc", "2", "--malloc-ops", "2000", "--pthread",
            "2", "--pthread-ops", "200", "--fork", "2", "--fork-ops", "100",
            "--vfork", "2", "--vfork-ops", "100", "-t", "20s"]

    def serve(traced, d):
        p = subprocess.run(argv, cwd=d, env=env_for(traced, d),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=DEADLINE * 2)
        return p.returncode, b"successful run completed" in p.stderr

    res, dumps = both(serve)
    eq(res, (0, True), "stress-ng succeeded")
    reps = [report_any(d) for d in dumps]
    for d, r in zip(dumps, reps):
        eq(r["error"], None, "%s: damage" % d)
    pids = {r["process"]["pid"] for r in reps}
    eq(len(pids), len(reps), "a dump per process")
    # The stressors are fork children of stress-ng; the fork stressor's
    # own children (100 per instance) each leave a dump too.
    check(len(reps) > 100, "dumps: %d" % len(reps))
    threads = sum(r["threads_created"] for r in reps)
    check(threads >= 200, "pthread stressor's threads seen: %d" % threads)


def attach(pid, d, *opts):
    """leakspy attach --background OPTS PID, its dumps into d."""
    p = subprocess.run([LAUNCHER, "attach", "--background", "-o",
                        os.path.join(d, "%e.%p.lsd")] + list(opts) +
                       [str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=DEADLINE)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0 and "Operation not permitted" in err:
        raise Skip("this machine forbids ptrace: " + err.strip())
    eq(p.returncode, 0, "leakspy attach (%s)" % err)


def detach(pid):
    p = subprocess.run([LAUNCHER, "detach", str(pid)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=DEADLINE)
    eq(p.returncode, 0, "leakspy detach (%s)" % p.stderr.decode())


def test_redis_attach():
    """redis-server (jemalloc), started without leakspy, attached to and
    detached from under redis-benchmark: every request served."""
    server = need("redis-server")
    bench = need("redis-benchmark")
    port = free_port()
    d = tempfile.mkdtemp(prefix="lss.")
    p = start([server, "--port", str(port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", d], False, d,
              port)
    try:
        b = subprocess.Popen([bench, "-h", "127.0.0.1", "-p", str(port),
                              "-n", "300000", "-c", "20", "-q", "-t",
                              "set,get,lpush"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        time.sleep(0.5)
        attach(p.pid, d, "-i", "0.5")
        time.sleep(1.0)
        detach(p.pid)
        out, _ = b.communicate(timeout=DEADLINE * 2)
        eq((b.returncode, out.count(b"requests per")), (0, 3),
           "redis-benchmark: every request answered")
    finally:
        eq(stop(p), 0, "redis-server's exit status")
    dumps = dumps_in(d)
    eq(len(dumps), 1, "one dump")
    rep = read_all(dumps)[0]
    eq((rep["coverage"]["attached"], rep["final"]["how"]),
       (True, "detach"), "attached, then detached")
    check(rep["totals"]["allocated_blocks"] > 10000,
          "allocations seen while attached: %r" % rep["totals"])


def test_nginx_attach():
    """An nginx worker attached to and detached from while requests keep
    coming: every one is answered."""
    nginx = need("nginx")
    port = free_port()
    d = tempfile.mkdtemp(prefix="lss.")
    conf = nginx_conf(d, port, 1)
    p = start([nginx, "-p", d, "-c", conf], False, d, port)
    url = "http://127.0.0.1:%d/" % port
    bodies, done = [], threading.Event()

    def load():
        while not done.is_set():
            try:
                bodies.append(urllib.request.urlopen(url, timeout=10).read())
            except OSError as ex:
                bodies.append(repr(ex).encode())

    try:
        with open(os.path.join(d, "nginx.pid")) as f:
            master = int(f.read())
        wait_for("a worker", lambda: children_of(master), p)
        worker = children_of(master)[0]
        t = threading.Thread(target=load)
        t.start()
        time.sleep(0.3)
        attach(worker, d, "-i", "0.5")
        time.sleep(1.0)
        detach(worker)
        time.sleep(0.3)
        done.set()
        t.join()
    finally:
        done.set()
        eq(stop(p, signal.SIGQUIT, master), 0, "nginx's exit status")
    eq(set(bodies), {b"ok"}, "every request answered")
    check(len(bodies) > 50, "requests: %d" % len(bodies))
    dumps = dumps_in(d)
    eq(len(dumps), 1, "one dump, the worker's")
    rep = read_all(dumps)[0]
    eq((rep["process"]["pid"], rep["final"]["how"]), (worker, "detach"),
       "the worker's dump, ended by the detach")
    check(rep["totals"]["allocated_blocks"] > 0,
          "allocations seen while attached: %r" % rep["totals"])


if __name__ == "__main__":
    sys.exit(main({k[5:]: v for k, v in globals().items()
                   if k.startswith("test_")}))
