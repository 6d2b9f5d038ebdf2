# SPDX-License-Identifier: MIT
"""The readers of --check's CI formats that CI services use, for the
tests: Microsoft's SARIF validator (from npm; .ci/run installs it) and
Debian's python3-junitparser.  Either missing fails the test under
.ci/run (LS_CI=1), which installs them, and skips it elsewhere with a
message that says how to get it."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from lstest import Fail, Skip, eq


def missing(what):
    """A reader that is not installed: a failure in CI, else a skip."""
    if os.environ.get("LS_CI") == "1":
        raise Fail(what)
    raise Skip(what)

# Where .ci/run installs the validator (npm, outside the repository).
MULTITOOL_CACHE = os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
    "leakspy-ci", "sarif-multitool", "node_modules", ".bin",
    "sarif-multitool")


def multitool():
    """The SARIF validator: $SARIF_MULTITOOL, on PATH, or where .ci/run
    installs it.  Its absence fails the test: .ci/run installs it."""
    for t in (os.environ.get("SARIF_MULTITOOL"),
              shutil.which("sarif-multitool"), MULTITOOL_CACHE):
        if t and os.access(t, os.X_OK):
            return t
    missing("sarif-multitool not found (set SARIF_MULTITOOL, or run "
               ".ci/run, which installs it with npm into %s)" %
               os.path.dirname(os.path.dirname(os.path.dirname(
                   MULTITOOL_CACHE))))


def validate(data):
    """The validator's findings on a SARIF log: [(level, id, text)]."""
    tmp = tempfile.mkdtemp(prefix="lst.")
    log, res = os.path.join(tmp, "in.sarif"), os.path.join(tmp, "out.sarif")
    with open(log, "wb") as f:
        f.write(data)
    # The levels go through a shell in the npm wrapper: quoted twice.
    p = subprocess.run([multitool(), "validate", log, "-o", res, "--log",
                        "ForceOverwrite", "--level",
                        '"Error;Warning;Note"'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120)
    eq(p.returncode, 0, "sarif-multitool's exit status (%s)" %
       p.stdout.decode(errors="replace")[-2000:])
    with open(res) as f:
        v = json.load(f)
    shutil.rmtree(tmp)
    return [(r.get("level", "warning"), r["ruleId"],
             r["message"].get("arguments")) for r in v["runs"][0]["results"]]


def junitparser():
    try:
        import junitparser as jp
    except ImportError:
        # Debian's python3-junitparser, when python3 is not Debian's.
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import junitparser as jp
        except ImportError:
            missing("python3-junitparser is not installed (.ci/run "
                       "installs it)")
    return jp
