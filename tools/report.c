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

#include "lsr.h"
#include "xalloc.h"

#define EXIT_USAGE	2
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
	    "Exit status: 0 ok, 2 usage or unreadable file, 3 incomplete or\n"
	    "corrupt dump (what could be read is still reported).\n");
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

int
main(int argc, char **argv)
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
	struct lsr_out_opts o = { 0 };
	struct point_spec at = { 0 }, from = { 0 }, to = { 0 };
	bool json = false, top_set = false, diff = false, by_thread = false;
	bool array;
	unsigned shown = 0;
	long top = 20;
	int c, i, status = 0;

	while ((c = getopt_long(argc, argv, "d:f:n:s:thV", longopts, NULL)) !=
	    -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "text") == 0)
				json = false;
			else
				errx(EXIT_USAGE, "unknown format '%s' (want "
				    "text or json)", optarg);
			break;
		case 'n':
			if (!parse_long(optarg, 0, 100000000, &top))
				errx(EXIT_USAGE, "--top wants a number >= 0, "
				    "not '%s'", optarg);
			top_set = true;
			break;
		case 's':
			if (!parse_point(optarg, &at) || !at.set)
				errx(EXIT_USAGE, "--snapshot wants a number or "
				    "a time (30s, 5m, 2h, 1d), not '%s'",
				    optarg);
			break;
		case 'd': {
			char *dots = strstr(optarg, ".."), *a;
			bool ok;

			if (dots == NULL)
				errx(EXIT_USAGE, "--diff wants A..B, not '%s'",
				    optarg);
			a = lsr_xstrndup(optarg, (size_t)(dots - optarg));
			ok = parse_point(a, &from) &&
			    parse_point(dots + 2, &to);
			free(a);
			if (!ok)
				errx(EXIT_USAGE, "--diff wants A..B with "
				    "snapshot numbers or times, not '%s'",
				    optarg);
			diff = true;
			break;
		}
		case 't':
			by_thread = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("leakspy-report %s\n", LS_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (diff && at.set)
		errx(EXIT_USAGE, "--diff and --snapshot cannot be combined");
	o.top = json && !top_set ? 0 : (size_t)top;
	/* Several files: one JSON value all the same, an array. */
	array = json && argc - optind > 1;
	if (array)
		fputs("[\n", stdout);

	for (i = optind; i < argc; i++) {
		struct lsr_dump d;
		struct lsr_report r;
		size_t k, a = SIZE_MAX;

		if (lsr_read(argv[i], &d) != 0) {
			status = status > EXIT_USAGE ? status : EXIT_USAGE;
			continue;
		}
		k = resolve_point(&d, diff ? &to : &at, d.nsnaps ?
		    d.nsnaps - 1 : SIZE_MAX);
		if (diff)
			a = resolve_point(&d, &from, 0);
		if (d.nsnaps > 0 && (k == SIZE_MAX || (diff &&
		    (a == SIZE_MAX || a >= k)))) {
			warnx("%s: %s (it has %zu snapshots)", argv[i],
			    diff ? "--diff wants two snapshots, the first "
			    "before the second" : "no such snapshot",
			    d.nsnaps);
			lsr_dump_fini(&d);
			status = status > EXIT_USAGE ? status : EXIT_USAGE;
			continue;
		}
		lsr_group(&d, k, a, by_thread ? LSR_BY_THREAD : 0, &r);
		if (json) {
			if (shown++ > 0)
				fputs(",\n", stdout);
			lsr_out_json(stdout, &r, &o);
			if (!array)
				putchar('\n');
		} else {
			if (shown++ > 0)
				putchar('\n');
			lsr_out_text(stdout, &r, &o);
		}
		fflush(stdout);
		if (d.error != NULL) {
			warnx("%s: offset %llu: %s", argv[i],
			    (unsigned long long)d.error_offset, d.error);
			status = EXIT_DATA;
		} else if (d.incomplete) {
			warnx("%s: incomplete: %s", argv[i],
			    lsr_incomplete_why(&d));
			status = EXIT_DATA;
		}
		if (d.pflags & LS_PF_INTERPOSE_FAILED) {
			warnx("%s: %s: the figures are incomplete", argv[i],
			    d.interpose_note);
			status = EXIT_DATA;
		}
		lsr_report_fini(&r);
		lsr_symbolize_fini(&d);
		lsr_dump_fini(&d);
	}
	if (array)
		fputs(shown > 0 ? "\n]\n" : "]\n", stdout);
	if (ferror(stdout))
		errx(EXIT_USAGE, "write error on standard output");
	return status;
}
