#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Real services under leakspy, on 127.0.0.1, each bounded in time: they
behave and exit as without it, leave a dump per process, and their
reports read.  A service that is not installed is skipped with a message
(.ci/run installs them).  Usage: test_services.py TEST"""

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


def start(argv, traced, d, port, **kw):
    """Start a server in d and wait for its port."""
    p = subprocess.Popen(argv, cwd=d, env=env_for(traced, d),
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


def env_for(traced, outdir):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKSPY_") or k == "LD_PRELOAD":
            del e[k]
    if traced:
        e["LD_PRELOAD"] = LIB
        e["LEAKSPY_INTERVAL"] = "0.5"
        e["LEAKSPY_OUTPUT"] = os.path.join(outdir, "%e.%p.lsd")
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


def test_nginx():
    nginx = need("nginx")
    port = free_port()

    def serve(traced, d):
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
master_process on;
worker_processes 2;
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
""" % (("user root;" if os.getuid() == 0 else ""), d, d, d, d, d, d, d,
                port))
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


def test_memcached():
    memcached = need("memcached")
    port = free_port()

    def load():
        errors = []

        def client(k):
            try:
                s = socket.create_connection(("127.0.0.1", port), 10)
                f = s.makefile("rb")
                for i in range(300):
                    v = b"v" * (10 + (i * 7) % 300)
                    s.sendall(b"set k%d_%d 0 0 %d\r\n%s\r\n" %
                              (k, i, len(v), v))
                    if f.readline() != b"STORED\r\n":
                        raise Fail("set failed")
                    s.sendall(b"get k%d_%d\r\n" % (k, i))
                    if not f.readline().startswith(b"VALUE"):
                        raise Fail("get failed")
                    f.readline()
                    f.readline()
                s.close()
            except Exception as ex:
                errors.append(repr(ex))
        ts = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(DEADLINE)
        return errors

    def serve(traced, d):
        argv = [memcached, "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                "-t", "8", "-m", "64"]
        if os.getuid() == 0:
            argv += ["-u", "root"]
        p = start(argv, traced, d, port)
        errors = load()
        return errors, stop(p)

    res, dumps = both(serve)
    eq(res, ([], 0), "16 clients served, exited 0")
    eq(len(dumps), 1, "one process, one dump")
    rep = read_all(dumps)[0]
    workers = [t for t in rep["threads"] if t["name"] == "mc-worker"]
    eq(len(workers), 8, "eight worker threads, by name")
    check(rep["threads_created"] >= 8, "threads created")


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


if __name__ == "__main__":
    sys.exit(main({k[5:]: v for k, v in globals().items()
                   if k.startswith("test_")}))
