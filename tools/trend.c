/* SPDX-License-Identifier: MIT */
/*
 * Growth verdicts from a site's series of live bytes.  The verdicts are
 * defined in leakspy-report(1); this is how they are computed.
 *
 * The series is cut into at most NBUCKET buckets and each bucket keeps its
 * lowest point: the floor.  Short-lived blocks lift single snapshots, not
 * the floor; blocks that are kept raise it.  The floor's slope is the
 * Theil-Sen estimate (the median of the slopes between all pairs of
 * points, which a few outliers cannot move) and its steadiness is
 * Kendall's tau against time (1: every later point higher).
 */
#define _GNU_SOURCE
#include <err.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lsr.h"

#define NBUCKET		64
#define MIN_POINTS	4	/* fewer snapshots than this: unknown */
#define STEADY_TAU	0.6	/* floor steadiness for growth */
#define RECENT_SHARE	0.3	/* the last part of the window checked for */
#define RECENT_SLOPE	0.25	/* still growing: this share of the slope */
#define DROP_TO		0.6	/* a sawtooth drop: to this share of a peak */
#define TOOTH_MIN	0.25	/* ... of a peak at least this share of the
				 * highest */
#define RELEASE_TO	0.5	/* released: down to this share of the peak */
#define CHURN_TURNOVER	4.0	/* allocated in the window / peak live */
#define MIN_RISE_BYTES	256	/* growth smaller than this is noise */

const char *
lsr_verdict_name(unsigned v)
{
	static const char *const names[LSR_V_COUNT] = {
		[LSR_V_UNKNOWN] = "unknown",
		[LSR_V_GROWING] = "growing",
		[LSR_V_PLATEAU] = "plateau",
		[LSR_V_SAWTOOTH] = "sawtooth",
		[LSR_V_CHURN] = "churn",
		[LSR_V_STEADY] = "steady",
		[LSR_V_SHRINKING] = "shrinking",
	};

	return v < LSR_V_COUNT ? names[v] : "unknown";
}

/* The k-th smallest of v[0..n-1] (quickselect; v is reordered). */
static double
select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2], t;
		size_t i = lo, j = hi;

		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Floor points of p[a..b]: at most NBUCKET (t, lowest bytes) pairs. */
static size_t
floor_points(const struct lsr_point *p, size_t a, size_t b, double *t,
    double *y)
{
	size_t n = b - a + 1, m, j;

	/* Buckets of 3 points or more, when there are enough, so that each
	 * floor point can dodge a snapshot that caught blocks in flight. */
	m = n >= 12 ? n / 3 : n;
	if (m > NBUCKET)
		m = NBUCKET;

	for (j = 0; j < m; j++) {
		size_t lo = a + j * n / m, hi = a + (j + 1) * n / m, i, best;

		for (best = lo, i = lo + 1; i < hi; i++)
			if (p[i].bytes < p[best].bytes)
				best = i;
		t[j] = p[best].t;
		y[j] = (double)p[best].bytes;
	}
	return m;
}

/* Theil-Sen slope and Kendall's tau of m points. */
static void
fit(const double *t, const double *y, size_t m, double *slope, double *tau)
{
	double slopes[NBUCKET * (NBUCKET - 1) / 2];
	size_t i, j, ns = 0;
	long conc = 0, disc = 0;

	for (i = 0; i < m; i++) {
		for (j = i + 1; j < m; j++) {
			if (y[j] > y[i])
				conc++;
			else if (y[j] < y[i])
				disc++;
			if (t[j] > t[i])
				slopes[ns++] = (y[j] - y[i]) / (t[j] - t[i]);
		}
	}
	*tau = m > 1 ? (double)(conc - disc) / (double)(m * (m - 1) / 2) : 0;
	if (ns == 0) {
		*slope = 0;
		return;
	}
	if (ns % 2) {
		*slope = select_kth(slopes, ns, ns / 2);
	} else {
		double hi = select_kth(slopes, ns, ns / 2);
		double lo = select_kth(slopes, ns / 2, ns / 2 - 1);

		/* After selecting ns/2, the lower half holds the rest. */
		*slope = (lo + hi) / 2;
	}
}

/* The median of v[0..n-1] (n small; v is reordered). */
static double
median(double *v, size_t n)
{
	return n == 0 ? 0 : select_kth(v, n, n / 2);
}

/* How far the floor of p[a..b] rose from its first third to its last. */
static double
floor_rise(const struct lsr_point *p, size_t a, size_t b)
{
	double t[NBUCKET], y[NBUCKET];
	size_t m = floor_points(p, a, b, t, y), k = m / 3 ? m / 3 : 1;
	double first[NBUCKET], last[NBUCKET];

	memcpy(first, y, k * sizeof(*y));
	memcpy(last, y + m - k, k * sizeof(*y));
	return median(last, k) - median(first, k);
}

/* Slope and steadiness of the floor of p[a..b]. */
static void
floor_fit(const struct lsr_point *p, size_t a, size_t b, double *slope,
    double *tau, double *rise)
{
	double t[NBUCKET], y[NBUCKET];
	size_t m = floor_points(p, a, b, t, y);

	fit(t, y, m, slope, tau);
	*rise = *slope * (p[b].t - p[a].t);
}

/* Growth of p[a..b] that is real, steady and still going at b. */
static bool
is_growing(const struct lsr_point *p, size_t a, size_t b, uint64_t peak,
    double *slope, double *tau)
{
	double rise, rs, rt, rr;
	size_t r;

	if (b - a + 1 < MIN_POINTS)
		return false;
	floor_fit(p, a, b, slope, tau, &rise);
	if (*tau < STEADY_TAU || rise < MIN_RISE_BYTES ||
	    rise < 0.2 * (double)peak)
		return false;
	/* The last part of the window must still rise: otherwise the site
	 * grew and stopped (a plateau). */
	for (r = b; r > a && p[b].t - p[r - 1].t <=
	    RECENT_SHARE * (p[b].t - p[a].t); r--)
		;
	if (b - r + 1 < MIN_POINTS)
		return true;
	floor_fit(p, r, b, &rs, &rt, &rr);
	return rs >= RECENT_SLOPE * *slope && rr >= MIN_RISE_BYTES / 4;
}

/*
 * Count the teeth of a sawtooth: drops to DROP_TO of a local peak of at
 * least TOOTH_MIN * peak, after at least two rising steps.  Between drops
 * a sawtooth builds up: its other steps must rise at least four times as
 * often as they fall, which noise and steady decline do not.  Returns 0 when
 * that does not hold.
 */
static unsigned
count_drops(const struct lsr_point *p, size_t a, size_t b, uint64_t peak)
{
	unsigned drops = 0, rises = 0, falls = 0, built = 0;
	uint64_t top = p[a].bytes;
	size_t i;

	for (i = a + 1; i <= b; i++) {
		if (p[i].bytes > p[i - 1].bytes) {
			rises++;
			built++;
		}
		if (p[i].bytes > top) {
			top = p[i].bytes;
		} else if ((double)top >= TOOTH_MIN * (double)peak &&
		    (double)p[i].bytes <= DROP_TO * (double)top) {
			/* A tooth is built over two rising steps at least. */
			if (built >= 2)
				drops++;
			top = p[i].bytes;
			built = 0;
		} else if (p[i].bytes < p[i - 1].bytes) {
			falls++;
		}
	}
	return rises >= 4 * falls ? drops : 0;
}

/* Where the window of p[0..b] starts: at the last snapshot before the
 * site first had live blocks. */
static size_t
window_start(const struct lsr_point *p, size_t b)
{
	size_t a = 0;

	while (a < b && p[a].bytes == 0 && p[a].blocks == 0 &&
	    p[a + 1].bytes == 0 && p[a + 1].blocks == 0)
		a++;
	return a;
}

/* The peak of p[a..b] (the first of equal ones) into g. */
static void
find_peak(const struct lsr_point *p, size_t a, size_t b,
    struct lsr_growth *g)
{
	size_t i, peak_i;

	for (peak_i = a, i = a + 1; i <= b; i++)
		if (p[i].bytes > p[peak_i].bytes)
			peak_i = i;
	g->peak_bytes = p[peak_i].bytes;
	g->peak_blocks = p[peak_i].blocks;
	g->peak_time = p[peak_i].t;
}

/*
 * Released at the end (seed case 2: the source is disposed of): the
 * release is where the series falls to half of its peak or less and stays
 * low (under 60%) to the end; a snapshot may catch it half done.  Judge
 * the growth before it: true, with g filled, if it was growing.
 */
static bool
grew_then_released(const struct lsr_point *p, size_t a, size_t b,
    struct lsr_growth *g)
{
	double peak = (double)g->peak_bytes, slope, tau;
	size_t r = b;

	if ((double)p[b].bytes > RELEASE_TO * peak)
		return false;
	while (r > a + 1 && (double)p[r - 1].bytes <= (RELEASE_TO + 0.1) * peak)
		r--;
	while (r < b && (double)p[r].bytes > RELEASE_TO * peak)
		r++;
	if (r <= a + 1 || p[r - 1].t - p[a].t < 0.5 * (p[b].t - p[a].t) ||
	    !is_growing(p, a, r - 1, g->peak_bytes, &slope, &tau))
		return false;
	g->verdict = LSR_V_GROWING;
	g->bytes_per_second = slope;
	g->steadiness = tau;
	g->released_at = p[r].t;
	return true;
}

/* The verdict on p[a..b] when it is not growing. */
static void
judge_other(const struct lsr_point *p, size_t a, size_t b,
    struct lsr_growth *g)
{
	double slope, tau, rise;
	uint64_t alloc = p[b].alloc_bytes - p[a].alloc_bytes;

	floor_fit(p, a, b, &slope, &tau, &rise);
	g->bytes_per_second = slope;
	g->steadiness = tau > 0 ? tau : 0;
	g->drops = count_drops(p, a, b, g->peak_bytes);
	if (g->drops >= 2)
		g->verdict = LSR_V_SAWTOOTH;
	else if (tau <= -STEADY_TAU && -rise >= 0.2 * (double)g->peak_bytes)
		g->verdict = LSR_V_SHRINKING;
	else if ((rise = floor_rise(p, a, b)) >= 0.2 * (double)g->peak_bytes &&
	    rise >= MIN_RISE_BYTES)
		g->verdict = LSR_V_PLATEAU;
	else if ((double)alloc >= CHURN_TURNOVER * (double)(g->peak_bytes ?
	    g->peak_bytes : 1))
		g->verdict = LSR_V_CHURN;
	else
		g->verdict = LSR_V_STEADY;
}

void
lsr_trend(const struct lsr_point *p, size_t n, struct lsr_growth *g)
{
	size_t a, b = n - 1;
	double slope, tau;

	memset(g, 0, sizeof(*g));
	g->verdict = LSR_V_UNKNOWN;
	g->released_at = -1;
	if (n == 0)
		return;
	a = window_start(p, b);
	find_peak(p, a, b, g);
	g->since = p[a].t;
	if (b - a + 1 < MIN_POINTS || grew_then_released(p, a, b, g))
		return;
	if (is_growing(p, a, b, g->peak_bytes, &slope, &tau)) {
		g->verdict = LSR_V_GROWING;
		g->bytes_per_second = slope;
		g->steadiness = tau;
		return;
	}
	judge_other(p, a, b, g);
}
