/* SPDX-License-Identifier: MIT */
/*
 * leakspy-demo: a small service with the leak of seed case 2.  A batch
 * job passes one long-lived cancellation source to every query; each
 * query registers a cancel callback on it, and the registration keeps the
 * query's command object and its result buffer alive.  Nothing is lost:
 * everything is reachable from the source, which is disposed of only when
 * the batch ends (with --dispose) or never (the default, as a service
 * that is stopped).  The source is the batch in progress, a global.
 * Temporary buffers churn alongside.
 *
 * usage: leakspy-demo [-d] [-s seconds] [-q queries-per-second]
 */
#define _GNU_SOURCE
#include <err.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

struct command {
	char *sql;
	char *result;		/* the driver's result buffer */
	size_t result_len;
};

struct registration {
	struct registration *next;
	void (*cancel)(struct command *);
	struct command *cmd;
};

struct cancel_source {
	struct registration *regs;
	size_t count;
};

static void
cancel_command(struct command *cmd)
{
	cmd->result_len = 0;
}

NOINLINE static struct command *
command_new(const char *sql)
{
	struct command *cmd = calloc(1, sizeof(*cmd));

	if (cmd == NULL)
		err(1, "calloc");
	cmd->sql = strdup(sql);
	return cmd;
}

/* The batch's cancellation source, passed to every query. */
NOINLINE static struct cancel_source *
source_new(void)
{
	struct cancel_source *src = calloc(1, sizeof(*src));

	if (src == NULL)
		err(1, "calloc");
	return src;
}

/* The leak: the registration outlives the query. */
NOINLINE static void
register_cancel(struct cancel_source *src, struct command *cmd)
{
	struct registration *r = malloc(sizeof(*r));

	if (r == NULL)
		err(1, "malloc");
	r->cancel = cancel_command;
	r->cmd = cmd;
	r->next = src->regs;
	src->regs = r;
	src->count++;
}

NOINLINE static void
fetch_result(struct command *cmd, unsigned rows)
{
	cmd->result_len = 64 + rows * 24;
	cmd->result = malloc(cmd->result_len);
	if (cmd->result == NULL)
		err(1, "malloc");
	memset(cmd->result, 'r', cmd->result_len);
}

/* Short-lived work: parse and format, then free. */
NOINLINE static unsigned
parse_rows(const struct command *cmd, unsigned seed)
{
	char *scratch = malloc(4096 + seed % 4096);
	unsigned rows;

	if (scratch == NULL)
		err(1, "malloc");
	snprintf(scratch, 4096, "%s /* %u */", cmd->sql, seed);
	rows = (unsigned)strlen(scratch) % 50 + 50;
	free(scratch);
	return rows;
}

NOINLINE static void
run_query(struct cancel_source *batch, unsigned i)
{
	char sql[128];
	struct command *cmd;

	snprintf(sql, sizeof(sql), "SELECT * FROM calls WHERE id = %u", i);
	cmd = command_new(sql);
	register_cancel(batch, cmd);
	fetch_result(cmd, parse_rows(cmd, i));
}

static void
dispose(struct cancel_source *src)
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

/* The batch in progress, as a service keeps it. */
static struct cancel_source *batch;

int
main(int argc, char **argv)
{
	struct timespec start, now, pause;
	double seconds = 3, qps = 2000, elapsed;
	bool do_dispose = false;
	unsigned i = 0;
	int c;

	while ((c = getopt(argc, argv, "ds:q:")) != -1) {
		switch (c) {
		case 'd':
			do_dispose = true;
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'q':
			qps = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: leakspy-demo [-d] [-s seconds] "
			    "[-q queries-per-second]\n");
			return 2;
		}
	}
	if (seconds <= 0 || qps <= 0 || qps > 1e6)
		errx(2, "want -s > 0 and 0 < -q <= 1000000");
	batch = source_new();
	clock_gettime(CLOCK_MONOTONIC, &start);
	pause.tv_sec = 0;
	pause.tv_nsec = (long)(1e9 / qps * 10);
	do {
		unsigned k;

		for (k = 0; k < 10; k++)
			run_query(batch, i++);
		nanosleep(&pause, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (double)(now.tv_sec - start.tv_sec) +
		    (double)(now.tv_nsec - start.tv_nsec) / 1e9;
	} while (elapsed < seconds);
	printf("leakspy-demo: %u queries, %zu registrations held by the "
	    "batch's cancellation source\n", i, batch->count);
	if (do_dispose)
		dispose(batch);
	return 0;
}
