#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Make a stored dump for the golden tests from a real one: module paths
become /nonexistent/NAME and build ids zeros, so that the report shows
module+offset frames on any machine (with or without debug packages).
Usage: make-fixture.py IN.lsd OUT.lsd"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import lsdump  # noqa: E402


def fix(p):
    m = lsdump.parse_module(p)
    m["path"] = b"/nonexistent/" + os.path.basename(m["path"])
    m["build_id"] = "00" * (len(m["build_id"]) // 2)
    return lsdump.module_record(m)


with open(sys.argv[1], "rb") as f:
    data = f.read()
with open(sys.argv[2], "wb") as f:
    f.write(lsdump.edit(data, "MODULE", fix))
