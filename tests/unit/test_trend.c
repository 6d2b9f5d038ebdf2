/* SPDX-License-Identifier: MIT */
/*
 * Growth verdicts on synthetic series: each shape, with noise, uneven
 * snapshot times, and a release caught half done.
 */
#include <math.h>
#include <stdlib.h>

#include "lsr.h"
#include "lst.h"

int lst_failures;

#define N 60

static struct lsr_point p[N];
static unsigned rng = 12345;

/* Uniform in [0, 1). */
static double
noise(void)
{
	rng = rng * 1103515245u + 12345u;
	return (double)(rng >> 8) / 16777216.0;
}

static void
times(double jitter)
{
	double t = 0;
	size_t i;

	for (i = 0; i < N; i++) {
		t += 1.0 + jitter * (noise() - 0.5);
		p[i].t = t;
	}
}

static unsigned
judge(struct lsr_growth *g)
{
	lsr_trend(p, N, g);
	return g->verdict;
}

static void
set(size_t i, double bytes, double alloc)
{
	p[i].bytes = (uint64_t)(bytes < 0 ? 0 : bytes);
	p[i].blocks = p[i].bytes / 100 + (p[i].bytes != 0);
	p[i].alloc_bytes = (uint64_t)alloc;
}

int
main(void)
{
	struct lsr_growth g;
	size_t i;

	/* A steady leak of 1000 B/s amid churn of up to 50 KB in flight. */
	times(0.6);
	for (i = 0; i < N; i++)
		set(i, 1000 * p[i].t + 50000 * noise(), 1e6 * p[i].t);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "growing");
	LST_TRUE(fabs(g.bytes_per_second - 1000) < 100);
	LST_TRUE(g.released_at < 0);

	/* A leak with less churn in flight (a third of its growth),
	 * released at 80% of the run, caught half done. */
	for (i = 0; i < N; i++)
		set(i, i < 48 ? 1000 * p[i].t + 16000 * noise() : i == 48 ?
		    90000 : 2000 * noise(), 1e6 * p[i].t);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "growing");
	LST_TRUE(fabs(g.released_at - p[49].t) < 1e-9);

	/* A cache warming up over 40% of the run, then flat. */
	times(0.2);
	for (i = 0; i < N; i++)
		set(i, i < 24 ? 4000.0 * (double)i : 96000 + 500 * noise(),
		    5e3 * p[i].t);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "plateau");

	/* Built up and released every 10 snapshots. */
	for (i = 0; i < N; i++)
		set(i, 10000.0 * (double)(i % 10), 1e4 * p[i].t);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "sawtooth");
	LST_EQ_U64(g.drops, 5);

	/* A sawtooth whose floor rises: a leak under the teeth. */
	for (i = 0; i < N; i++)
		set(i, 10000.0 * (double)(i % 10) + 3000.0 * (double)i,
		    1e4 * p[i].t);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "growing");

	/* Short-lived blocks only: churn. */
	for (i = 0; i < N; i++)
		set(i, 20000 * noise(), 1e6 * p[i].t);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "churn");

	/* Set up once and kept. */
	for (i = 0; i < N; i++)
		set(i, 4096, 4096);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "steady");

	/* Freed steadily. */
	for (i = 0; i < N; i++)
		set(i, 100000.0 - 1500.0 * (double)i, 1e5);
	LST_EQ_STR(lsr_verdict_name(judge(&g)), "shrinking");

	/* Too short to say. */
	lsr_trend(p, 3, &g);
	LST_EQ_STR(lsr_verdict_name(g.verdict), "unknown");
	return LST_DONE();
}
