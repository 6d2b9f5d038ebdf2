#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages: clean under mandoc -Tlint, every EXAMPLES command runs,
and options and environment variables match the programs.  Usage:
test_man.py TEST"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403

MAN = os.path.join(SRC, "man")
PAGES = sorted(glob.glob(os.path.join(MAN, "*.[1-9]")))


def test_lint():
    if not shutil.which("mandoc"):
        raise Skip("mandoc is not installed")
    eq(len(PAGES), 4, "four man pages")
    for page in PAGES:
        p = subprocess.run(["mandoc", "-Tlint", "-W", "warning", page],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        eq((p.returncode, p.stdout.decode()), (0, ""), "mandoc -Tlint %s" %
           os.path.basename(page))


def test_examples():
    tmp = tempfile.mkdtemp(prefix="lst.")
    shutil.copy(victim("sleeper"), os.path.join(tmp, "myservice"))
    os.symlink(LIB, os.path.join(tmp, "libleakspy.so"))
    env = dict(os.environ, PATH=os.path.join(BUILD, "tools") + ":" +
               os.environ["PATH"])
    env.pop("LD_PRELOAD", None)
    ran = 0
    for page in ["leakspy.1", "leakspy-report.1", "leakspy.7"]:
        with open(os.path.join(MAN, page)) as f:
            for line in f:
                if not line.startswith(".Dl $ "):
                    continue
                cmd = line[6:].strip().replace("\\-", "-")
                cmd = cmd.replace("/tmp/", tmp + "/")
                p = subprocess.run(["/bin/sh", "-c", cmd], cwd=tmp, env=env,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=TIMEOUT)
                eq(p.returncode, 0, "%s example %r (stderr: %s)" %
                   (page, cmd, p.stderr.decode()))
                ran += 1
    check(ran >= 6, "examples found: %d" % ran)


def help_text(prog):
    """What prog --help prints (it exits 0)."""
    p = subprocess.run([prog, "--help"], stdout=subprocess.PIPE,
                       timeout=TIMEOUT)
    eq(p.returncode, 0, "%s --help: exit status" % os.path.basename(prog))
    return p.stdout.decode()


def help_options(out):
    return set(re.findall(r"^\s+-(\w), --([\w-]+)", out, re.M))


def help_longs(out):
    """Every long option in --help, with a short one or without."""
    return set(re.findall(r"^\s+(?:-\w, )?--([\w-]+)", out, re.M))


def man_options(page):
    with open(os.path.join(MAN, page)) as f:
        text = f.read()
    short = set(re.findall(r"^\.It Fl (\w)\b", text, re.M))
    longs = set(re.findall(r"Fl \\-([\w-]+)", text))
    return short, longs


def test_options():
    for prog, page in ((LAUNCHER, "leakspy.1"), (REPORT, "leakspy-report.1")):
        out = help_text(prog)
        opts = help_options(out)
        short, longs = man_options(page)
        eq(sorted(short), sorted(s for s, _ in opts),
           "short options of %s in %s" % (os.path.basename(prog), page))
        eq(sorted(longs), sorted(help_longs(out)),
           "long options of %s in %s" % (os.path.basename(prog), page))
        usage = out.split("\n\n")[0]
        in_usage = set(re.findall(r"-(\w) \w", usage))
        for group in re.findall(r"\[-(\w+)\]", usage):
            in_usage |= set(group)
        eq(sorted(in_usage), sorted(s for s, _ in opts),
           "options in the usage line of %s" % os.path.basename(prog))


def rendered_items(page, section):
    """The items of a section of page as mandoc renders it: {head: body},
    whitespace made single spaces; None without mandoc."""
    if not shutil.which("mandoc"):
        return None
    out = subprocess.run(["mandoc", "-Tascii", os.path.join(MAN, page)],
                         stdout=subprocess.PIPE, timeout=TIMEOUT)
    text = re.sub(".\b", "", out.stdout.decode())
    text = text.split("\n" + section + "\n")[1]
    text = re.split(r"\n[A-Z][A-Z ]+\n", text)[0]
    items, head = {}, None
    for line in text.splitlines():
        m = re.match(r"^     (\S.*)$", line)
        if m:
            head = m.group(1)
            items[head] = ""
        elif head is not None:
            items[head] += " " + line
    return {k: " ".join(v.split()) for k, v in items.items()}


def test_environment():
    # The settings are those of the table in src/settings.c; the shim
    # reads none but through it.
    with open(os.path.join(SRC, "src", "settings.c")) as f:
        table = set(re.findall(r'\.name = "(LEAKSPY_\w+)"', f.read()))
    check(len(table) >= 7, "settings in the table: %r" % table)
    for path in glob.glob(os.path.join(SRC, "preload", "*.c")):
        with open(path) as f:
            eq(re.findall(r'\benv\("(LEAKSPY_\w+)"\)', f.read()), [],
               "variables %s reads past the table" % path)
    with open(os.path.join(MAN, "leakspy.7")) as f:
        text = f.read()
    env = text.split(".Sh ENVIRONMENT")[1].split(".Sh ")[0]
    documented = set(re.findall(r"^\.It Ev (LEAKSPY_\w+)", env, re.M))
    eq(sorted(documented), sorted(table), "LEAKSPY_* variables")
    # --help names each one with its option, range and default, from
    # the same table; both man pages give the same range and default.
    out = subprocess.run([LAUNCHER, "--help"], stdout=subprocess.PIPE,
                         timeout=TIMEOUT).stdout.decode()
    flat = " ".join(out.split())
    eq(sorted(set(re.findall(r"\((LEAKSPY_\w+)[;=]", flat))), sorted(table),
       "variables the launcher's options set")
    man7 = rendered_items("leakspy.7", "ENVIRONMENT")
    man1 = rendered_items("leakspy.1", "DESCRIPTION")
    if man7 is None:
        return
    for opt, name, more in re.findall(
            r"-(\w), --[\w-]+ [A-Z]+ .*?\((LEAKSPY_\w+); ([^)]*)\)", flat):
        *ranges, default = more.split("; ")
        check(default.startswith("default "), "%s: %r" % (name, more))
        default = default[len("default "):]
        body7 = man7.get(name, "")
        for r in ranges:
            check(r in body7, "leakspy(7) %s: %r in %r" % (name, r, body7))
        check(("default: " + default).lower() in body7.lower(),
              "leakspy(7) %s: default %r in %r" % (name, default, body7))
        body1 = [v for k, v in man1.items() if k.startswith("-%s " % opt)]
        eq(len(body1), 1, "leakspy(1) -%s" % opt)
        for r in ranges:
            check(r in body1[0], "leakspy(1) -%s: %r in %r" % (opt, r,
                                                              body1[0]))
        check("default " + default in body1[0],
              "leakspy(1) -%s: default %r in %r" % (opt, default, body1[0]))


def test_diagnostics():
    # Every message the shim writes is listed in leakspy(7).
    msgs = set()
    for path in glob.glob(os.path.join(SRC, "preload", "*.c")):
        with open(path) as f:
            for m in re.finditer(r'lsp_warn\("([^"]*)"(?:\s*"([^"]*)")?',
                                 f.read()):
                msgs.add(m.group(1) + (m.group(2) or ""))
    with open(os.path.join(MAN, "leakspy.7")) as f:
        text = f.read().replace("\\(aq", "'")
    diag = text.split(".Sh DIAGNOSTICS")[1].split(".Sh ")[0]
    for m in msgs:
        check(m.split(" (")[0] in diag, "message %r in leakspy(7)" % m)


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
