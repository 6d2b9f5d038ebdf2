#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: docs/screenshot.sh [BUILD]
#
# Regenerates docs/html-report.png, the picture of leakspy-report's HTML
# page: runs the demo service (BUILD/tools/leakspy-demo, BUILD being the
# build directory, ./build of the source tree by default) under
# BUILD/tools/leakspy, a snapshot every half second, writes the page of
# its dump with leakspy-report -f html, and takes a 1280x1800 screenshot
# of it as it opens in headless chromium, with the flags, proxy and
# network cut-off of the tests (tests/lib/chromium.py).  Fails, leaving
# the old picture, if the page logs to the console or tries to connect
# anywhere.  Needs python3 and chromium (Debian: apt-get install
# chromium).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$tmp"
"$build/tools/leakspy" -q -i 0.5 -o demo.lsd -- "$build/tools/leakspy-demo" \
	>/dev/null
"$build/tools/leakspy-report" -f html -o page.html demo.lsd
python3 - "$top" <<'EOF'
import os
import sys

top = sys.argv[1]
sys.path.insert(0, os.path.join(top, "tests", "lib"))
import chromium  # noqa: E402
import lstest  # noqa: E402

out = os.path.join(top, "docs", "html-report.png")
new = os.path.join(top, "docs", "html-report.new.png")
try:
    w, h, n, console, seen = chromium.screenshot("page.html", new, 1280,
                                                 1800)
except (lstest.Fail, lstest.Skip) as ex:
    sys.exit("screenshot.sh: %s" % ex)
if console or seen:
    os.unlink(new)
    sys.exit("screenshot.sh: the page logged %r and tried %r" %
             (console, seen))
os.replace(new, out)
print("%s: %dx%d, %d bytes" % (out, w, h, n))
EOF
