/* SPDX-License-Identifier: MIT */
/*
 * Seed case 2 (tests/shim/test_scan_live.py): one long-lived cancellation
 * source, a global, on which every query registers a callback; the
 * registration holds the query's command object, which holds its result
 * buffer.  Nothing is lost, everything is reachable from the source until
 * it is disposed of.  Usage:
 *   cancel wait N     N queries, then prints "cancel: N registrations" and
 *                     blocks until a byte (or end of file) on stdin
 *   cancel grow N MS  N queries spread over MS milliseconds, 10 ms apart
 * then disposes of the source and all it holds, prints "cancel: disposed"
 * and returns 0.  In wait mode signals sent to the process are taken by a
 * thread that does nothing else (catch_signals): one taken by main would
 * leave its registers, stale pointers among them, in a signal frame on
 * main's stack, where the scan would find them.  Sizes are multiples of 16 (no pointer of glibc's into a
 * block's last word), the last block allocated is a fence, and the stack
 * below the caller is zeroed before each pause (a scan while the program
 * runs reads each thread's whole stack, dead frames too):
 *   main       16 bytes, the source (calloc)
 *   command    32 bytes a query (calloc)
 *   fetch      1024 bytes a query, the result buffer (malloc)
 *   register   32 bytes a query, the registration (malloc), a list
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scanvictim.h"


#define RESULT	1024
#define SCRUB	(64 << 10)

struct command {
	char *result;
	size_t result_len;
	unsigned id;
	char pad[12];
};

struct registration {
	struct registration *next;
	void (*cancel)(struct command *);
	struct command *cmd;
	unsigned long serial;
};

struct cancel_source {
	struct registration *regs;
	size_t count;
};

/* The batch in progress; the only pointer to the source. */
struct cancel_source *volatile batch;
void *volatile fence;

NOINLINE static void
scrub_stack(void)
{
	char pad[SCRUB];

	memset(pad, 0, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

static void
cancel_command(struct command *cmd)
{
	cmd->result_len = 0;
}

NOINLINE static struct command *
command_new(unsigned id)
{
	struct command *cmd = calloc(1, sizeof(*cmd));

	if (cmd == NULL)
		abort();
	cmd->id = id;
	return cmd;
}

/* The leak: the registration outlives the query. */
NOINLINE static void
register_cancel(struct command *cmd)
{
	struct registration *r = malloc(sizeof(*r));
	struct cancel_source *src = batch;

	if (r == NULL)
		abort();
	r->cancel = cancel_command;
	r->cmd = cmd;
	r->serial = src->count;
	r->next = src->regs;
	src->regs = r;
	src->count++;
}

NOINLINE static void
fetch_result(struct command *cmd)
{
	cmd->result = malloc(RESULT);
	if (cmd->result == NULL)
		abort();
	memset(cmd->result, 'r', RESULT);
	cmd->result_len = RESULT;
}

NOINLINE static void
run_query(unsigned id)
{
	struct command *cmd = command_new(id);

	register_cancel(cmd);
	fetch_result(cmd);
}

NOINLINE static void
source_new(void)
{
	batch = calloc(1, sizeof(*batch));
	if (batch == NULL)
		abort();
}

NOINLINE static void
fence_alloc(void)
{
	fence = malloc(16);
}

NOINLINE static void
dispose(void)
{
	struct registration *r, *next;

	for (r = batch->regs; r != NULL; r = next) {
		next = r->next;
		free(r->cmd->result);
		free(r->cmd);
		free(r);
	}
	free(batch);
	batch = NULL;
	free(fence);
	fence = NULL;
}

/* Queries from *done up to n, the last of them a fence away from the
 * allocator's top, and nothing of theirs left on the stack. */
NOINLINE static void
queries(unsigned *done, unsigned n)
{
	for (; *done < n; (*done)++)
		run_query(*done);
	free(fence);
	fence_alloc();
}


static int
wait_mode(unsigned n)
{
	unsigned done = 0;
	char c;

	if (catch_signals() != 0)
		return 1;
	queries(&done, n);
	printf("cancel: %zu registrations\n", batch->count);
	fflush(stdout);
	free(fence);
	fence_alloc();
	scrub_stack();
	while (read(0, &c, 1) < 0)
		;
	return 0;
}

static int
grow_mode(unsigned n, unsigned ms)
{
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	unsigned steps = ms / 10 ? ms / 10 : 1, i, done = 0;

	for (i = 1; i <= steps; i++) {
		queries(&done, (unsigned)((unsigned long)n * i / steps));
		scrub_stack();
		nanosleep(&ten, NULL);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 3)
		return 2;
	source_new();
	if (strcmp(argv[1], "wait") == 0 && argc == 3)
		rc = wait_mode((unsigned)atoi(argv[2]));
	else if (strcmp(argv[1], "grow") == 0 && argc == 4)
		rc = grow_mode((unsigned)atoi(argv[2]),
		    (unsigned)atoi(argv[3]));
	else
		return 2;
	dispose();
	printf("cancel: disposed\n");
	fflush(stdout);
	return rc;
}
