/* SPDX-License-Identifier: MIT */
/*
 * Memory patterns over time, for the growth verdicts.
 * usage: pattern MODE SECONDS
 *
 *   seed1        instrumentation events kept by an open parent event
 *                (event_new grows, 96 bytes an event)
 *   seed1-fixed  the same events fired outside a parent (nothing grows)
 *   seed2        registrations on a long-lived cancellation source keep
 *                each command's result (fetch_result grows); the source
 *                is disposed of at the end, then the program idles
 *   seed2-fixed  a short-lived source per query (nothing grows)
 *   plateau      a bounded cache (cache_insert) fills during the first 40%
 *                of the run, then only replaces entries
 *   sawtooth     batch_add fills a batch, which is freed every 0.4 s
 *   slowleak     requests churn through get_buffer(); one in ten keeps 24
 *                bytes from the same call site
 *   mixed        all at once, for orders that differ: a cache that fills
 *                (cache_insert), a sawtooth (batch_add, all but ten freed
 *                at the end: its peak above the cache, its live bytes
 *                below the leaks'), a steady leak
 *                (get_buffer, 24 bytes a tick) and, in the last quarter, a
 *                faster one (late_keep, 64 bytes a tick)
 *
 * It prints "rate R" (bytes a second the growing site really gained,
 * measured between its first and last kept allocation) and, for seed2,
 * "released T" (seconds since start when the source was disposed of).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))
/* Keeps the call before it from becoming a tail call (its frame stays). */
#define NO_TAIL() __asm__ volatile("" ::: "memory")

static struct timespec t0;
static double first_keep = -1, last_keep;
static unsigned long kept_bytes;

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) +
	    (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
}

/* Note a kept allocation of n bytes (after the first, whose time starts
 * the measurement). */
static void
note_keep(size_t n)
{
	double t = now();

	if (first_keep < 0)
		first_keep = t;
	else
		kept_bytes += n;
	last_keep = t;
}

static void
tick(void)
{
	struct timespec ms = { 0, 2 * 1000 * 1000 };

	nanosleep(&ms, NULL);
}

/* --- seed 1: a parent event keeps its children --- */

struct event {
	struct event **children;
	size_t nchildren, cap;
	char name[72];
};

NOINLINE static struct event *
event_new(const char *name)
{
	struct event *e = calloc(1, sizeof(*e));	/* 96 bytes */

	snprintf(e->name, sizeof(e->name), "%s", name);
	return e;
}

NOINLINE static void
children_push(struct event *parent, struct event *child)
{
	if (parent->nchildren == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 16;
		parent->children = realloc(parent->children,
		    parent->cap * sizeof(*parent->children));
	}
	parent->children[parent->nchildren++] = child;
}

static void
event_free(struct event *e)
{
	size_t i;

	for (i = 0; i < e->nchildren; i++)
		event_free(e->children[i]);
	free(e->children);
	free(e);
}

static void
seed1(double secs, int fixed)
{
	struct event *parent = fixed ? NULL : event_new("perform.job");

	while (now() < secs) {
		int i;

		for (i = 0; i < 20; i++) {
			struct event *e = event_new("sql.active_record");

			if (parent != NULL) {
				children_push(parent, e);
				note_keep(sizeof(*e));
			} else {
				event_free(e);
			}
		}
		tick();
	}
	if (parent != NULL)
		printf("events %zu\n", parent->nchildren);
}

/* --- seed 2: a cancellation source keeps every registration --- */

struct command {
	char *sql;
	char *result;
};

struct registration {
	struct registration *next;
	struct command *cmd;
};

struct source {
	struct registration *regs;
};

NOINLINE static void
fetch_result(struct command *cmd)
{
	cmd->result = malloc(2000);
	memset(cmd->result, 'r', 2000);
}

NOINLINE static void
register_cancel(struct source *src, struct command *cmd)
{
	struct registration *r = malloc(sizeof(*r));

	r->cmd = cmd;
	r->next = src->regs;
	src->regs = r;
}

static void
source_dispose(struct source *src)
{
	struct registration *r, *next;

	for (r = src->regs; r != NULL; r = next) {
		next = r->next;
		free(r->cmd->result);
		free(r->cmd->sql);
		free(r->cmd);
		free(r);
	}
	free(src);
}

static void
seed2(double secs, int fixed)
{
	struct source *batch = fixed ? NULL : calloc(1, sizeof(*batch));
	unsigned i = 0;

	while (now() < secs * 0.8) {
		int k;

		for (k = 0; k < 5; k++) {
			struct source *src = batch ? batch :
			    calloc(1, sizeof(*src));
			struct command *cmd = calloc(1, sizeof(*cmd));

			cmd->sql = strdup("SELECT * FROM calls");
			register_cancel(src, cmd);
			fetch_result(cmd);
			if (batch == NULL)
				source_dispose(src);
			else
				note_keep(2000);
			i++;
		}
		tick();
	}
	if (batch != NULL) {
		printf("released %.3f\n", now());
		source_dispose(batch);
	}
	while (now() < secs)
		tick();
}

/* --- a cache that warms up, then stays full --- */

#define CACHE 3000

NOINLINE static void *
cache_insert(void)
{
	void *p = malloc(500);

	NO_TAIL();
	return p;
}

static void
plateau(double secs)
{
	static void *cache[CACHE];
	unsigned n = 0, next = 0;

	while (now() < secs) {
		int k;

		/* Fill over 40% of the run, then replace at the same rate. */
		for (k = 0; k < 6; k++) {
			if (n < CACHE && now() < 0.4 * secs) {
				cache[n++] = cache_insert();
			} else if (n > 0) {
				free(cache[next % n]);
				cache[next % n] = cache_insert();
				next++;
			}
		}
		tick();
	}
	printf("cache %u\n", n);
}

/* --- a sawtooth: batches built and released --- */

NOINLINE static void *
batch_add(void)
{
	void *p = malloc(1000);

	NO_TAIL();
	return p;
}

static void
sawtooth(double secs)
{
	static void *batch[20000];
	unsigned n = 0, i;
	double release = 0.4;

	while (now() < secs) {
		int k;

		for (k = 0; k < 20 && n < 20000; k++)
			batch[n++] = batch_add();
		if (now() >= release) {
			for (i = 0; i < n; i++)
				free(batch[i]);
			n = 0;
			release += 0.4;
		}
		tick();
	}
}

/* --- a slow leak hidden in churn, from the same call site --- */

NOINLINE static void *
get_buffer(size_t n)
{
	void *p = malloc(n);

	NO_TAIL();
	return p;
}

static void *volatile leaked[100000];

static void
slowleak(double secs)
{
	unsigned req = 0, nk = 0;

	while (now() < secs) {
		int k;

		for (k = 0; k < 50; k++, req++) {
			void *buf[4];
			int j;

			for (j = 0; j < 4; j++)
				buf[j] = get_buffer(64 + (req * 37 + j * 11) %
				    4000);
			if (req % 10 == 0 && nk < 100000) {
				leaked[nk++] = get_buffer(24);
				note_keep(24);
			}
			for (j = 0; j < 4; j++)
				free(buf[j]);
		}
		tick();
	}
}

/* --- all of them at once --- */

NOINLINE static void *
late_keep(void)
{
	void *p = malloc(64);

	NO_TAIL();
	return p;
}

static void *volatile kept[40000], *volatile filled[CACHE];

static void
mixed(double secs)
{
	static void *batch[20000];
	unsigned nc = 0, nb = 0, nk = 0, i;
	double release = 0.4;

	while (now() < secs && nk + 2 <= 40000) {
		int k;

		for (k = 0; k < 6 && nc < CACHE; k++)
			filled[nc++] = cache_insert();
		for (k = 0; k < 20 && nb < 20000; k++)
			batch[nb++] = batch_add();
		if (now() >= release) {
			for (i = 0; i < nb; i++)
				free(batch[i]);
			nb = 0;
			release += 0.4;
		}
		kept[nk++] = get_buffer(24);
		if (now() >= 0.75 * secs)
			kept[nk++] = late_keep();
		tick();
	}
	for (i = 10; i < nb; i++)
		free(batch[i]);
}

int
main(int argc, char **argv)
{
	double secs;

	if (argc != 3)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	secs = atof(argv[2]);
	if (strcmp(argv[1], "seed1") == 0)
		seed1(secs, 0);
	else if (strcmp(argv[1], "seed1-fixed") == 0)
		seed1(secs, 1);
	else if (strcmp(argv[1], "seed2") == 0)
		seed2(secs, 0);
	else if (strcmp(argv[1], "seed2-fixed") == 0)
		seed2(secs, 1);
	else if (strcmp(argv[1], "plateau") == 0)
		plateau(secs);
	else if (strcmp(argv[1], "sawtooth") == 0)
		sawtooth(secs);
	else if (strcmp(argv[1], "slowleak") == 0)
		slowleak(secs);
	else if (strcmp(argv[1], "mixed") == 0)
		mixed(secs);
	else
		return 2;
	if (last_keep > first_keep && first_keep >= 0)
		printf("rate %.1f\n", (double)kept_bytes /
		    (last_keep - first_keep));
	return 0;
}
