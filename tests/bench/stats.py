# SPDX-License-Identifier: MIT
"""Medians and their confidence intervals, for tests/bench/run and its
modules."""

import math
import statistics


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def median_ci(v):
    """The 95% confidence interval of v's median, from its order
    statistics: the number of values below the true median is
    binomial(n, 1/2), so [v(k), v(n+1-k)] holds it with probability
    1 - 2 P(B < k).  With fewer than 6 values no such k exists: the
    whole range is given."""
    v = sorted(x for x in v if x is not None)
    n = len(v)
    if n == 0:
        return None, None
    k, tail = 0, 0.0
    while True:
        nxt = tail + math.comb(n, k) / 2 ** n
        if 2 * nxt > 0.05:
            break
        tail, k = nxt, k + 1
    if k == 0:
        return v[0], v[-1]
    return v[k - 1], v[n - k]
