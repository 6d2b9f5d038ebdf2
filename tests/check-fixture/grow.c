/* SPDX-License-Identifier: MIT */
/*
 * Grows and never loses anything: add_record keeps one more 1000-byte
 * record on the global list every 50 ms for 5 seconds, 100 in all, still
 * reachable from the list at exit.  Only the growth gate can fail it
 * (a snapshot a second in check mode).  Usage: grow [MS] (default 5000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

struct record {
	struct record *next;
	char data[1000 - sizeof(struct record *)];
};

static struct record *list;

NOINLINE static void
add_record(void)
{
	struct record *r = malloc(sizeof(*r));	/* site: add_record */

	memset(r->data, 'r', sizeof(r->data));
	r->next = list;
	list = r;
}

int
main(int argc, char **argv)
{
	struct timespec tick = { 0, 50 * 1000 * 1000 };
	int i, n = (argc > 1 ? atoi(argv[1]) : 5000) / 50;

	for (i = 0; i < n; i++) {
		add_record();			/* site: main calls add_record */
		nanosleep(&tick, NULL);
	}
	printf("grow: %d records\n", n);
	return 0;
}
