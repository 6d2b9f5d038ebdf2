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

#define EXIT_USAGE	2
#define EXIT_DATA	3

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: leakspy-report [-h] [-V] [-f text|json] [-n N] "
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
	    "  -h, --help          show this help and exit\n"
	    "  -V, --version       show the version and exit\n"
	    "\n"
	    "Exit status: 0 ok, 2 usage or unreadable file, 3 incomplete or\n"
	    "corrupt dump (what could be read is still reported).\n");
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct lsr_out_opts o = { 0 };
	bool json = false, top_set = false;
	long top = 20, snap = -1;
	int c, i, status = 0;

	while ((c = getopt_long(argc, argv, "f:n:s:hV", longopts, NULL)) !=
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
			if (!parse_long(optarg, -100000000, 100000000, &snap))
				errx(EXIT_USAGE, "--snapshot wants a number, "
				    "not '%s'", optarg);
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
	o.top = json && !top_set ? 0 : (size_t)top;

	for (i = optind; i < argc; i++) {
		struct lsr_dump d;
		struct lsr_report r;
		size_t k;

		if (lsr_read(argv[i], &d) != 0) {
			status = status > EXIT_USAGE ? status : EXIT_USAGE;
			continue;
		}
		if (d.nsnaps == 0)
			k = SIZE_MAX;
		else if (snap < 0 && (size_t)-snap <= d.nsnaps)
			k = d.nsnaps - (size_t)-snap;
		else if (snap >= 0 && (size_t)snap < d.nsnaps)
			k = (size_t)snap;
		else {
			warnx("%s: no snapshot %ld (it has %zu)", argv[i],
			    snap, d.nsnaps);
			lsr_dump_fini(&d);
			status = status > EXIT_USAGE ? status : EXIT_USAGE;
			continue;
		}
		lsr_group(&d, k, &r);
		if (!json && i > optind)
			putchar('\n');
		if (json)
			lsr_out_json(stdout, &r, &o);
		else
			lsr_out_text(stdout, &r, &o);
		fflush(stdout);
		if (d.error != NULL) {
			warnx("%s: offset %llu: %s", argv[i],
			    (unsigned long long)d.error_offset, d.error);
			status = EXIT_DATA;
		} else if (d.incomplete) {
			warnx("%s: incomplete: no final snapshot (the process "
			    "is still running, or was killed)", argv[i]);
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
	if (ferror(stdout))
		errx(EXIT_USAGE, "write error on standard output");
	return status;
}
