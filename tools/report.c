/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report: read dumps, group live blocks by call site, print.
 */
#define _GNU_SOURCE
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lsr.h"
#include "xalloc.h"

#define EXIT_DATA	3

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: leakspy-report [-htV] [-d A..B] [-f text|json] [-n N] "
	    "[-s N] FILE...\n"
	    "\n"
	    "Show which call sites hold the live memory of a process traced\n"
	    "by libleakspy.so, from its dump file(s).\n"
	    "\n"
	    "  -f, --format FMT    text (default) or json\n"
	    "  -n, --top N         show the N biggest sites (default 20 for "
	    "text,\n"
	    "                      all for json; 0 means all)\n"
	    "  -s, --snapshot N    report snapshot N (0 is the first; "
	    "negative\n"
	    "                      counts from the end; default -1, the "
	    "last)\n"
	    "  -d, --diff A..B     what was allocated after snapshot A and "
	    "is still\n"
	    "                      live at B, by site; A and B are snapshot "
	    "numbers\n"
	    "                      or times since the start (30s, 5m, 2h, "
	    "1d);\n"
	    "                      either may be left out (first, last)\n"
	    "  -t, --by-thread     split each site by the name of the "
	    "thread that\n"
	    "                      allocated\n"
	    "  -h, --help          show this help and exit\n"
	    "  -V, --version       show the version and exit\n"
	    "\n"
	    "Exit status: 0 ok, 1 findings (--check), 2 usage or unreadable file,\n"
	    "3 incomplete or corrupt dump (what could be read is still "
	    "reported).\n");
}

/*
 * One end of --diff, or --snapshot: a snapshot number (negative from the
 * end) or a time since the start with a unit.
 */
struct point_spec {
	bool set;
	bool is_time;
	long index;
	double seconds;
};

static bool
parse_point(const char *s, struct point_spec *p)
{
	char *end;

	memset(p, 0, sizeof(*p));
	if (*s == '\0')
		return true;	/* left out */
	p->set = true;
	if (strpbrk(s, "smhd") != NULL) {
		double v = strtod(s, &end), mul;

		if (end == s || v < 0 || end[0] == '\0' || end[1] != '\0')
			return false;
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return false;
		}
		p->is_time = true;
		p->seconds = v * mul;
		return true;
	}
	p->index = strtol(s, &end, 10);
	return end != s && *end == '\0' && p->index > -100000000 &&
	    p->index < 100000000;
}

/* The snapshot a point names in d, or SIZE_MAX if there is none. */
static size_t
resolve_point(const struct lsr_dump *d, const struct point_spec *p,
    size_t dflt)
{
	size_t i, k = 0;

	if (!p->set)
		return dflt;
	if (p->is_time) {
		/* The last snapshot taken at or before that time. */
		for (i = 0; i < d->nsnaps; i++)
			if ((double)d->snaps[i].mono_ns / 1e9 <= p->seconds)
				k = i;
		return d->nsnaps ? k : SIZE_MAX;
	}
	if (p->index < 0 && (size_t)-p->index <= d->nsnaps)
		return d->nsnaps - (size_t)-p->index;
	if (p->index >= 0 && (size_t)p->index < d->nsnaps)
		return (size_t)p->index;
	return SIZE_MAX;
}

static bool
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0')
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* What the options asked for. */
struct opts {
	struct lsr_out_opts o;
	struct point_spec at;		/* --snapshot */
	struct point_spec from, to;	/* --diff */
	bool diff;
	bool json;
	bool array;		/* JSON for several files: an array */
	bool by_thread;
};

/* --diff A..B into op. */
static void
parse_diff(const char *arg, struct opts *op)
{
	const char *dots = strstr(arg, "..");
	char *a;
	bool ok;

	if (dots == NULL)
		errx(LSR_EXIT_USAGE, "--diff wants A..B, not '%s'", arg);
	a = lsr_xstrndup(arg, (size_t)(dots - arg));
	ok = parse_point(a, &op->from) && parse_point(dots + 2, &op->to);
	free(a);
	if (!ok)
		errx(LSR_EXIT_USAGE, "--diff wants A..B with snapshot numbers or "
		    "times, not '%s'", arg);
	op->diff = true;
}

/*
 * Parse the options into op.  Returns the index in argv of the first
 * file; exits after -h or -V, and with LSR_EXIT_USAGE on a usage error.
 */
static int
parse_options(int argc, char **argv, struct opts *op)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "diff", required_argument, NULL, 'd' },
		{ "by-thread", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool top_set = false;
	long top = 20;
	int c;

	while ((c = getopt_long(argc, argv, "d:f:n:s:thV", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				op->json = true;
			else if (strcmp(optarg, "text") == 0)
				op->json = false;
			else
				errx(LSR_EXIT_USAGE, "unknown format '%s' (want "
				    "text or json)", optarg);
			break;
		case 'n':
			if (!parse_long(optarg, 0, 100000000, &top))
				errx(LSR_EXIT_USAGE, "--top wants a number >= 0, "
				    "not '%s'", optarg);
			top_set = true;
			break;
		case 's':
			if (!parse_point(optarg, &op->at) || !op->at.set)
				errx(LSR_EXIT_USAGE, "--snapshot wants a number or "
				    "a time (30s, 5m, 2h, 1d), not '%s'",
				    optarg);
			break;
		case 'd':
			parse_diff(optarg, op);
			break;
		case 't':
			op->by_thread = true;
			break;
		case 'h':
			usage(stdout);
			lsr_exit_printed();
		case 'V':
			printf("leakspy-report %s\n", LS_VERSION);
			lsr_exit_printed();
		default:
			usage(stderr);
			exit(LSR_EXIT_USAGE);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		exit(LSR_EXIT_USAGE);
	}
	if (op->diff && op->at.set)
		errx(LSR_EXIT_USAGE, "--diff and --snapshot cannot be combined");
	op->o.top = op->json && !top_set ? 0 : (size_t)top;
	/* Several files: one JSON value all the same, an array. */
	op->array = op->json && argc - optind > 1;
	return optind;
}

/*
 * The snapshots to report in dump d: *k, and with --diff *a (else
 * SIZE_MAX).  False, with a message, when d has snapshots but not the
 * ones asked for.
 */
static bool
pick_snapshots(const struct lsr_dump *d, const struct opts *op, size_t *k,
    size_t *a)
{
	*k = resolve_point(d, op->diff ? &op->to : &op->at, d->nsnaps ?
	    d->nsnaps - 1 : SIZE_MAX);
	*a = op->diff ? resolve_point(d, &op->from, 0) : SIZE_MAX;
	if (d->nsnaps > 0 && (*k == SIZE_MAX || (op->diff &&
	    (*a == SIZE_MAX || *a >= *k)))) {
		warnx("%s: %s (it has %zu snapshots)", d->path, op->diff ?
		    "--diff wants two snapshots, the first before the second" :
		    "no such snapshot", d->nsnaps);
		return false;
	}
	return true;
}

/* Print report r on stdout; *shown counts the reports printed so far. */
static void
render(struct lsr_report *r, const struct opts *op, unsigned *shown)
{
	if (op->json) {
		if ((*shown)++ > 0)
			fputs(",\n", stdout);
		lsr_out_json(stdout, r, &op->o);
		if (!op->array)
			putchar('\n');
	} else {
		if ((*shown)++ > 0)
			putchar('\n');
		lsr_out_text(stdout, r, &op->o);
	}
}

/* Say on stderr what is wrong with dump d.  Returns EXIT_DATA if
 * anything is, else 0. */
static int
dump_status(const struct lsr_dump *d)
{
	int status = 0;

	if (d->error != NULL) {
		warnx("%s: offset %llu: %s", d->path,
		    (unsigned long long)d->error_offset, d->error);
		status = EXIT_DATA;
	} else if (d->incomplete) {
		warnx("%s: incomplete: %s", d->path, lsr_incomplete_why(d));
		status = EXIT_DATA;
	}
	if (d->pflags & LS_PF_INTERPOSE_FAILED) {
		warnx("%s: %s: the figures are incomplete", d->path,
		    d->interpose_note);
		status = EXIT_DATA;
	}
	return status;
}

/* Report on the dump at path.  Returns its exit status: 0, LSR_EXIT_USAGE
 * (unreadable, or no such snapshot) or EXIT_DATA. */
static int
report_file(const char *path, const struct opts *op, unsigned *shown)
{
	struct lsr_dump d;
	struct lsr_report r;
	size_t k, a;
	int status;

	if (lsr_read(path, &d) != 0)
		return LSR_EXIT_USAGE;
	if (!pick_snapshots(&d, op, &k, &a)) {
		lsr_dump_fini(&d);
		return LSR_EXIT_USAGE;
	}
	lsr_group(&d, k, a, op->by_thread ? LSR_BY_THREAD : 0, &r);
	render(&r, op, shown);
	/* The report before what is said about it on stderr. */
	fflush(stdout);
	status = dump_status(&d);
	lsr_report_fini(&r);
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return status;
}

int
main(int argc, char **argv)
{
	struct opts op = { 0 };
	unsigned shown = 0;
	int i, status = 0;

	i = parse_options(argc, argv, &op);
	if (op.array)
		fputs("[\n", stdout);
	for (; i < argc; i++) {
		int s = report_file(argv[i], &op, &shown);

		if (s > status)
			status = s;
	}
	if (op.array)
		fputs(shown > 0 ? "\n]\n" : "]\n", stdout);
	if (ferror(stdout))
		errx(LSR_EXIT_USAGE, "write error on standard output");
	return status;
}
