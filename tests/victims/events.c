/* SPDX-License-Identifier: MIT */
/*
 * Seed case 1 (tests/shim/test_scan_live.py): an instrumenter keeps a
 * stack of open events in a global subscriber; an event that starts while
 * another is open is appended to that parent's children array, so a job
 * that runs inside a parent event keeps every child it fires, finished or
 * not, until the parent finishes.  The same events fired outside a parent
 * keep nothing.  Usage: events N M: M events outside any parent, then a
 * job inside a parent event fires N children, prints "events: N
 * children" and blocks until a byte (or end of file) on stdin; then the
 * parent finishes (freeing its children), it prints "events: done" and
 * returns 0.  Sizes are multiples of 16, the stack below the caller is
 * zeroed before the pause, and a thread of their own takes the signals
 * (see cancel.c):
 *   event_new      96 bytes an event (the parent's from job_perform, the
 *                  children's from fire_child)
 *   payload_new    192 bytes an event, its payload
 *   children_add   the parent's children array, 8 bytes a child, the
 *                  capacity doubled from 16 (realloc)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scanvictim.h"


#define SCRUB	(64 << 10)
#define DEPTH	16

struct payload {
	char data[192];
};

struct event {
	char name[32];
	struct payload *payload;
	struct event **children;
	size_t nchildren, cap;
	unsigned long start, finish;
	struct event *parent;
	char pad[8];
};

/* The subscriber: its stack of open events. */
struct subscriber {
	struct event *open[DEPTH];
	int depth;
} subscriber;

NOINLINE static void
scrub_stack(void)
{
	char pad[SCRUB];

	memset(pad, 0, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

NOINLINE static struct payload *
payload_new(void)
{
	struct payload *p = malloc(sizeof(*p));

	if (p == NULL)
		abort();
	memset(p->data, 'h', sizeof(p->data));
	return p;
}

NOINLINE static struct event *
event_new(const char *name, unsigned long now)
{
	struct event *e = malloc(sizeof(*e));

	if (e == NULL)
		abort();
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->start = now;
	return e;
}

NOINLINE static void
children_add(struct event *parent, struct event *child)
{
	if (parent->nchildren == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 16;
		struct event **c = realloc(parent->children,
		    cap * sizeof(*c));

		if (c == NULL)
			abort();
		parent->children = c;
		parent->cap = cap;
	}
	parent->children[parent->nchildren++] = child;
	child->parent = parent;
}

static void
event_free(struct event *e)
{
	size_t i;

	for (i = 0; i < e->nchildren; i++)
		event_free(e->children[i]);
	free(e->children);
	free(e->payload);
	free(e);
}

/* Start an event: a child of the open one, if any, and now open. */
static void
start(struct event *e)
{
	if (subscriber.depth > 0)
		children_add(subscriber.open[subscriber.depth - 1], e);
	subscriber.open[subscriber.depth++] = e;
}

/* Finish the open event; one without a parent is dropped. */
static void
finish(unsigned long now)
{
	struct event *e = subscriber.open[--subscriber.depth];

	subscriber.open[subscriber.depth] = NULL;
	e->finish = now;
	if (e->parent == NULL)
		event_free(e);
}

NOINLINE static void
fire_child(unsigned long i)
{
	struct event *e = event_new("sql.active_record", i);

	e->payload = payload_new();
	start(e);
	finish(i + 1);
}

NOINLINE static void
job_perform(unsigned long n)
{
	struct event *e = event_new("perform.active_job", 0);
	unsigned long i;

	e->payload = payload_new();
	start(e);
	for (i = 0; i < n; i++)
		fire_child(i);
}

NOINLINE static void
job_outside(unsigned long m)
{
	unsigned long i;

	for (i = 0; i < m; i++)
		fire_child(i);
}


int
main(int argc, char **argv)
{
	unsigned long n, m;
	char c;

	if (argc != 3)
		return 2;
	n = strtoul(argv[1], NULL, 10);
	m = strtoul(argv[2], NULL, 10);
	if (catch_signals() != 0)
		return 1;
	job_outside(m);
	job_perform(n);
	printf("events: %zu children\n", subscriber.open[0]->nchildren);
	fflush(stdout);
	scrub_stack();
	while (read(0, &c, 1) < 0)
		;
	finish(n + 1);
	printf("events: done\n");
	fflush(stdout);
	return 0;
}
