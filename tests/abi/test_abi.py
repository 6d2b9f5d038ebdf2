#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""libleakspy.so exports exactly the names in libleakspy.map, imports no
__tls_get_addr (its TLS is initial-exec) and no exit()."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lstest import *  # noqa: E402,F401,F403


def nm(*args):
    return subprocess.run(["nm", "-D"] + list(args) + [LIB],
                          stdout=subprocess.PIPE, check=True).stdout.decode()


def test_exports():
    with open(os.path.join(SRC, "preload", "libleakspy.map")) as f:
        text = f.read()
    glob = text.split("global:")[1].split("local:")[0]
    want = sorted(re.findall(r"(\w+);", glob))
    got = sorted(line.split()[-1].split("@")[0]
                 for line in nm("--defined-only").splitlines())
    eq(got, want, "exported symbols")


def test_imports():
    undef = [line.split()[-1].split("@")[0]
             for line in nm("--undefined-only").splitlines()]
    for bad in ("__tls_get_addr", "exit", "malloc", "free", "calloc",
                "realloc"):
        check(bad not in undef, "libleakspy.so imports %s" % bad)


TESTS = {name[5:]: fn for name, fn in list(globals().items())
         if name.startswith("test_")}

if __name__ == "__main__":
    sys.exit(main(TESTS))
