/* SPDX-License-Identifier: MIT */
/*
 * An allocation inlined into its caller: make_node() is always inlined
 * into build_list(), which keeps 10 nodes of 40 bytes.  The report must
 * show make_node (inlined) at its own line, then build_list.
 */
#include <stdio.h>
#include <stdlib.h>

struct node {
	struct node *next;
	char payload[32];
};

struct node *volatile head;

static inline __attribute__((always_inline)) struct node *
make_node(struct node *next)
{
	struct node *n = malloc(sizeof(*n));

	n->next = next;
	return n;
}

__attribute__((noinline)) static void
build_list(void)
{
	int i;

	for (i = 0; i < 10; i++)
		head = make_node(head);
}

int
main(void)
{
	build_list();
	return head == NULL;
}
