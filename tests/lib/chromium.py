# SPDX-License-Identifier: MIT
"""Headless chromium for the tests of leakspy-report's HTML page: load a
local file with the network cut off and return what its DOM became, what
it wrote to its console and every connection it tried.

The browser's traffic all goes to a proxy this module runs on loopback
(a socket that records the first line of each connection and answers
nothing), loopback included; names resolve to nothing; and the browser's
own requests at start-up (network time, the component updater, the
account list) are switched off or pointed at a port chromium refuses to
connect to, so that on a page that asks for nothing the proxy sees
nothing.  Chromium writes every console message (console.log and
console.error alike: it gives no level for file:// pages) and every
uncaught exception to stderr as an INFO:CONSOLE line: those are the
console lines.  Loads of other local files (file://) go through
neither: the page's own Content-Security-Policy stops them, as a
violation it counts and chromium logs.  Each run has its own profile
and HOME in a temporary directory and a timeout, and ends with no
process of its own left: the process group is killed, and so is the
crash handler, which leaves it.  Without chromium the tests skip.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

from cireaders import missing
from lstest import Fail

TIMEOUT = 60
DEBIAN = "/usr/lib/chromium/chromium"
# /etc/chromium.d/dev-shm's threshold.
SHM_NEEDED = 4080218931
PR_SET_CHILD_SUBREAPER = 36

# Measured on Debian's chromium 156, each taken away alone from a page
# that asks for nothing and runs 25 s, one that asks for everything
# (fetch, image, beacon, WebSocket, preconnect, loopback, WebRTC) and
# one that logs: what then reached the proxy, chromium's net log
# (--log-net-log) or the console lines.
FLAGS = [
    "--headless",
    # As root, and without user namespaces: chromium will not start.
    "--no-sandbox",
    # Else the spell-check dictionary comes from redirector.gvt1.com.
    "--disable-sync",
    # Else clients2.google.com is asked for the time at start-up, and
    # with an API key (Debian's /usr/bin/chromium sets one; see binary())
    # optimizationguide-pa.googleapis.com for models after some seconds.
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints",
    # Else update.googleapis.com is asked for the on-device model
    # manifest (an on-demand check, which --disable-component-update
    # does not stop): the updater is pointed at a port chromium never
    # connects to (9, on its list of unsafe ports).
    "--component-updater=url-source=http://127.0.0.1:9/",
    # Else accounts.google.com is asked for the Google accounts in the
    # cookie jar (IdentityManager, for every profile): likewise.
    "--gaia-url=http://127.0.0.1:9/",
    # Else WebRTC sends STUN over UDP, which no proxy sees.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # Else loopback addresses (127.0.0.1, localhost) go around the proxy.
    "--proxy-bypass-list=<-loopback>",
    # Else WebRTC's STUN and TURN servers are looked up in the DNS by
    # chromium itself (the proxy resolves the names it is given).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    # Else there are no console lines on stderr.
    "--enable-logging=stderr",
    # These changed nothing that could be measured in chromium 156, alone
    # or together; they are what chromium has for start-up traffic, and
    # cost nothing.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--no-first-run",
]

# The start of each record chromium logs: [pid:tid:MMDD/HHMMSS.us:LEVEL:
# file:line] (console messages: CONSOLE:line, or CONSOLE(line) before
# chromium 12x).
RECORD = re.compile(r"^\[\d+:\d+:\d{4}/\d{6}\.\d+:([A-Z]+):([^\]]*)\] ",
                    re.M)
CONSOLE = re.compile(r"^CONSOLE(:\d+|\(\d+\))$")


def binary():
    """The chromium to run: $LS_CHROMIUM, Debian's binary itself (not
    /usr/bin/chromium, a script that adds Google API keys and flags of
    its own), or chromium on PATH.  None: the test skips, or fails under
    .ci/run (LS_CI=1), which installs it."""
    c = os.environ.get("LS_CHROMIUM")
    if c:
        if not os.access(c, os.X_OK):
            raise Fail("LS_CHROMIUM=%s: not an executable" % c)
        return c
    if os.access(DEBIAN, os.X_OK):
        return DEBIAN
    c = shutil.which("chromium")
    if not c:
        missing("chromium not found (Debian: apt-get install chromium)")
    return c


class Proxy:
    """A listener on 127.0.0.1 that records every connection made to it:
    the first line the client sent (an HTTP proxy request line such as
    "GET http://host/ HTTP/1.1" or "CONNECT host:443 HTTP/1.1"; empty if
    it sent nothing within a second), and closes it unanswered."""

    def __init__(self):
        self.seen = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(1)
            data = b""
            try:
                while b"\n" not in data and len(data) < 8192:
                    more = c.recv(8192)
                    if not more:
                        break
                    data += more
            except OSError:
                pass
            c.close()
            self.seen.append(data.split(b"\r\n", 1)[0].decode("latin-1"))

    def close(self):
        # shutdown() wakes the accept() of the thread; close() alone may
        # not.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)
        return list(self.seen)


def console_lines(stderr):
    """The console messages and uncaught exceptions among chromium's log
    records, each as logged: '"MESSAGE", source: URL (LINE)'."""
    out = []
    recs = list(RECORD.finditer(stderr))
    for i, m in enumerate(recs):
        end = recs[i + 1].start() if i + 1 < len(recs) else len(stderr)
        if CONSOLE.match(m.group(2)):
            out.append(stderr[m.end():end].rstrip("\n"))
    return out


def _subreaper():
    """Make this process the reaper of its orphaned descendants (the
    crash handler, whose parent exits at once), so that it can wait for
    them instead of leaving zombies to init."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise Fail("prctl(PR_SET_CHILD_SUBREAPER): %s" %
                   os.strerror(ctypes.get_errno()))


def _procs_of(sid, tmp):
    """The processes of a run: of its session sid, or naming its
    directory tmp, or the crash handler (which makes a session of its
    own, and whose command line is gone once it is a zombie) adopted by
    this process: [(pid, parent, state, command line)]."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                comm, st = f.read().split(" (", 1)[1].rsplit(") ", 1)
            st = st.split()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(st[1])
        if int(st[3]) == sid or tmp in cmd or (
                ppid == os.getpid() and comm.startswith("chrome_crashpad")):
            found.append((int(d), ppid, st[0], cmd[:200] or comm))
    return found


def _reap(p, tmp):
    """Kill what is left of run p (its process group, then any process
    of its session or naming its directory) and wait for each one that
    is this process's child; fail if one is still there after 10 s."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while True:
        left = _procs_of(p.pid, tmp)
        for pid, ppid, state, _ in left:
            if state != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if ppid == os.getpid():
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        if not left:
            return
        if time.monotonic() > deadline:
            raise Fail("chromium processes left after the run: %r" % left)
        time.sleep(0.05)


def run(args, url, timeout=TIMEOUT):
    """Run chromium with FLAGS, args and url, in a profile, HOME and
    proxy of its own: (exit status, stdout, stderr text, connections the
    proxy saw, seconds it took)."""
    exe = binary()
    _subreaper()
    tmp = tempfile.mkdtemp(prefix="lst.chromium.")
    proxy = Proxy()
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LEAKSPY_") or k == "LD_PRELOAD":
            del env[k]
    # The crash handler's database is under the config directory.
    env.update({"HOME": tmp, "XDG_CONFIG_HOME": os.path.join(tmp, "config"),
                "XDG_CACHE_HOME": os.path.join(tmp, "cache")})
    flags = list(FLAGS)
    # As Debian's wrapper does: with a small /dev/shm chromium crashes.
    st = os.statvfs("/dev/shm") if os.path.isdir("/dev/shm") else None
    if st is None or st.f_bavail * st.f_frsize < SHM_NEEDED:
        flags.append("--disable-dev-shm-usage")
    argv = [exe] + flags + [
        "--user-data-dir=" + os.path.join(tmp, "profile"),
        "--proxy-server=127.0.0.1:%d" % proxy.port] + list(args) + [url]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, cwd=tmp, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        _reap(p, tmp)
        proxy.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise Fail("chromium did not finish in %d s on %s (stderr: %s)" %
                   (timeout, url, err.decode(errors="replace")[-1500:]))
    took = time.monotonic() - t0
    _reap(p, tmp)
    seen = proxy.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return p.returncode, out, err.decode(errors="replace"), seen, took


def url_of(path, fragment=""):
    return "file://" + os.path.abspath(path) + ("#" + fragment
                                                if fragment else "")


def load(path, fragment="", budget_ms=5000, timeout=TIMEOUT):
    """Load page path (with URL fragment, e.g. "site=3&snap=5") and let
    it run for budget_ms of virtual time (timers fire at once; waiting
    for them costs nothing): (the DOM as HTML, the console lines, the
    connections it tried)."""
    dom, console, seen, _ = load_timed(path, fragment, budget_ms, timeout)
    return dom, console, seen


def load_timed(path, fragment="", budget_ms=5000, timeout=TIMEOUT):
    """As load(), and the seconds chromium ran."""
    rc, out, err, seen, took = run(
        ["--virtual-time-budget=%d" % budget_ms, "--dump-dom"],
        url_of(path, fragment), timeout)
    if rc != 0:
        raise Fail("chromium --dump-dom %s: exit status %d (stderr: %s)" %
                   (path, rc, err[-1500:]))
    return out.decode("utf-8", errors="replace"), console_lines(err), seen, \
        took


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise Fail("not a PNG: %r" % data[:16])
    return struct.unpack(">II", data[16:24])


def screenshot(path, out, width=1280, height=800, fragment="",
               budget_ms=5000, timeout=TIMEOUT):
    """A screenshot of page path, width x height (no scroll bar), into
    out: (width and height from its IHDR, its size in bytes, the console
    lines, the connections tried)."""
    rc, _, err, seen, _ = run(
        ["--virtual-time-budget=%d" % budget_ms, "--hide-scrollbars",
         "--screenshot=" + os.path.abspath(out),
         "--window-size=%d,%d" % (width, height)],
        url_of(path, fragment), timeout)
    if rc != 0 or not os.path.exists(out):
        raise Fail("chromium --screenshot %s: exit status %d (stderr: %s)" %
                   (path, rc, err[-1500:]))
    with open(out, "rb") as f:
        data = f.read()
    w, h = png_size(data)
    return w, h, len(data), console_lines(err), seen
