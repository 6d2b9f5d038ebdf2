#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""leakspy-report on dumps edited record by record: fields out of range,
unknown values, overflows, UTF-8, big files, names, signals, incomplete
dumps and modules that are not files.  Usage: test_report_records.py
TEST"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from lstest import *  # noqa: E402,F401,F403
import lsdump  # noqa: E402
from lsdump import with_module, with_process, with_thread  # noqa: E402
from reportlib import *  # noqa: E402,F401,F403


M64 = 2**64 - 1


def process_counts(leaky):
    """leaky with PROCESS argc, then its address count, as 2^64 - 1 (the
    fields after them as they were)."""
    p = next(p for o, t, p in lsdump.records(leaky) if t == 1)
    pr = lsdump.parse_process(p)
    head = lsdump.uv(pr["pid"]) + lsdump.uv(pr["ppid"]) + \
        lsdump.uv(pr["start_ns"]) + lsdump.string(pr["exe"])
    argc = head + lsdump.uv(M64) + p[len(head) + 1:]
    # Up to the address count: a PROCESS record without the addresses.
    upto = lsdump.process_record(dict(pr, alloc_addrs=[]))
    upto = upto[:upto.rindex(lsdump.uv(0) + lsdump.uv(pr["max_depth"]))]
    addrs = upto + lsdump.uv(M64) + p[len(upto) + 1:]
    return [lsdump.rewrite(leaky, lambda t, q, new=new: new if t == 1 else q)
            for new in (argc, addrs)]


def test_range_checks():
    # Right checksums, wrong fields: each is refused with the offset of
    # its record, and what came before is still reported.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    threads = load(os.path.join(FUZZ, "corpus", "threadlife-0"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    argc, addrs = process_counts(leaky)
    gone = lsdump.record(lsdump.T["MODULE_GONE"], lsdump.from_uvs([99, 1]))

    def lost(last, errno):
        return lsdump.record(lsdump.T["LOST"], lsdump.lost_record(1, last,
                                                                  errno))

    def nseg(t, p):
        if t != lsdump.T["MODULE"]:
            return p
        m = lsdump.parse_module(p)
        return lsdump.module_record(dict(m, segs=[]))[:-1] + \
            lsdump.uv(2**63) + b"\0" * 8
    cases = [
        ("argc", argc, 15, "argument count out of range"),
        ("addr count", addrs, 15, "address count out of range"),
        ("inherited", with_process(leaky, inherited_epoch=0x10000), 15,
         "bad inherited epoch"),
        ("module gen", with_module(leaky, gen=2**32),
         offset_of(leaky, "MODULE"), "module generation out of range"),
        ("build id", with_module(leaky, build_id="ab" * 65),
         offset_of(leaky, "MODULE"), "build id too long"),
        ("segments", lsdump.rewrite(leaky, nseg),
         offset_of(leaky, "MODULE"), "segment count out of range"),
        ("gone", insert_after(leaky, "MODULE", gone),
         offset_of(leaky, "MODULE", 0, after=True),
         "MODULE_GONE for an unknown module"),
        ("stack count", rewrite_uvs(leaky, "STACKS", setv(0, M64)),
         offset_of(leaky, "STACKS"), "stack count out of range"),
        ("stack id", rewrite_uvs(leaky, "STACKS", setv(1, 2**32)),
         offset_of(leaky, "STACKS"), "stack ids out of order"),
        ("stack gen", rewrite_uvs(leaky, "STACKS", setv(2, 2**32)),
         offset_of(leaky, "STACKS"), "stack generation out of range"),
        ("frames", rewrite_uvs(leaky, "STACKS", setv(5, 5000)),
         offset_of(leaky, "STACKS"), "frame count out of range"),
        ("snap index", rewrite_uvs(seed1, "SNAPSHOT", setv(0, 2**32 + 1),
                                   1),
         offset_of(seed1, "SNAPSHOT", 1), "snapshot numbers out of order"),
        ("snap time", rewrite_uvs(seed1, "SNAPSHOT", setv(1, 0), 1),
         offset_of(seed1, "SNAPSHOT", 1), "snapshot times out of order"),
        ("snap epoch", rewrite_uvs(seed1, "SNAPSHOT",
                                   lambda v: v[:-2] + [0x10000, 1], 2),
         offset_of(seed1, "SNAPSHOT", 2), "snapshot epoch out of range"),
        ("ages flag", rewrite_uvs(seed1, "SNAPSHOT",
                                  lambda v: v[:-1] + [2]),
         offset_of(seed1, "SNAPSHOT"),
         "bad ages_complete flag (not 0 or 1)"),
        ("site stack", rewrite_uvs(leaky, "SITES", setv(2, 2**32)),
         offset_of(leaky, "SITES"), "site of an unknown stack"),
        ("age delta", rewrite_uvs(seed1, "AGES", setv(5, M64), 1),
         offset_of(seed1, "AGES", 1), "age epochs out of order"),
        ("final signo 0", rewrite_uvs(leaky, "FINAL", lambda v: [3, 0]),
         offset_of(leaky, "FINAL"), "FINAL: bad signal number"),
        ("final signo 65", rewrite_uvs(leaky, "FINAL", lambda v: [3, 65]),
         offset_of(leaky, "FINAL"), "FINAL: bad signal number"),
        ("final no signo", rewrite_uvs(leaky, "FINAL", lambda v: [3]),
         offset_of(leaky, "FINAL"), "FINAL record cut short"),
        ("thread gen", with_thread(threads, gen=2**32),
         offset_of(threads, "THREADS"), "thread generation out of range"),
        ("thread exited", with_thread(threads, exited=2),
         offset_of(threads, "THREADS"),
         "bad thread exited flag (not 0 or 1)"),
        ("lost inside", insert_after(leaky, "SITES", lost(0, 28)),
         offset_of(leaky, "SITES", 0, after=True), "LOST inside a snapshot"),
        ("lost last", insert_after(leaky, "SNAPSHOT_END", lost(2, 28)),
         offset_of(leaky, "FINAL"), "LOST: bad last flag (not 0 or 1)"),
        ("lost errno", insert_after(leaky, "SNAPSHOT_END", lost(0, 5000)),
         offset_of(leaky, "FINAL"), "LOST: errno out of range"),
    ]
    for name, data, off, why in cases:
        path = write(tmp, name.replace(" ", "-") + ".lsd", data)
        rc, rep, err, text = san(path, want_rc=3)
        check_error(rep, err, path, "offset %d: %s" % (off, why))
        check("dump damaged" in text, "%s: text says so" % name)


def test_unknown_values():
    # Enum values this reader does not know are shown as "unknown".
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    threads = load(os.path.join(FUZZ, "corpus", "threadlife-0"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    data = rewrite_uvs(rewrite_uvs(leaky, "SNAPSHOT", setv(3, 77)),
                       "FINAL", lambda v: [9, 1, 2])
    data = rewrite_uvs(data, "STACKS", setv(3, 99))
    rc, rep, err, text = san(write(tmp, "enums.lsd", data), "-n", "0",
                             want_rc=0)
    eq(rep["snapshot"]["reason"], "unknown", "snapshot reason")
    eq(rep["final"], {"how": "unknown", "signal": None, "signo": None},
       "FINAL how 9")
    check("snapshot:  #0 of 1 (unknown, at" in text, "text: %s" % text)
    check("ended:     final snapshot, then ended in a way this reader does "
          "not know" in text, "text: %s" % text)
    check("unknown" in [s["via"] for s in rep["sites"]], "api 99: %r" %
          [s["via"] for s in rep["sites"]])
    rc, rep, err, text = san(write(tmp, "state.lsd", with_thread(
        threads, state=7)), want_rc=0)
    check("unknown" in [t["state"] for t in rep["threads"]],
          "thread state 7: %r" % rep["threads"])


def test_diff_overflow():
    # Live bytes that differ by more than 2^63 between the snapshots of a
    # diff: the change wraps, it is not undefined (UBSan).
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    data = rewrite_uvs(seed1, "SITES", lambda v: v[:3] + [2**63 + 5] +
                       v[4:], 0)
    rc, rep, err, text = san(write(tmp, "big.lsd", data), "-d", "0..3",
                             want_rc=0)
    check(any(s["diff"]["live_bytes_change"] != 0 for s in rep["sites"]),
          "changes")


def test_utf8_json():
    # Bytes that are not UTF-8 become U+FFFD, one each; control characters
    # are escaped; the JSON loads from its raw bytes.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    argv = [b"ok \xc3\xa9", b"\xff\xfe", b"a\xc0\xafb", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"cut \xe2\x82", b"\x01\x1b[31m\x7f",
            "\u20ac \U0001f600".encode()]
    data = with_process(leaky, argv=argv, exe=b"/x/\xfe/prog",
                        name=b"prog\xff", note=b"n\xffote")
    data = with_module(data, path=b"/lib/\xff\xfe.so")
    data = insert_after(data, "SNAPSHOT_END", lsdump.record(
        lsdump.T["NOTE"], lsdump.string(b"note \x80\x00 end")))
    rc, rep, err, text = san(write(tmp, "utf8.lsd", data), want_rc=0)
    r = "\ufffd"
    eq(rep["process"]["argv"], [
        "ok \u00e9", r + r, "a" + r + r + "b", r * 3, r * 4, "cut " + r + r,
        "\x01\x1b[31m\x7f", "\u20ac \U0001f600"], "argv")
    eq(rep["process"]["exe"], "/x/" + r + "/prog", "exe")
    eq(rep["process"]["name"], "prog" + r, "name")
    eq(rep["notes"], ["note " + r], "notes (cut at the NUL)")
    p = subprocess.run([REPORT_SAN, "-f", "json", os.path.join(tmp,
                        "utf8.lsd")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    eq(p.returncode, 0, "exit status")
    check(b"\\u0001\\u001b[31m\\u007f" in p.stdout, "control characters "
          "escaped")
    p.stdout.decode("utf-8")    # strict: raises if not UTF-8
    paths = {f["module"] for s in rep["sites"] for f in s["frames"]}
    check("/lib/" + r + r + ".so" in paths, "module path: %r" % paths)
    # The text report shows control characters as \xNN.
    check("\\x01\\x1b[31m\\x7f" in text and "\x1b" not in text,
          "text escapes: %r" % text[:400])


def test_big_file():
    # A file that is no dump is refused after its first few KiB: a 1 GiB
    # sparse file, of zeros or of text, fast and in little memory.
    tmp = tempfile.mkdtemp(prefix="lst.")
    for name, head in (("zeros.lsd", b""), ("text.lsd", b"hello\n")):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(head)
            f.truncate(1 << 30)
        p = subprocess.Popen([REPORT, "-f", "json", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=TIMEOUT)
        eq(p.returncode, 3, "exit status for %s" % name)
        check(b"offset 0: not a leakspy dump (bad first line)" in err,
              "message: %r" % err)
        eq(json.loads(out)["error"]["offset"], 0, "offset in the JSON")
    # Peak memory, measured on a child of our own: getrusage(CHILDREN)
    # of a fresh interpreter that runs only the report.
    code = ("import resource, subprocess, sys\n"
            "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL)\n"
            "print(p.returncode, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    for name in ("zeros.lsd", "text.lsd"):
        p = subprocess.run([sys.executable, "-c", code, REPORT,
                            os.path.join(tmp, name)], stdout=subprocess.PIPE,
                           timeout=TIMEOUT)
        eq(p.returncode, 0, "the measuring interpreter's exit status")
        rc, kib = map(int, p.stdout.split())
        eq(rc, 3, "exit status for %s, measured" % name)
        check(kib < 64 * 1024, "peak RSS for a 1 GiB %s: %d KiB" % (name,
                                                                   kib))


def test_process_name():
    # The name a program was run as, shown with its executable when they
    # differ; a dump without it takes the executable's base name.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    data = with_process(leaky, exe=b"/usr/bin/redis-check-rdb",
                        name=b"redis-server")
    rc, rep, err, text = san(write(tmp, "name.lsd", data), want_rc=0)
    eq((rep["process"]["name"], rep["process"]["exe"]),
       ("redis-server", "/usr/bin/redis-check-rdb"), "name and exe")
    check("program:   redis-server (/usr/bin/redis-check-rdb, pid 8275, "
          "parent 8270)\n" in text, "text: %s" % text[:300])
    data = with_process(leaky, exe=b"/usr/bin/redis-server",
                        name=b"redis-server")
    rc, rep, err, text = san(write(tmp, "same.lsd", data), want_rc=0)
    check("program:   /usr/bin/redis-server (pid 8275, parent 8270)\n" in
          text, "the same name once: %s" % text[:300])
    rc, rep, err, text = san(os.path.join(DATA, "leaky.lsd"), want_rc=0)
    eq(rep["process"]["name"], "leaky_nofp", "an older dump: exe's base")


def test_final_signal():
    # FINAL how 3: the final snapshot was taken, then the signal ended
    # the process.  The dump is complete.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    for signo, name in ((15, "SIGTERM"), (9, "SIGKILL"), (2, "SIGINT"),
                        (35, "SIGRTMIN+1"), (64, "SIGRTMAX"),
                        (32, "signal 32")):
        data = rewrite_uvs(leaky, "FINAL", lambda v: [3, signo])
        rc, rep, err, text = san(write(tmp, "sig.lsd", data), want_rc=0)
        eq((rep["complete"], rep["error"], rep["final"]),
           (True, None, {"how": "signal", "signal": name, "signo": signo}),
           "JSON for signal %d" % signo)
        check("ended:     final snapshot, then ended by %s\n" % name in text,
              "text for signal %d: %s" % (signo, text[:400]))
    rc, rep, err, text = san(os.path.join(DATA, "leaky.lsd"), want_rc=0)
    eq(rep["final"], {"how": "exit", "signal": None, "signo": None},
       "FINAL at exit")
    check("ended:" not in text, "no ended line at exit")


def test_incomplete_why():
    seed1 = load(os.path.join(DATA, "seed1.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    cut = without_final(seed1)
    # The last write-out failed, and said so in a LOST record.
    rep = incomplete(tmp, "lost-last.lsd", cut + lost(0, 1, 24),
                     "no final snapshot: the process ended, but its last "
                     "snapshot could not be written (too many open files); "
                     "leakspy's message about it is on the program's "
                     "standard error")
    eq(rep["lost"], [{"offset": len(cut), "reason": "exit", "last": True,
                      "errno": 24, "error": "too many open files"}], "lost")
    incomplete(tmp, "lost-mid-last.lsd", cut + lost(1, 0, 28) +
               lost(3, 1, 28), "no final snapshot: the process ended, but "
               "its last snapshot could not be written (no space left on "
               "device); leakspy's message about it is on the program's "
               "standard error")
    # Write-outs failed before, none recorded as lost.
    incomplete(tmp, "errors.lsd", set_counter(cut, 6, 3),
               "no final snapshot: 3 write-outs failed, so the last may "
               "have failed too (leakspy said why on the program's "
               "standard error), or the process is still running or was "
               "killed")
    incomplete(tmp, "error.lsd", set_counter(cut, 6, 1),
               "no final snapshot: 1 write-out failed, so the last may "
               "have failed too (leakspy said why on the program's "
               "standard error), or the process is still running or was "
               "killed")
    # A lost write-out that was not the last: no cause known.
    generic = ("no final snapshot: the process is still running, was "
               "killed, or could not write it")
    incomplete(tmp, "lost-mid.lsd", set_counter(cut, 6, 1) +
               lost(1, 0, 28), generic)
    incomplete(tmp, "plain.lsd", cut, generic)
    # The sandbox, as before.
    incomplete(tmp, "sandbox.lsd", rewrite_uvs(cut, "SNAPSHOT",
                                               setv(3, 5), 15),
               "no snapshot after the process entered a seccomp sandbox "
               "(leakspy writes nothing once a filter is on)")
    # A write-out lost, then the final one written: complete.
    data = insert_after(seed1, "SNAPSHOT_END", lost(1, 0, 28), 2)
    rc, rep, err, text = san(write(tmp, "lost-ok.lsd", data), want_rc=0)
    eq((rep["complete"], [l["errno"] for l in rep["lost"]]), (True, [28]),
       "a lost write-out in a complete dump")


def test_module_not_a_file():
    # A module path that names a FIFO or a device does not stall the
    # report: its frames are module+offset, as for a missing file.
    leaky = load(os.path.join(DATA, "leaky.lsd"))
    tmp = tempfile.mkdtemp(prefix="lst.")
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    for path in (fifo.encode(), b"/dev/zero", b"/dev/tty"):
        data = with_module(leaky, path=path)
        rc, rep, err, text = san(write(tmp, "m.lsd", data), want_rc=0)
        check("%s: not found" % path.decode() in err, "warning: %r" % err)


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
