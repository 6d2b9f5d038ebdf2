#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report --watch on a terminal (a tmux pane) against a program
that is still running: the growing site shows within two snapshots of
the dump's first verdict, and Ctrl-C ends the view with exit 0.
Usage: test_watch.py TEST"""

import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

DEMO = os.path.join(BUILD, "tools", "leakspy-demo")


class Pane:
    """A detached tmux session of its own running command."""

    def __init__(self, tmp, command):
        if shutil.which("tmux") is None:
            if os.environ.get("LS_CI") == "1":
                raise Fail("tmux is missing (.ci/run installs it)")
            raise Skip("tmux is not installed")
        self.sock = os.path.join(tmp, "tmux.sock")
        self.tmux("new-session", "-d", "-x", "132", "-y", "60", command)

    def tmux(self, *args):
        p = subprocess.run(["tmux", "-S", self.sock] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        eq(p.returncode, 0, "tmux %s: exit status (%s)" %
           (args[0], p.stderr.decode(errors="replace")))
        return p.stdout.decode(errors="replace")

    def screen(self):
        return self.tmux("capture-pane", "-p")

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=TIMEOUT)


def env_for(dump):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("LEAKSPY_"):
            del e[k]
    e.update({"LD_PRELOAD": LIB, "LEAKSPY_INTERVAL": "0.3",
              "LEAKSPY_OUTPUT": dump})
    return e


SNAP = re.compile(r"^snapshot:  #(\d+) of", re.M)
GROWING = re.compile(r"fetch_result \(.*\n +growing \+")


def test_watch_growing():
    """The demo grows for 3 s at 3 snapshots a second: the pane shows
    fetch_result growing, at a snapshot at most two after the first at
    which the dump itself says so; at the end, that the process ended."""
    tmp = tmpdir()
    dump = os.path.join(tmp, "demo.lsd")
    pane = Pane(tmp, "%s --watch 0.1 %s; sleep 30" % (REPORT, dump))
    try:
        time.sleep(0.3)
        check("waiting for" in pane.screen(),
              "says it waits for the dump:\n" + pane.screen())
        prog = subprocess.Popen([DEMO], env=env_for(dump), cwd=tmp,
                                stdout=subprocess.DEVNULL)
        seen = None
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            s = pane.screen()
            m = SNAP.search(s)
            if m and GROWING.search(s) and seen is None:
                seen = int(m.group(1))
            if "the process has ended" in s:
                break
            time.sleep(0.05)
        eq(prog.wait(timeout=TIMEOUT), 0, "the demo's exit status")
        final = pane.screen()
    finally:
        pane.close()
    check("the process has ended" in final, "says the end:\n" + final)
    check(seen is not None, "fetch_result growing on the pane")
    first = None
    for k in range(report(dump)["snapshots"]):
        rep = report(dump, "--snapshot", str(k))
        if any(st["frames"][0]["function"] == "fetch_result" and
               st["growth"]["verdict"] == "growing" for st in rep["sites"]):
            first = k
            break
    check(first is not None, "the dump's verdict: growing")
    check(seen <= first + 2, "shown at snapshot #%d, growing from #%d" %
          (seen, first))


def watch_sleeper():
    """The sleeper victim writing its dump, and a pane watching it, once
    its first snapshot shows: (program, pane, file of the view's exit
    status, deadline)."""
    tmp = tmpdir()
    dump = os.path.join(tmp, "sleeper.lsd")
    rcfile = os.path.join(tmp, "rc")
    prog = subprocess.Popen([victim("sleeper"), "20000"], env=env_for(dump),
                            cwd=tmp, stdout=subprocess.DEVNULL)
    pane = Pane(tmp, "%s --watch 0.1 %s; echo $? > %s; sleep 30" %
                (REPORT, dump, rcfile))
    deadline = time.monotonic() + TIMEOUT
    while not SNAP.search(pane.screen()) and time.monotonic() < deadline:
        time.sleep(0.05)
    check(SNAP.search(pane.screen()), "a snapshot shown:\n" +
          pane.screen())
    return prog, pane, rcfile, deadline


def view_status(rcfile, deadline):
    while not os.path.exists(rcfile) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    with open(rcfile) as f:
        return f.read()


def test_watch_interrupt():
    """Ctrl-C ends the view at once, with exit status 0; the program
    watched goes on."""
    prog, pane, rcfile, deadline = watch_sleeper()
    try:
        pane.tmux("send-keys", "C-c")
        eq(view_status(rcfile, deadline), "0\n", "exit status after Ctrl-C")
        eq(prog.poll(), None, "the program goes on")
    finally:
        pane.close()
        prog.kill()
        prog.wait(timeout=TIMEOUT)


def test_watch_killed():
    """A writer killed with SIGKILL writes no final snapshot: the view
    says the process has gone and ends, exit 0."""
    prog, pane, rcfile, deadline = watch_sleeper()
    try:
        prog.kill()
        eq(prog.wait(timeout=TIMEOUT), -9, "killed")
        eq(view_status(rcfile, deadline), "0\n",
           "exit status once the writer is gone")
        check("the process has gone without its final snapshot" in
              pane.screen(), "says so:\n" + pane.screen())
    finally:
        pane.close()
        prog.kill()
        prog.wait(timeout=TIMEOUT)


def test_launcher_watch():
    """leakspy --watch -- command: the same view of the command's dump
    while it runs (a snapshot a second unless -i is given), fetch_result
    growing; then the command's exit status and the dump named."""
    tmp = tmpdir()
    rcfile = os.path.join(tmp, "rc")
    pane = Pane(tmp, "cd %s && env -u LEAKSPY_INTERVAL %s --watch 0.1 -- "
                "%s 2>%s/err; echo $? > %s; sleep 30" %
                (tmp, LAUNCHER, DEMO, tmp, rcfile))
    try:
        grew, deadline = False, time.monotonic() + TIMEOUT
        while not os.path.exists(rcfile) and time.monotonic() < deadline:
            grew = grew or bool(GROWING.search(pane.screen()))
            time.sleep(0.05)
        time.sleep(0.1)
        final = pane.screen()
    finally:
        pane.close()
    with open(rcfile) as f:
        eq(f.read(), "0\n", "the demo's exit status through leakspy")
    check(grew, "fetch_result growing on the pane")
    check("the process has ended" in final, "says the end:\n" + final)
    with open(os.path.join(tmp, "err")) as f:
        err = f.read()
    dumps = [n for n in os.listdir(tmp) if n.endswith(".lsd")]
    eq(len(dumps), 1, "one dump")
    check("leakspy: dump: " + dumps[0] in err, "names the dump: " + err)
    rep = report(os.path.join(tmp, dumps[0]))
    check(rep["snapshots"] >= 3, "a snapshot a second: %d" %
          rep["snapshots"])


def test_launcher_watch_usage():
    """--watch with -q or --check, or a bad number, is a usage error."""
    for args, word in ((["--watch", "0.01"], "0.05 to 3600"),
                       (["--watch", "x"], "0.05 to 3600"),
                       (["--watch", "1", "-q"], "not with -q"),
                       (["--watch", "1", "--check"], "not with -q")):
        p = subprocess.run([LAUNCHER] + args + ["--", "true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        eq(p.returncode, 2, "exit status of leakspy %s" % " ".join(args))
        check(word in p.stderr.decode(), "%r says %r: %r" %
              (args, word, p.stderr))


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
