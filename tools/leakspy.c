/* SPDX-License-Identifier: MIT */
/*
 * leakspy: run a command with libleakspy.so preloaded, its settings given
 * as options.  It sets LEAKSPY_* and LD_PRELOAD (with an absolute path),
 * runs the command and, when it ends, names the dumps the run wrote;
 * with -q it executes the command in its own place instead.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launch.h"
#include "settings.h"

#define EXIT_USAGE	2

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: leakspy [-fhqV] [-d depth] [-i seconds] [-o template] "
	    "[-S bytes]\n"
	    "               [-s signal] [-u mode] [--] command [arg ...]\n"
	    "\n"
	    "Run command with libleakspy.so preloaded; it writes a dump of\n"
	    "its live memory by call site for leakspy-report(1).  When it\n"
	    "ends, leakspy names the dumps of the run on stderr.\n"
	    "\n"
	    "  -o, --output TEMPLATE  dump path; %%p is the pid, %%e the "
	    "program name\n"
	    "                         (default leakspy.%%e.%%p.lsd)\n"
	    "  -i, --interval SECS    snapshot every SECS seconds; 0 only at "
	    "exit\n"
	    "                         (default 10)\n"
	    "  -s, --signal SIGNAL    also snapshot when SIGNAL arrives "
	    "(e.g. USR2;\n"
	    "                         not TERM, INT, HUP, CHLD, ...)\n"
	    "  -d, --depth N          keep at most N frames a stack "
	    "(default 64)\n"
	    "  -S, --sample BYTES     record one allocation per BYTES on "
	    "average (1M,\n"
	    "                         suggested for production; 512k, 2M, "
	    "...; 0: every\n"
	    "                         one, the default); figures become "
	    "estimates\n"
	    "  -f, --follow-exec      programs the command executes are "
	    "traced too\n"
	    "  -q, --quiet            say nothing: execute the command in "
	    "leakspy's\n"
	    "                         place (same pid), for service "
	    "managers\n"
	    "  -u, --unwind MODE      fast (the default), libunwind, or "
	    "check (compare\n"
	    "                         both on every stack, abort on a "
	    "difference)\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n");
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
	errx(EXIT_USAGE, "cannot find libleakspy.so (looked next to this "
	    "program and in %s)", LS_LIBDIR);
}

static void
set(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		err(EXIT_USAGE, "setenv %s", name);
}

/* The shim first in LD_PRELOAD, by its absolute path. */
static void
set_preload(void)
{
	const char *old = getenv("LD_PRELOAD");
	char *lib = find_library(), *preload = lib;

	if (old != NULL && *old != '\0' &&
	    asprintf(&preload, "%s:%s", lib, old) < 0)
		err(EXIT_USAGE, "asprintf");
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

/* Run the command as a child, name its dumps, end as it did. */
static void __attribute__((noreturn))
run(char **cmd)
{
	const char *tmpl = getenv("LEAKSPY_OUTPUT");
	const char *follow = getenv("LEAKSPY_FOLLOW_EXEC");
	struct lsr_scan *scan;
	pid_t pid;
	int status;

	if (tmpl == NULL || *tmpl == '\0')
		tmpl = "leakspy.%e.%p.lsd";
	scan = lsr_dumps_before(tmpl);
	pid = lsr_run_start(cmd);
	if (pid < 0) {
		errno = (int)-pid;
		warn("%s", cmd[0]);
		exit(pid == -ENOENT ? 127 : 126);
	}
	status = lsr_run_wait(pid);
	lsr_dumps_tell(scan, pid, follow != NULL && strcmp(follow, "1") == 0);
	lsr_run_exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "signal", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },
		{ "sample", required_argument, NULL, 'S' },
		{ "follow-exec", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "unwind", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	bool quiet = false;
	unsigned ms;
	unsigned long v;
	int c, signo;

	/* "+": stop at the first operand, so the command's own options are
	 * left alone even without "--". */
	while ((c = getopt_long(argc, argv, "+o:i:s:d:S:fqu:hV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'o':
			if ((why = ls_check_template(optarg)) != NULL)
				errx(EXIT_USAGE, "--output '%s': %s", optarg,
				    why);
			set("LEAKSPY_OUTPUT", optarg);
			break;
		case 'i':
			if (!ls_parse_millis(optarg, &ms) ||
			    (ms != 0 && ms < 10))
				errx(EXIT_USAGE, "--interval wants seconds "
				    "(0, or at least 0.01), not '%s'", optarg);
			set("LEAKSPY_INTERVAL", optarg);
			break;
		case 's':
			if ((signo = ls_parse_signal(optarg)) < 0)
				errx(EXIT_USAGE, "--signal: unknown signal "
				    "'%s'", optarg);
			if ((why = ls_signal_refusal(signo)) != NULL)
				errx(EXIT_USAGE, "--signal %s cannot be the "
				    "snapshot signal: %s", optarg, why);
			set("LEAKSPY_SIGNAL", optarg);
			break;
		case 'd':
			if (!ls_parse_uint(optarg, 248, &v) || v == 0)
				errx(EXIT_USAGE, "--depth wants 1 to 248, not "
				    "'%s'", optarg);
			set("LEAKSPY_DEPTH", optarg);
			break;
		case 'S': {
			unsigned long long bytes;

			if (!ls_parse_bytes(optarg, &bytes))
				errx(EXIT_USAGE, "--sample wants bytes (such "
				    "as 524288 or 512k), not '%s'", optarg);
			set("LEAKSPY_SAMPLE", optarg);
			break;
		}
		case 'f':
			set("LEAKSPY_FOLLOW_EXEC", "1");
			break;
		case 'q':
			quiet = true;
			break;
		case 'u':
			if (strcmp(optarg, "fast") != 0 &&
			    strcmp(optarg, "libunwind") != 0 &&
			    strcmp(optarg, "check") != 0)
				errx(EXIT_USAGE, "--unwind wants fast, "
				    "libunwind or check, not '%s'", optarg);
			set("LEAKSPY_UNWIND", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("leakspy %s\n", LS_VERSION);
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
	set_preload();
	if (quiet)
		exec_in_place(argv + optind);
	run(argv + optind);
}
