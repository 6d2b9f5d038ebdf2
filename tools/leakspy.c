/* SPDX-License-Identifier: MIT */
/*
 * leakspy: run a command with libleakspy.so preloaded, its settings given
 * as options, which the table of src/settings.c defines, checks and
 * describes in --help.  It sets LEAKSPY_* and LD_PRELOAD (absolute path),
 * runs the command and, when it ends, names the dumps the run wrote;
 * with -q it executes the command in its own place instead, and with
 * --check it checks the dumps (launch-check.c).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "compiler.h"
#include "launch.h"
#include "settings.h"
#include "xalloc.h"

#define HELP_COL	25	/* where an option's help starts */
#define HELP_WIDTH	79

/* The launcher's own options, after the settings' in --help. */
static const struct {
	char opt;
	const char *long_opt;
	const char *help;
} own[] = {
	{ 'q', "quiet", "say nothing: execute the command in leakspy's "
	    "place (same pid), for service managers" },
	{ 'h', "help", "show this help and exit" },
	{ 'V', "version", "show the version and exit" },
};

#define NOPTS	(LS_SET_COUNT + LS_ARRAY_SIZE(own))
#define OPT_WATCH	200	/* --watch: long only, below LSR_GOPT_CODE */

/* --watch: its argument as given, and in seconds. */
static const char *watch;
static double watch_s;
#define GATE_MAX	16	/* room for lsr_gopts[] */

/* The setting whose option is opt, or NULL. */
static const struct ls_setting *
setting_of(int opt)
{
	size_t i;

	for (i = 0; i < LS_SET_COUNT; i++)
		if (ls_settings[i].opt == opt)
			return &ls_settings[i];
	return NULL;
}

/* Between two words that put_words() keeps on one line. */
#define GLUE	'\x1f'

/*
 * Print the words of text, which sep separates, from column *col on; a
 * line is broken before a word that would pass HELP_WIDTH, and goes on
 * at column indent.  GLUE is printed as a space.
 */
static void
put_words(FILE *f, size_t *col, size_t indent, const char *text, char sep)
{
	const char *w = text;

	while (*w != '\0') {
		const char *end = strchr(w, sep);
		size_t n = end != NULL ? (size_t)(end - w) : strlen(w), k;

		if (w != text && *col + 1 + n > HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			*col = indent;
		} else if (w != text) {
			fputc(' ', f);
			(*col)++;
		}
		for (k = 0; k < n; k++)
			fputc(w[k] == GLUE ? ' ' : w[k], f);
		*col += n;
		w += n;
		while (*w == sep)
			w++;
	}
}

/* Options in the order of a synopsis: by letter, a capital first. */
static int
by_letter(const void *a, const void *b)
{
	int x = *(const char *)a, y = *(const char *)b;

	return (tolower(x) * 2 + !!islower(x)) -
	    (tolower(y) * 2 + !!islower(y));
}

/* The second form: "leakspy --check [--gen-suppressions] ...
 * [--baseline file] ... [option ...] [--] command [arg ...]", flags
 * first, then by name. */
static int
by_name(const void *a, const void *b)
{
	const struct lsr_gopt *const *x = a, *const *y = b;

	return strcmp((*x)->long_opt, (*y)->long_opt);
}

static void
gate_usage_line(FILE *f)
{
	const struct lsr_gopt *order[GATE_MAX];
	char line[1024];
	struct ls_fmt w;
	size_t i, col, pass;

	for (i = 0; i < lsr_ngopts && i < GATE_MAX; i++)
		order[i] = &lsr_gopts[i];
	qsort(order + 1, i - 1, sizeof(order[0]), by_name);
	ls_fmt_init(&w, line, sizeof(line));
	ls_fmt_str(&w, "--check");
	for (pass = 0; pass < 2; pass++) {
		for (i = 1; i < lsr_ngopts && i < GATE_MAX; i++) {
			const struct lsr_gopt *o = order[i];

			if ((o->arg == NULL) != (pass == 0))
				continue;
			ls_fmt_str(&w, "\t[--");
			ls_fmt_str(&w, o->long_opt);
			if (o->arg != NULL) {
				ls_fmt_mem(&w, &(char){ GLUE }, 1);
				ls_fmt_str(&w, o->arg);
			}
			ls_fmt_str(&w, "]");
		}
	}
	ls_fmt_str(&w, "\t[option ...]\t[--]\tcommand\t[arg ...]");
	fputs("       leakspy ", f);
	col = strlen("usage: leakspy ");
	put_words(f, &col, col, line, '\t');
	fputc('\n', f);
}

/* "usage: leakspy [-fhqV] [-d depth] ... [--] command [arg ...]", from
 * the table, and the form with --check. */
static void
usage_line(FILE *f)
{
	char flags[NOPTS + 1], args[NOPTS + 1], line[1024];
	size_t nflags = 0, nargs = 0, i, col;
	struct ls_fmt w;

	for (i = 0; i < LS_SET_COUNT; i++) {
		if (ls_settings[i].arg != NULL)
			args[nargs++] = ls_settings[i].opt;
		else
			flags[nflags++] = ls_settings[i].opt;
	}
	for (i = 0; i < LS_ARRAY_SIZE(own); i++)
		flags[nflags++] = own[i].opt;
	qsort(flags, nflags, 1, by_letter);
	qsort(args, nargs, 1, by_letter);
	flags[nflags] = '\0';
	ls_fmt_init(&w, line, sizeof(line));
	ls_fmt_str(&w, "[-");
	ls_fmt_str(&w, flags);
	ls_fmt_str(&w, "]");
	for (i = 0; i < nargs; i++) {
		const struct ls_setting *st = setting_of(args[i]);

		ls_fmt_str(&w, "\t[-");
		ls_fmt_mem(&w, &st->opt, 1);
		ls_fmt_str(&w, " ");
		ls_fmt_str(&w, st->arg);
		ls_fmt_str(&w, "]");
	}
	ls_fmt_str(&w, "\t[--]\tcommand\t[arg ...]");
	fputs("usage: leakspy ", f);
	col = strlen("usage: leakspy ");
	put_words(f, &col, col, line, '\t');
	fputc('\n', f);
	gate_usage_line(f);
	fputs("       leakspy --watch seconds [option ...] [--] command "
	    "[arg ...]\n", f);
	fputs("       leakspy attach [--background] [option ...] pid\n"
	    "       leakspy detach pid\n", f);
}

/* "  -d, --depth DEPTH" ("      --fail-on LIST" without opt) and its
 * help, wrapped; then, on a line of its own, more (or nothing). */
static void
option_line(FILE *f, char opt, const char *long_opt, const char *arg,
    const char *help, const char *more)
{
	size_t col = 0, i;

	if (opt != '\0')
		col += (size_t)fprintf(f, "  -%c, --%s", opt, long_opt);
	else
		col += (size_t)fprintf(f, "      --%s", long_opt);
	if (arg != NULL) {
		fputc(' ', f);
		for (i = 0; arg[i] != '\0'; i++)
			fputc(toupper((unsigned char)arg[i]), f);
		col += 1 + i;
	}
	fprintf(f, "%*s", col < HELP_COL ? (int)(HELP_COL - col) : 1, "");
	col = col < HELP_COL ? HELP_COL : col + 1;
	put_words(f, &col, HELP_COL, help, ' ');
	if (more != NULL) {
		fprintf(f, "\n%*s", HELP_COL, "");
		col = HELP_COL;
		put_words(f, &col, HELP_COL, more, ' ');
	}
	fputc('\n', f);
}

/* A setting's help, then its variable, range and default from the
 * table: "(LEAKSPY_DEPTH; 1 to 248; default 64)". */
static void
setting_line(FILE *f, const struct ls_setting *st)
{
	char text[256];
	struct ls_fmt w;
	struct ls_value def = ls_setting_default(st);
	size_t mark;

	ls_fmt_init(&w, text, sizeof(text));
	ls_fmt_str(&w, "(");
	ls_fmt_str(&w, st->name);
	if (st->arg == NULL) {
		ls_fmt_str(&w, "=1)");
	} else {
		ls_fmt_str(&w, "; ");
		mark = w.len;
		ls_setting_range(st, &w);
		if (w.len != mark)
			ls_fmt_str(&w, "; ");
		ls_fmt_str(&w, "default");
		ls_fmt_mem(&w, &(char){ GLUE }, 1);
		ls_setting_show(st, &def, &w);
		ls_fmt_str(&w, ")");
	}
	option_line(f, st->opt, st->long_opt, st->arg, st->help, text);
}

static void
usage(FILE *f)
{
	size_t i;

	usage_line(f);
	fputs("\n"
	    "Run command with libleakspy.so preloaded; it writes a dump of\n"
	    "its live memory by call site for leakspy-report(1).  When it\n"
	    "ends, leakspy names the dumps of the run on stderr.\n"
	    "\n", f);
	for (i = 0; i < LS_SET_COUNT; i++)
		setting_line(f, &ls_settings[i]);
	for (i = 0; i < LS_ARRAY_SIZE(own); i++)
		option_line(f, own[i].opt, own[i].long_opt, NULL, own[i].help,
		    NULL);
	fputs("\n"
	    "With --check, the leak gate: when the command ends, leakspy "
	    "checks the\n"
	    "dumps of the run (a snapshot a second unless -i is given, programs "
	    "it\nexecutes traced unless LEAKSPY_FOLLOW_EXEC says no) and "
	    "exits 0\n"
	    "if they are clean, the --exitcode on findings, 3 if they cannot "
	    "support\n"
	    "a verdict, or with the command's own status if it failed.\n"
	    "\n", f);
	for (i = 0; i < lsr_ngopts; i++)
		option_line(f, '\0', lsr_gopts[i].long_opt,
		    lsr_gopts[i].arg, lsr_gopts[i].help, NULL);
	fputs("\n", f);
	option_line(f, '\0', "watch", "seconds", "while the command runs, "
	    "show its dump's report on the terminal, redrawn as snapshots "
	    "arrive (looked for every SECONDS, 0.05 to 3600; a snapshot a "
	    "second unless -i is given)", NULL);
	fputs("\n"
	    "leakspy attach loads libleakspy.so into the running process pid "
	    "(ptrace,\n"
	    "then its own dlopen) and tracks what it allocates from then on, "
	    "with the\n"
	    "options above for its settings (-f aside); it stays until Ctrl-C, "
	    "which\n"
	    "detaches, or until the process ends.  leakspy detach pid ends "
	    "the\n"
	    "tracking: the last snapshot, and the process runs on as before.  "
	    "Exit\n"
	    "status: 0, 1 refused (the process untouched), 2 usage, 3 the call "
	    "failed.\n"
	    "\n", f);
	option_line(f, '\0', "background", NULL, "attach and return at "
	    "once; leakspy detach ends the tracking", NULL);
}

/* The shim next to this program (build tree), else the installed one. */
static char *
find_library(void)
{
	static const char *const rel[] = {
		"../preload/libleakspy.so",
	};
	char self[PATH_MAX], cand[PATH_MAX * 2], *slash, *real;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s/%s", self, rel[i]);
			if ((real = realpath(cand, NULL)) != NULL)
				return real;
		}
	}
	if ((real = realpath(LS_LIBDIR "/libleakspy.so", NULL)) != NULL)
		return real;
	errx(LSR_EXIT_USAGE, "cannot find libleakspy.so (looked next to this "
	    "program and in %s)", LS_LIBDIR);
}

static void
set(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		err(LSR_EXIT_USAGE, "setenv %s", name);
}

/* The shim first in LD_PRELOAD, by its absolute path. */
static void
set_preload(void)
{
	const char *old = getenv("LD_PRELOAD");
	char *lib = find_library(), *preload = lib;

	if (old != NULL && *old != '\0' &&
	    asprintf(&preload, "%s:%s", lib, old) < 0)
		err(LSR_EXIT_USAGE, "asprintf");
	set("LD_PRELOAD", preload);
}

/* -q: the command takes leakspy's place, as before there was a child. */
static void __attribute__((noreturn))
exec_in_place(char **cmd)
{
	int e;

	execvp(cmd[0], cmd);
	e = errno;
	warn("%s", cmd[0]);
	exit(e == ENOENT ? 127 : 126);
}

/* The value the shim will use for setting id: the environment's, as
 * the options set it or leakspy found it, else the default.  A
 * template points into the environment. */
struct ls_value
lsr_value_in_env(unsigned id)
{
	const struct ls_setting *st = &ls_settings[id];
	const char *s = getenv(st->name);
	struct ls_parsed p;

	if (s == NULL || *s == '\0')
		return ls_setting_default(st);
	(void)ls_setting_parse(st, s, &p);
	return p.v;
}

/* Run the command as a child, name its dumps, end as it did. */
static void __attribute__((noreturn))
run(char **cmd, const char *old_preload)
{
	pid_t watcher = 0;
	struct ls_value tmpl = lsr_value_in_env(LS_SET_OUTPUT);
	struct ls_value follow = lsr_value_in_env(LS_SET_FOLLOW_EXEC);
	struct lsr_scan *scan;
	pid_t pid;
	int status;

	scan = lsr_dumps_before(tmpl.s);
	pid = lsr_run_start(cmd);
	if (pid < 0) {
		errno = (int)-pid;
		warn("%s", cmd[0]);
		exit(pid == -ENOENT ? 127 : 126);
	}
	if (watch != NULL)
		watcher = lsr_watch_start(scan, pid, watch, old_preload);
	status = lsr_run_wait(pid);
	if (watcher > 0)
		lsr_watch_end(watcher, watch_s);
	lsr_dumps_tell(scan, pid, follow.n != 0);
	lsr_run_exit(status);
}

#define OPT_BACKGROUND	201

/* The LEAKSPY_* lines the attached library reads instead of the
 * environment: those set (by options or in leakspy's environment), and
 * the dump's path made absolute against this directory. */
static char *
attach_settings(void)
{
	char *out = lsr_xstrdup(""), *next, cwd[PATH_MAX];
	size_t i;

	for (i = 0; i < LS_SET_COUNT; i++) {
		const struct ls_setting *st = &ls_settings[i];
		const char *v = getenv(st->name);

		if (i == LS_SET_OUTPUT) {
			struct ls_value def = ls_setting_default(st);

			if (v == NULL || *v == '\0')
				v = def.s;
			if (v[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL)
				next = lsr_xasprintf("%s%s=%s/%s\n", out,
				    st->name, cwd, v);
			else
				next = lsr_xasprintf("%s%s=%s\n", out,
				    st->name, v);
		} else if (v != NULL && *v != '\0' &&
		    i != LS_SET_FOLLOW_EXEC) {
			next = lsr_xasprintf("%s%s=%s\n", out, st->name, v);
		} else {
			continue;
		}
		free(out);
		out = next;
	}
	return out;
}

static void take(const struct ls_setting *st, const char *arg);
static char *find_library(void);

/* leakspy attach [--background] [option ...] pid; leakspy detach pid. */
static int
attach_main(int argc, char **argv, bool detach)
{
	struct option longopts[LS_SET_COUNT + 3];
	char optstring[2 * LS_SET_COUNT + 4], *o = optstring, *end;
	const struct ls_setting *st;
	bool wait = true;
	size_t i, k = 0;
	long pid;
	int c;

	*o++ = '+';
	for (i = 0; i < LS_SET_COUNT; i++) {
		st = &ls_settings[i];
		*o++ = st->opt;
		if (st->arg != NULL)
			*o++ = ':';
		longopts[k++] = (struct option){ st->long_opt, st->arg !=
		    NULL ? required_argument : no_argument, NULL, st->opt };
	}
	*o++ = 'h';
	*o = '\0';
	longopts[k++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[k++] = (struct option){ "background", no_argument, NULL,
	    OPT_BACKGROUND };
	longopts[k] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) !=
	    -1) {
		if ((st = setting_of(c)) != NULL && !detach &&
		    st->opt != ls_settings[LS_SET_FOLLOW_EXEC].opt) {
			take(st, optarg);
		} else if (c == 'h') {
			usage(stdout);
			lsr_exit_printed();
		} else if (c == OPT_BACKGROUND && !detach) {
			wait = false;
		} else {
			usage(stderr);
			return LSR_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return LSR_EXIT_USAGE;
	}
	errno = 0;
	pid = strtol(argv[optind], &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 0 || pid > INT32_MAX)
		errx(LSR_EXIT_USAGE, "%s %s: not a process id",
		    detach ? "detach" : "attach", argv[optind]);
	if (detach)
		return lsa_detach((pid_t)pid);
	return lsa_attach((pid_t)pid, find_library(), attach_settings(),
	    wait);
}

/* An option that sets st: checked as the shim will check it. */
static void
take(const struct ls_setting *st, const char *arg)
{
	struct ls_parsed p;

	if (st->arg == NULL) {
		set(st->name, "1");
		return;
	}
	if (!ls_setting_parse(st, arg, &p))
		errx(LSR_EXIT_USAGE, "--%s=%s: %s", st->long_opt, arg, p.reason);
	set(st->name, arg);
}

/* getopt_long's tables, from the settings' and the launcher's own. */
static void
options(char *optstring, struct option *longopts)
{
	size_t i, k = 0;

	/* "+": stop at the first operand, so the command's own options are
	 * left alone even without "--". */
	*optstring++ = '+';
	for (i = 0; i < LS_SET_COUNT; i++, k++) {
		const struct ls_setting *st = &ls_settings[i];

		*optstring++ = st->opt;
		if (st->arg != NULL)
			*optstring++ = ':';
		longopts[k] = (struct option){ st->long_opt, st->arg != NULL ?
		    required_argument : no_argument, NULL, st->opt };
	}
	for (i = 0; i < LS_ARRAY_SIZE(own); i++, k++) {
		*optstring++ = own[i].opt;
		longopts[k] = (struct option){ own[i].long_opt, no_argument,
		    NULL, own[i].opt };
	}
	for (i = 0; i < lsr_ngopts && i < GATE_MAX; i++, k++)
		longopts[k] = (struct option){ lsr_gopts[i].long_opt,
		    lsr_gopts[i].arg != NULL ? required_argument :
		    no_argument, NULL, LSR_GOPT_CODE + (int)i };
	*optstring = '\0';
	longopts[k++] = (struct option){ "watch", required_argument, NULL,
	    OPT_WATCH };
	longopts[k] = (struct option){ NULL, 0, NULL, 0 };
}

int
main(int argc, char **argv)
{
	struct option longopts[NOPTS + GATE_MAX + 2];
	char optstring[2 * NOPTS + 2];
	const struct ls_setting *st;
	const char *old_preload;
	bool quiet = false;
	int c;

	if (argc > 1 && (strcmp(argv[1], "attach") == 0 ||
	    strcmp(argv[1], "detach") == 0))
		return attach_main(argc - 1, argv + 1, argv[1][0] == 'd');
	options(optstring, longopts);
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) !=
	    -1) {
		if ((st = setting_of(c)) != NULL) {
			take(st, optarg);
			continue;
		}
		if (c >= LSR_GOPT_CODE &&
		    (size_t)(c - LSR_GOPT_CODE) < lsr_ngopts) {
			lsr_gopt_take((size_t)(c - LSR_GOPT_CODE), optarg);
			continue;
		}
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case OPT_WATCH:
			watch_s = lsr_watch_seconds(optarg);
			watch = optarg;
			break;
		case 'h':
			usage(stdout);
			lsr_exit_printed();
		case 'V':
			printf("leakspy %s\n", LS_VERSION);
			lsr_exit_printed();
		default:
			usage(stderr);
			return LSR_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return LSR_EXIT_USAGE;
	}
	if (watch != NULL && (quiet || lsr_gopt_check()))
		errx(LSR_EXIT_USAGE, "--watch shows the command's report while "
		    "it runs: not with -q or --check");
	if (watch != NULL && getenv(ls_settings[LS_SET_INTERVAL].name) ==
	    NULL)
		setenv(ls_settings[LS_SET_INTERVAL].name, "1", 1);
	if (lsr_gopt_check() && quiet)
		errx(LSR_EXIT_USAGE, "--check waits for the command: it cannot "
		    "go with -q");
	if ((old_preload = getenv("LD_PRELOAD")) != NULL &&
	    (old_preload = strdup(old_preload)) == NULL)
		err(LSR_EXIT_USAGE, "strdup");
	set_preload();
	if (quiet)
		exec_in_place(argv + optind);
	if (lsr_gopt_check())
		lsr_check_command(argv + optind, old_preload);
	run(argv + optind, old_preload);
}
