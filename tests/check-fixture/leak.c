/* SPDX-License-Identifier: MIT */
/*
 * Loses memory for good: main calls make_node 3 times and drops each
 * 48-byte node (definitely lost: 144 bytes in 3 blocks), then drops the
 * 16-byte holder from make_holder (definitely lost), whose 100-byte
 * buffer from make_buffer is lost only through it (indirectly lost).
 * The lines marked "site:" are those the gate's stacks must name
 * (tests/launcher/test_check.py).  Usage: leak [STATUS] (exits STATUS,
 * default 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

struct node {
	struct node *next;
	char payload[40];
};

struct holder {
	char *buf;
	size_t len;
};

/* The last pointer to each lost block, overwritten. */
void *volatile slot;
/* Reachable, allocated last: glibc's pointer to the top of its heap
 * points into no lost block then. */
void *volatile fence;

NOINLINE static struct node *
make_node(void)
{
	struct node *n = malloc(sizeof(*n));	/* site: make_node */

	memset(n, 0, sizeof(*n));
	return n;
}

NOINLINE static char *
make_buffer(size_t len)
{
	char *b = malloc(len);			/* site: make_buffer */

	memset(b, 'x', len);
	return b;
}

NOINLINE static struct holder *
make_holder(void)
{
	struct holder *h = malloc(sizeof(*h));	/* site: make_holder */

	h->len = 100;
	h->buf = make_buffer(h->len);		/* site: make_holder calls */
	return h;
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 0; i < 3; i++) {
		slot = make_node();		/* site: main calls make_node */
		slot = NULL;
	}
	slot = make_holder();			/* site: main calls make_holder */
	slot = NULL;
	fence = malloc(16);
	scrub_stack();
	printf("leak: done\n");
	return status_of(argc, argv);
}
