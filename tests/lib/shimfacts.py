# SPDX-License-Identifier: MIT
"""What the shim tests (tests/shim/test_shim.py, test_confine.py,
test_process.py) share: the victims' known leaks and the helpers that
read a dump's snapshots."""

from lstest import report, one_dump, eq, check  # noqa: F401


def snapshot_reasons(dump):
    """Why each snapshot of dump was taken, in order."""
    return [report(dump, "--snapshot", str(i))["snapshot"]["reason"]
            for i in range(report(dump)["snapshots"])]


def check_cut_short(r):
    """The dump's later writes failed: the program ran as without
    leakspy, was told, and the dump reads without damage, unfinished."""
    eq((r.rc, r.out), (0, b"ok\n"), "exit status and output")
    check(b"cannot write a snapshot to the dump" in r.err, "says so: %r" %
          r.err)
    rep = report(one_dump(r), want_rc=3)
    eq((rep["complete"], rep["error"]["offset"]), (False, None),
       "no final snapshot, no damage")


# What leaky.c leaks, by function: (bytes, blocks, via).
LEAKY = {
    "leak_malloc": (3000, 3, "malloc"),
    "leak_calloc": (2000, 2, "calloc"),
    "leak_realloc": (31250, 1, "realloc"),
    "leak_reallocarray": (300, 1, "reallocarray"),
    "leak_posix_memalign": (4096, 1, "posix_memalign"),
    "leak_aligned_alloc": (2048, 1, "aligned_alloc"),
    "leak_memalign": (3000, 1, "memalign"),
    "leak_valloc": (5000, 1, "valloc"),
    "leak_pvalloc": (6000, 1, "pvalloc"),
    "leak_strdup": (48, 4, "strdup"),
    "leak_asprintf": (13, 1, "asprintf"),
}



# Full mode, and sampled mode with its fast paths taken on most calls.
MODES = ({}, {"LEAKSPY_SAMPLE": "4k"})
