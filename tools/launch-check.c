/* SPDX-License-Identifier: MIT */
/*
 * leakspy --check: the leak gate in one command for a test suite.  The
 * command runs as the launcher runs it, with settings a verdict needs
 * (a snapshot a second, dumps in a private directory unless told where);
 * then leakspy-report --check judges the dumps of the run, and the
 * launcher ends with the command's status if it failed, else the check's.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "launch.h"
#include "settings.h"

/* Exit status of leakspy-report when it runs out of memory. */
#define REPORT_EXIT_NOMEM	4

/* In the order of --help; the report's own options are passed on. */
enum {
	G_CHECK,
	G_FAIL_ON,
	G_MAX_GROWTH,
	G_SUPPRESSIONS,
	G_NO_BUILTIN,
	G_GEN_SUPP,
	G_BASELINE,
	G_WRITE_BASELINE,
	G_FORMAT,
	G_SOURCE_ROOT,
	G_OUTPUT,
	G_EXITCODE,
	G_COUNT
};

const struct lsr_gopt lsr_gopts[G_COUNT] = {
	[G_CHECK] = { "check", NULL, "when the command ends, check the "
	    "dumps of the run for leaks, threads left running and growth "
	    "(leakspy-report --check) and exit with the verdict; the options "
	    "below go with it" },
	[G_FAIL_ON] = { "fail-on", "list", "what fails the check, of "
	    "definite, indirect, possible, thread and growth, comma-separated "
	    "(default definite,indirect,thread,growth)" },
	[G_MAX_GROWTH] = { "max-growth", "limit", "growth passes up to LIMIT, "
	    "a rate (1MiB/h, 10KiB/s) or a size (5MiB)" },
	[G_SUPPRESSIONS] = { "suppressions", "file", "suppress the findings "
	    "that the rules in FILE match; may be repeated" },
	[G_NO_BUILTIN] = { "no-builtin-suppressions", NULL, "without the "
	    "built-in rules for the C library's own memory" },
	[G_GEN_SUPP] = { "gen-suppressions", NULL, "print a rule that "
	    "suppresses each finding" },
	[G_BASELINE] = { "baseline", "file", "findings that FILE, a baseline, "
	    "holds within their budgets pass" },
	[G_WRITE_BASELINE] = { "write-baseline", "file", "write the findings "
	    "of the run to FILE as a baseline" },
	[G_FORMAT] = { "format", "format", "the check's report: text "
	    "(default), json, junit, sarif or lsan" },
	[G_SOURCE_ROOT] = { "source-root", "dir", "SARIF: source paths "
	    "relative to DIR" },
	[G_OUTPUT] = { "check-output", "file", "write the check's report to "
	    "FILE, %p being the command's pid, not to standard error" },
	[G_EXITCODE] = { "exitcode", "n", "exit N, 0 to 255, when the check "
	    "finds what fails it (default 1)" },
};

const size_t lsr_ngopts = G_COUNT;

static const char *const formats[] = { "text", "json", "junit", "sarif",
	"lsan", NULL };

/* What the options asked for; written by lsr_gopt_take() only. */
static struct {
	bool on;
	const char *given;		/* the first gate option, for errors */
	char **args;			/* passed on to leakspy-report */
	size_t nargs;
	const char *format;
	const char *output;		/* --check-output's template */
	int exitcode;
} g = { .exitcode = LSR_EXIT_FINDINGS };

static void
add_arg(const char *s)
{
	char **p = realloc(g.args, (g.nargs + 2) * sizeof(*p));

	if (p == NULL || (p[g.nargs] = strdup(s)) == NULL)
		errx(LSR_EXIT_USAGE, "out of memory");
	g.args = p;
	g.args[++g.nargs] = NULL;
}

/* Why template t of --check-output is refused, or NULL: only %p and %%
 * are escapes, and the file cannot be standard error. */
static const char *
output_refusal(const char *t)
{
	if (*t == '\0')
		return "the file name is empty";
	for (; *t != '\0'; t++) {
		if (*t != '%')
			continue;
		if (t[1] == 'p' || t[1] == '%')
			t++;
		else
			return t[1] == '\0' ? "a % at the end (write %% for a "
			    "percent sign)" : "an unknown % escape (known: %p, "
			    "%%)";
	}
	return NULL;
}

static void
take_exitcode(const char *arg)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 0 || n > 255)
		errx(LSR_EXIT_USAGE, "--exitcode=%s: want 0 to 255", arg);
	g.exitcode = (int)n;
}

static void
take_format(const char *arg)
{
	size_t i;

	for (i = 0; formats[i] != NULL; i++)
		if (strcmp(arg, formats[i]) == 0)
			break;
	if (formats[i] == NULL)
		errx(LSR_EXIT_USAGE, "--format=%s: want text, json, junit, "
		    "sarif or lsan", arg);
	g.format = formats[i];
}

void
lsr_gopt_take(size_t i, const char *arg)
{
	const char *why;
	char *opt;

	if (i == G_CHECK) {
		g.on = true;
		return;
	}
	if (g.given == NULL)
		g.given = lsr_gopts[i].long_opt;
	switch (i) {
	case G_OUTPUT:
		if ((why = output_refusal(arg)) != NULL)
			errx(LSR_EXIT_USAGE, "--check-output=%s: %s", arg, why);
		g.output = arg;
		return;
	case G_EXITCODE:
		take_exitcode(arg);
		return;
	case G_FORMAT:
		take_format(arg);
		break;
	}
	/* The others are leakspy-report's, which checks them. */
	if (asprintf(&opt, "--%s", lsr_gopts[i].long_opt) < 0)
		errx(LSR_EXIT_USAGE, "out of memory");
	add_arg(opt);
	free(opt);
	if (arg != NULL)
		add_arg(arg);
}

bool
lsr_gopt_check(void)
{
	if (!g.on && g.given != NULL)
		errx(LSR_EXIT_USAGE, "--%s goes with --check", g.given);
	return g.on;
}

static bool
unset(const char *name)
{
	const char *s = getenv(name);

	return s == NULL || *s == '\0';
}

static void
set(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		err(LSR_EXIT_USAGE, "setenv %s", name);
}

/*
 * The settings a verdict needs, unless the user chose: a snapshot a
 * second (growth needs four), programs executed traced, and the dumps
 * in a private directory,
 * whose path is returned (NULL when the user named the dumps).
 */
static char *
prepare(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir, *real, *tmpl;

	if (unset(ls_settings[LS_SET_INTERVAL].name))
		set(ls_settings[LS_SET_INTERVAL].name, "1");
	/* A test is often a script that executes the program: traced too,
	 * or the check would judge the script alone. */
	if (unset(ls_settings[LS_SET_FOLLOW_EXEC].name))
		set(ls_settings[LS_SET_FOLLOW_EXEC].name, "1");
	if (lsr_value_in_env(LS_SET_SAMPLE).n != 0)
		warnx("--check: sampled (%s=%s): the heap cannot be scanned, "
		    "so the check cannot judge what was lost at exit",
		    ls_settings[LS_SET_SAMPLE].name,
		    getenv(ls_settings[LS_SET_SAMPLE].name));
	if (!unset(ls_settings[LS_SET_OUTPUT].name))
		return NULL;
	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	if (asprintf(&dir, "%s/leakspy-check.XXXXXX", tmp) < 0)
		errx(LSR_EXIT_USAGE, "out of memory");
	if (mkdtemp(dir) == NULL)
		err(LSR_EXIT_NO_VERDICT, "--check: mkdtemp %s", dir);
	if ((real = realpath(dir, NULL)) == NULL)
		err(LSR_EXIT_NO_VERDICT, "--check: %s", dir);
	free(dir);
	if (asprintf(&tmpl, "%s/leakspy.%%e.%%p.lsd", real) < 0)
		errx(LSR_EXIT_USAGE, "out of memory");
	set(ls_settings[LS_SET_OUTPUT].name, tmpl);
	free(tmpl);
	return real;
}

/* Remove the private directory and the dumps in it. */
static void
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	if (rmdir(dir) != 0)
		warn("--check: cannot remove %s", dir);
}

char *
lsr_report_path(void)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (asprintf(&path, "%s/leakspy-report", self) >= 0) {
				if (access(path, X_OK) == 0)
					return path;
				free(path);
			}
		}
	}
	if ((path = strdup("leakspy-report")) == NULL)
		errx(LSR_EXIT_NO_VERDICT, "out of memory");
	return path;
}

/* t with %p as pid and %% as %. */
static char *
expand(const char *t, pid_t pid)
{
	char *out = malloc(strlen(t) * 8 + 1), *w = out;

	if (out == NULL)
		errx(LSR_EXIT_NO_VERDICT, "out of memory");
	for (; *t != '\0'; t++) {
		if (t[0] == '%' && t[1] == 'p') {
			w += sprintf(w, "%d", (int)pid);
			t++;
		} else {
			if (t[0] == '%' && t[1] == '%')
				t++;
			*w++ = *t;
		}
	}
	*w = '\0';
	return out;
}

/*
 * LeakSanitizer's log_path in LSAN_OPTIONS, where CTest's memcheck (and
 * anyone used to LSan) looks for its report, as PATH.PID: a copy of the
 * last one's value, unquoted, or NULL (also for stderr).  Options are
 * separated by spaces, commas or colons; a value may be quoted with ' or
 * ", as CTest quotes it.
 */
static char *
lsan_log_path(void)
{
	static const char sep[] = " ,:\t\n\r";
	const char *s = getenv("LSAN_OPTIONS"), *name, *v, *end;
	char *found = NULL;
	size_t namelen, n;

	while (s != NULL) {
		s += strspn(s, sep);
		if (*s == '\0')
			break;
		name = s;
		for (namelen = 0; s[namelen] != '=' && s[namelen] != '\0' &&
		    strchr(sep, s[namelen]) == NULL; namelen++)
			continue;
		s += namelen;
		if (*s != '=')
			continue;
		v = ++s;
		if (*v == '\'' || *v == '"') {
			if ((end = strchr(v + 1, *v)) == NULL)
				break;
			v++;
			n = (size_t)(end - v);
			s = end + 1;
		} else {
			n = strcspn(v, sep);
			s = v + n;
		}
		if (namelen == 8 && strncmp(name, "log_path", 8) == 0) {
			free(found);
			found = strndup(v, n);
		}
	}
	if (found != NULL && (*found == '\0' || strcmp(found, "stderr") == 0 ||
	    strcmp(found, "stdout") == 0)) {
		free(found);
		found = NULL;
	}
	return found;
}

/* Where the report goes: --check-output, else LSAN_OPTIONS's log_path
 * with --format lsan (as PATH.PID, as LeakSanitizer writes it), else
 * NULL, standard error. */
static char *
report_file(pid_t pid)
{
	char *lsan, *path;

	if (g.output != NULL)
		return expand(g.output, pid);
	if (g.format == NULL || strcmp(g.format, "lsan") != 0 ||
	    (lsan = lsan_log_path()) == NULL)
		return NULL;
	if (asprintf(&path, "%s.%d", lsan, (int)pid) < 0)
		errx(LSR_EXIT_NO_VERDICT, "out of memory");
	free(lsan);
	return path;
}

/* LD_PRELOAD as leakspy found it: leakspy-report is not traced. */
static const char *old_preload;

/*
 * Run leakspy-report with argv, untraced, its standard output on
 * descriptor out (-1: leakspy's own).  Returns its exit status, or -1
 * when it could not run or died.
 */
static int
spawn_report(char **argv, int out)
{
	const char *pre = getenv("LD_PRELOAD");
	char *traced = pre != NULL ? strdup(pre) : NULL;
	bool had_stdout = fcntl(1, F_GETFD) != -1;
	int saved = -1, status;
	pid_t rp;

	if (old_preload != NULL)
		set("LD_PRELOAD", old_preload);
	else
		unsetenv("LD_PRELOAD");
	if (out >= 0) {
		if (had_stdout)
			saved = fcntl(1, F_DUPFD_CLOEXEC, 3);
		dup2(out, 1);
	}
	rp = lsr_run_start(argv);
	if (out >= 0) {
		if (saved >= 0) {
			dup2(saved, 1);
			close(saved);
		} else {
			close(1);
		}
	}
	if (traced != NULL)
		set("LD_PRELOAD", traced);
	free(traced);
	if (rp < 0) {
		errno = (int)-rp;
		warn("--check: %s", argv[0]);
		return -1;
	}
	status = lsr_run_wait(rp);
	if (WIFSIGNALED(status))
		warnx("--check: %s died of signal %d", argv[0],
		    WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* leakspy-report --check and the gate's options, with room for more
 * arguments past them. */
static char **
report_argv(size_t more)
{
	char **argv = calloc(g.nargs + more + 3, sizeof(*argv));
	size_t i;

	if (argv == NULL)
		errx(LSR_EXIT_NO_VERDICT, "out of memory");
	argv[0] = lsr_report_path();
	argv[1] = "--check";
	for (i = 0; i < g.nargs; i++)
		argv[2 + i] = g.args[i];
	return argv;
}

/*
 * Before the command runs, the options leakspy-report checks: it
 * parses them all before --help, which then makes it exit 0.  And the
 * files it will read must be there.  Exits LSR_EXIT_USAGE if not.
 */
static void
preflight(void)
{
	char **argv = report_argv(1);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), rc;
	size_t i;

	for (i = 2; argv[i] != NULL; i++) {
		if ((strcmp(argv[i], "--suppressions") == 0 ||
		    strcmp(argv[i], "--baseline") == 0) &&
		    access(argv[i + 1], R_OK) != 0)
			err(LSR_EXIT_USAGE, "%s=%s", argv[i], argv[i + 1]);
	}
	argv[i] = "--help";
	rc = spawn_report(argv, null);
	if (null >= 0)
		close(null);
	if (rc != 0)
		exit(LSR_EXIT_USAGE);
	free(argv[0]);
	free(argv);
}

/* Run leakspy-report --check on the n dumps of s, its report on
 * standard error unless it goes to a file.  Returns its exit status,
 * or -1. */
static int
run_report(const struct lsr_scan *s, size_t n, pid_t pid)
{
	char **argv = report_argv(n + 3), *out = report_file(pid);
	size_t k = 2 + g.nargs, i;
	int status;

	if (out != NULL) {
		argv[k++] = "-o";
		argv[k++] = out;
	}
	argv[k++] = "--";
	for (i = 0; i < n; i++)
		argv[k++] = (char *)lsr_dumps_path(s, i);
	/* Standard output stays the command's. */
	status = spawn_report(argv, out == NULL ? 2 : -1);
	free(out);
	free(argv[0]);
	free(argv);
	return status;
}

/* The launcher's status for the report's. */
static int
verdict(int report)
{
	switch (report) {
	case 0:
		return 0;
	case LSR_EXIT_FINDINGS:
		return g.exitcode;
	case LSR_EXIT_USAGE:
	case LSR_EXIT_NO_VERDICT:
	case REPORT_EXIT_NOMEM:
		return report;
	default:
		return LSR_EXIT_NO_VERDICT;
	}
}

/* Name the dumps, or remove them: those in the private directory dir
 * are kept (and the directory named) only if keep. */
static void
end(struct lsr_scan *s, size_t n, pid_t pid, char *dir, bool keep)
{
	bool follow = lsr_value_in_env(LS_SET_FOLLOW_EXEC).n != 0;

	if (n == 0) {
		lsr_dumps_free(s);
		if (dir != NULL)
			remove_dir(dir);
	} else if (dir == NULL) {
		lsr_dumps_tell(s, pid, follow);
	} else {
		lsr_dumps_warn(s, follow);
		lsr_dumps_free(s);
		if (keep)
			fprintf(stderr, "leakspy: the dumps are kept in %s\n",
			    dir);
		else
			remove_dir(dir);
	}
	free(dir);
}

void
lsr_check_command(char **cmd, const char *preload)
{
	char *dir;
	struct lsr_scan *s;
	bool failed;
	pid_t pid;
	size_t n;
	int status, report;

	old_preload = preload;
	preflight();
	dir = prepare();
	s = lsr_dumps_before(lsr_value_in_env(LS_SET_OUTPUT).s);
	pid = lsr_run_start(cmd);
	if (pid < 0) {
		errno = (int)-pid;
		warn("%s", cmd[0]);
		end(s, 0, pid, dir, false);
		exit(pid == -ENOENT ? 127 : 126);
	}
	status = lsr_run_wait(pid);
	n = lsr_dumps_find(s, pid);
	/* Killed: its last snapshot may be missing or partial, and its
	 * fate is what its parent must see. */
	if (!WIFEXITED(status)) {
		end(s, n, pid, dir, true);
		lsr_run_exit(status);
	}
	if (n == 0) {
		warnx("--check: no dump of this run matches %s: nothing to "
		    "check", lsr_value_in_env(LS_SET_OUTPUT).s);
		report = LSR_EXIT_NO_VERDICT;
	} else {
		report = run_report(s, n, pid);
	}
	/* A command that failed keeps its status; the report is still
	 * there to read. */
	failed = WEXITSTATUS(status) != 0;
	end(s, n, pid, dir, failed || report != 0);
	if (failed)
		lsr_run_exit(status);
	exit(verdict(report));
}
