/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report: read dumps, group live blocks by call site, print.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "lsr.h"
#include "out.h"
#include "xalloc.h"

#define EXIT_DATA	3

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: leakspy-report [-htV] [-d A..B] [-f FORMAT] [-n N] "
	    "[-o FILE] [-s N]\n"
	    "                      [-w WEIGHT] FILE...\n"
	    "       leakspy-report --watch SECONDS [-n N] FILE\n"
	    "       leakspy-report --check [gate options] [-f FORMAT] "
	    "[-o FILE] FILE...\n"
	    "\n"
	    "Show which call sites hold the live memory of a process traced\n"
	    "by libleakspy.so, from its dump file(s); with --check, fail on\n"
	    "memory lost at exit, thread leaks and growth.\n"
	    "\n"
	    "  -f, --format FMT    text (default), json, collapsed (folded "
	    "stacks),\n"
	    "                      brief (a line a site), pprof (gzipped) or "
	    "html\n"
	    "                      (a page; both want -o FILE); with --check "
	    "text,\n"
	    "                      json, junit, sarif, lsan or html\n"
	    "  -n, --top N         show the N biggest sites (default 20 for "
	    "text,\n"
	    "                      all for the others; 0 means all)\n"
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
	    "  -o, --output FILE   write to FILE (replaced once complete) "
	    "instead of\n"
	    "                      standard output\n"
	    "  --watch SECONDS     redraw the text report of a dump being "
	    "written as\n"
	    "                      its snapshots arrive (5 sites unless -n "
	    "is given)\n"
	    "  -w, --weight W      collapsed: count bytes (default) or "
	    "blocks, or\n"
	    "                      with --diff window (allocated after A, "
	    "live at B)\n"
	    "  -h, --help          show this help and exit\n"
	    "  -V, --version       show the version and exit\n"
	    "\n"
	    "Gate options:\n"
	    "  --check             judge the dumps: exit 0 clean, 1 findings, "
	    "3 when\n"
	    "                      the data cannot support a verdict\n"
	    "  --fail-on LIST      the findings that fail, of definite, "
	    "indirect,\n"
	    "                      possible, thread, growth, lost (definite,"
	    "indirect)\n"
	    "                      and all (default: all but possible)\n"
	    "  --max-growth LIMIT  growth fails only above LIMIT: a rate "
	    "(1MiB/h)\n"
	    "                      or a size (10MiB); one of each may be "
	    "given\n"
	    "  --suppressions FILE rules in LSan's syntax "
	    "(leak:PATTERN),\n"
	    "                      and growth:PATTERN, thread:PATTERN; "
	    "repeatable\n"
	    "  --no-builtin-suppressions\n"
	    "                      do not suppress the C library's, C++ "
	    "runtime's and\n"
	    "                      loader's one-time allocations\n"
	    "  --gen-suppressions  print a rule for each finding that fails\n"
	    "  --baseline FILE     fail only on findings not in FILE or past "
	    "their\n"
	    "                      budget there\n"
	    "  --write-baseline FILE\n"
	    "                      record the findings in FILE as the "
	    "baseline\n"
	    "  --source-root DIR   SARIF: the project's own code is under DIR\n"
	    "                      (default: the working directory)\n"
	    "\n"
	    "Exit status: 0 ok, 1 findings (--check), 2 usage or unreadable "
	    "file,\n"
	    "3 incomplete or corrupt dump (what could be read is still "
	    "reported),\n"
	    "4 out of memory.\n");
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
	struct lsr_gate gate;
	bool check;
	const char *output;	/* -o */
	struct point_spec at;		/* --snapshot */
	struct point_spec from, to;	/* --diff */
	bool diff;
	bool json;
	bool array;		/* JSON for several files: an array */
	bool by_thread;
	double watch;		/* --watch: seconds between looks, or 0 */
	const struct format *format;	/* without --check */
};

/* The report's formats (--check has its own, lsr_gate_format). */
struct format {
	const char *name;
	void (*render)(FILE *f, struct lsr_report *r,
	    const struct lsr_out_opts *o);
	bool one_dump;		/* a file of its own: one dump only */
	bool binary;		/* not for a terminal */
	bool all_sites;		/* every site unless -n is given */
	bool keep_live;		/* --diff: unchanged sites too */
};

static const struct format formats[] = {
	{ "text", lsr_out_text, false, false, false, false },
	{ "json", lsr_out_json, false, false, true, false },
	{ "collapsed", lsr_out_collapsed, false, false, true, true },
	{ "brief", lsr_out_brief, false, false, true, false },
	{ "pprof", lsr_out_pprof, true, true, true, false },
	{ "html", lsr_out_html, true, true, true, true },
};

static const struct format *
find_format(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

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

/* --weight word into op: only for folded stacks. */
static bool
parse_weight(const char *word, struct opts *op)
{
	static const char *const words[] = {
		[LSR_W_BYTES] = "bytes", [LSR_W_BLOCKS] = "blocks",
		[LSR_W_WINDOW] = "window",
	};
	unsigned i;

	if (op->check || op->format->render != lsr_out_collapsed)
		return false;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(word, words[i]) == 0) {
			op->o.weight = i;
			return i != LSR_W_WINDOW || op->diff;
		}
	return false;
}

/*
 * Parse the options into op.  Returns the index in argv of the first
 * file; exits after -h or -V, and with LSR_EXIT_USAGE on a usage error.
 */
static int
parse_options(int argc, char **argv, struct opts *op)
{
	enum {
		OPT_CHECK = 256, OPT_FAIL_ON, OPT_MAX_GROWTH, OPT_SUPP,
		OPT_NO_BUILTIN, OPT_GEN, OPT_BASELINE, OPT_WRITE_BASELINE,
		OPT_SOURCE_ROOT, OPT_WATCH = 128,
	};
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "diff", required_argument, NULL, 'd' },
		{ "by-thread", no_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "weight", required_argument, NULL, 'w' },
		{ "watch", required_argument, NULL, OPT_WATCH },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
		{ "max-growth", required_argument, NULL, OPT_MAX_GROWTH },
		{ "suppressions", required_argument, NULL, OPT_SUPP },
		{ "no-builtin-suppressions", no_argument, NULL,
		    OPT_NO_BUILTIN },
		{ "gen-suppressions", no_argument, NULL, OPT_GEN },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "write-baseline", required_argument, NULL,
		    OPT_WRITE_BASELINE },
		{ "source-root", required_argument, NULL, OPT_SOURCE_ROOT },
		{ NULL, 0, NULL, 0 },
	};
	struct lsr_gate *g = &op->gate;
	const char *format = "text", *weight = NULL;
	bool top_set = false, gate_opt = false;
	long top = 20;
	int c;

	g->o.fail_on = LSR_K_DEFAULT;
	g->o.builtin = true;
	while ((c = getopt_long(argc, argv, "d:f:n:o:s:tw:hV", longopts, NULL)) !=
	    -1) {
		gate_opt |= c >= OPT_FAIL_ON;
		switch (c) {
		case 'f':
			format = optarg;
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
		case 'o':
			op->output = optarg;
			break;
		case 'w':
			weight = optarg;
			break;
		case OPT_CHECK:
			op->check = true;
			break;
		case OPT_WATCH:
			op->watch = lsr_watch_seconds(optarg);
			break;
		case OPT_FAIL_ON:
			if (!lsr_gate_fail_on(optarg, &g->o.fail_on))
				errx(LSR_EXIT_USAGE, "--fail-on wants words of "
				    "definite, indirect, possible, thread, "
				    "growth, lost and all, separated by commas, "
				    "not '%s'", optarg);
			break;
		case OPT_MAX_GROWTH:
			if (!lsr_gate_max_growth(optarg, &g->o))
				errx(LSR_EXIT_USAGE, "--max-growth wants a rate "
				    "(1MiB/h, 10KiB/s) or a size (10MiB), not "
				    "'%s'", optarg);
			break;
		case OPT_SUPP:
			if (g->nsupp == LSR_GATE_MAX_SUPP)
				errx(LSR_EXIT_USAGE, "at most %d --suppressions "
				    "files", LSR_GATE_MAX_SUPP);
			g->supp[g->nsupp++] = optarg;
			break;
		case OPT_NO_BUILTIN:
			g->o.builtin = false;
			break;
		case OPT_GEN:
			g->gen = true;
			break;
		case OPT_BASELINE:
			g->baseline = optarg;
			break;
		case OPT_WRITE_BASELINE:
			g->write_baseline = optarg;
			break;
		case OPT_SOURCE_ROOT:
			g->o.source_root = optarg;
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
	if (op->check ? !lsr_gate_format(format, &g->format) :
	    (op->format = find_format(format)) == NULL)
		errx(LSR_EXIT_USAGE, "unknown format '%s' (want text, json, "
		    "collapsed, brief, pprof or html; with --check text, "
		    "json, junit, sarif, lsan or html)", format);
	op->json = op->check ? g->format == LSR_CF_JSON :
	    op->format->render == lsr_out_json;
	if (weight != NULL && !parse_weight(weight, op))
		errx(LSR_EXIT_USAGE, "--weight wants bytes, blocks or window "
		    "(window with --diff), with --format collapsed; not '%s'",
		    weight);
	if ((op->check ? g->format == LSR_CF_HTML : op->format->one_dump) &&
	    argc - optind > 1)
		errx(LSR_EXIT_USAGE, "--format %s reads one dump, not %d",
		    format, argc - optind);
	if ((op->check ? g->format == LSR_CF_HTML : op->format->binary) &&
	    op->output == NULL && isatty(STDOUT_FILENO))
		errx(LSR_EXIT_USAGE, "--format %s is not for a terminal: give "
		    "-o FILE", format);
	if (gate_opt && !op->check)
		errx(LSR_EXIT_USAGE, "the gate's options want --check");
	if (op->check && (op->diff || op->at.set || op->by_thread || top_set))
		errx(LSR_EXIT_USAGE, "--check judges the whole run: not with "
		    "--diff, --snapshot, --by-thread or --top");
	if (op->diff && op->at.set)
		errx(LSR_EXIT_USAGE, "--diff and --snapshot cannot be combined");
	if (op->watch != 0 && (op->check || op->diff || op->at.set ||
	    op->output != NULL || op->format->render != lsr_out_text ||
	    op->by_thread || argc - optind != 1))
		errx(LSR_EXIT_USAGE, "--watch shows one dump's text report: "
		    "not with --check, --diff, --snapshot, --by-thread, -o or "
		    "another format");
	if (op->watch != 0 && !top_set)
		top = 5;
	op->o.top = !top_set && (op->check || op->format->all_sites) ? 0 :
	    (size_t)top;
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
		return;
	}
	if ((*shown)++ > 0 && op->format->render == lsr_out_text)
		putchar('\n');
	op->format->render(stdout, r, &op->o);
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
	lsr_group(&d, k, a, (op->by_thread ? LSR_BY_THREAD : 0) |
	    (op->format->keep_live ? LSR_KEEP_LIVE : 0), &r);
	render(&r, op, shown);
	/* The report before what is said about it on stderr. */
	fflush(stdout);
	status = dump_status(&d);
	lsr_report_fini(&r);
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return status;
}

/* -o: the file standard output goes to, under a temporary name until
 * it is complete. */
static const char *out_path;
static char *out_tmp;

static void
drop_output(void)
{
	if (out_tmp != NULL)
		unlink(out_tmp);
}

/*
 * Send standard output to a temporary file beside path, which
 * finish_output() renames to path.  Refused if path is one of the dumps
 * files[0..n-1] or another dump: nothing the user had is overwritten by
 * mistake.
 */
static bool
same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return stat(path, &b) == 0 && a->st_dev == b.st_dev &&
	    a->st_ino == b.st_ino;
}

static void
open_output(const char *path, char **files, int n, const struct lsr_gate *g)
{
	struct stat out;
	char head[sizeof(LS_DUMP_MAGIC) - 1];
	mode_t mask;
	size_t k;
	int i, fd;

	if (g->write_baseline != NULL && strcmp(g->write_baseline, path) == 0)
		errx(LSR_EXIT_USAGE, "-o %s: that is the baseline to write",
		    path);
	if (stat(path, &out) == 0) {
		for (i = 0; i < n; i++)
			if (same_file(&out, files[i]))
				errx(LSR_EXIT_USAGE, "-o %s: that is a dump "
				    "being read", path);
		for (k = 0; k < g->nsupp; k++)
			if (same_file(&out, g->supp[k]))
				errx(LSR_EXIT_USAGE, "-o %s: that is a "
				    "suppression file being read", path);
		if ((g->baseline && same_file(&out, g->baseline)) ||
		    (g->write_baseline && same_file(&out, g->write_baseline)))
			errx(LSR_EXIT_USAGE, "-o %s: that is a baseline", path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, head, sizeof(head)) ==
		    (ssize_t)sizeof(head) && memcmp(head, LS_DUMP_MAGIC,
		    sizeof(head)) == 0)
			errx(LSR_EXIT_USAGE, "-o %s: that is a dump: not "
			    "replaced", path);
		if (fd >= 0)
			close(fd);
	}
	out_tmp = lsr_xasprintf("%s.XXXXXX", path);
	fd = mkstemp(out_tmp);
	if (fd < 0) {
		free(out_tmp);
		out_tmp = NULL;
		err(LSR_EXIT_USAGE, "-o %s", path);
	}
	atexit(drop_output);
	mask = umask(022);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	if (dup2(fd, STDOUT_FILENO) < 0)
		err(LSR_EXIT_USAGE, "-o %s", path);
	close(fd);
	out_path = path;
}

static void
finish_output(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		errx(LSR_EXIT_USAGE, "write error on %s", out_path ? out_path :
		    "standard output");
	if (out_path == NULL)
		return;
	if (fsync(STDOUT_FILENO) != 0 || rename(out_tmp, out_path) != 0)
		err(LSR_EXIT_USAGE, "-o %s", out_path);
	free(out_tmp);
	out_tmp = NULL;
}

int
main(int argc, char **argv)
{
	struct opts op = { 0 };
	unsigned shown = 0;
	int i, status = 0;

	i = parse_options(argc, argv, &op);
	if (op.output != NULL)
		open_output(op.output, argv + i, argc - i, &op.gate);
	if (op.watch != 0)
		return lsr_watch(argv[i], op.watch, &op.o);
	lsr_progress = true;
	if (op.check) {
		status = lsr_gate_run(&op.gate, argv + i, argc - i);
		finish_output();
		return status;
	}
	if (op.array)
		fputs("[\n", stdout);
	for (; i < argc; i++) {
		int s = report_file(argv[i], &op, &shown);

		if (s > status)
			status = s;
	}
	if (op.array)
		fputs(shown > 0 ? "\n]\n" : "]\n", stdout);
	finish_output();
	return status;
}
