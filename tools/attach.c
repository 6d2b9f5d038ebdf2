/* SPDX-License-Identifier: MIT */
/*
 * leakspy attach PID and leakspy detach PID.  Attach: the refusals first,
 * each with nothing done to the process (another user's without
 * CAP_SYS_PTRACE, Yama, a tracer already there, a static executable, no
 * C library, leakspy preloaded); then one thread stopped at a calm
 * moment (rcall.c), its own dlopen() called on libleakspy.so, then the
 * library's leakspy_attach() with the settings, and the thread let go.
 * Detach calls leakspy_detach() the same way.  Definitions: attach.h.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "rcall.h"

#define MAX_BAD		32	/* code ranges a thread must not be in */
#define STOP_TRIES	300
#define DLOPEN_MS	30000
#define ATTACH_MS	60000
#define DETACH_MS	60000	/* the last snapshot, its scan included */
#define BUSY_TRIES	50	/* stops that found the thread in leakspy */

static int
say(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("leakspy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/* The refusals that need nothing but /proc. */
static int
check_target(pid_t pid, struct lsa_status *st)
{
	int yama, kind;

	if (pid == getpid())
		return say(LSA_EXIT_REFUSED, "process %d is leakspy itself",
		    (int)pid);
	if (lsa_status(pid, st) != 0)
		return say(LSA_EXIT_REFUSED, "no process %d", (int)pid);
	if (st->tracer != 0) {
		struct lsa_status t;

		if (lsa_status(st->tracer, &t) != 0)
			t.name[0] = '\0';
		return say(LSA_EXIT_REFUSED, "process %d (%s) is traced "
		    "already, by process %d (%s): a process has one tracer; "
		    "end or detach that one first", (int)pid, st->name,
		    (int)st->tracer, t.name[0] ? t.name : "?");
	}
	if (st->state == 'T' || st->state == 't')
		return say(LSA_EXIT_REFUSED, "process %d (%s) is stopped: "
		    "continue it first (kill -CONT %d)", (int)pid, st->name,
		    (int)pid);
	if (st->segv_ignored)
		return say(LSA_EXIT_REFUSED, "process %d (%s) ignores "
		    "SIGSEGV, which the remote calls' return raises: the "
		    "kernel would reset it to its default", (int)pid,
		    st->name);
	yama = lsa_yama();
	if (yama >= 3)
		return say(LSA_EXIT_REFUSED, "Yama's ptrace_scope is %d "
		    "(kernel.yama.ptrace_scope): no process may trace "
		    "another until the next boot", yama);
	if (yama == 2 && !st->cap_ptrace)
		return say(LSA_EXIT_REFUSED, "Yama's ptrace_scope is 2 "
		    "(kernel.yama.ptrace_scope): only a process with "
		    "CAP_SYS_PTRACE may trace; run leakspy as root");
	if ((st->euid != geteuid() || st->ruid != getuid()) &&
	    !st->cap_ptrace)
		return say(LSA_EXIT_REFUSED, "process %d (%s) runs as user "
		    "%u and leakspy as user %u: attaching needs the same user "
		    "or CAP_SYS_PTRACE (root)", (int)pid, st->name, st->euid,
		    (unsigned)geteuid());
	kind = lsa_exe_kind(pid);
	if (kind < 0)
		return say(LSA_EXIT_REFUSED, "cannot read the executable of "
		    "process %d: %s", (int)pid, strerror(-kind));
	if (kind == LSA_EXE_STATIC)
		return say(LSA_EXIT_REFUSED, "process %d (%s) is statically "
		    "linked: it has no dynamic loader to load leakspy into it",
		    (int)pid, st->name);
	if (kind == LSA_EXE_FOREIGN)
		return say(LSA_EXIT_REFUSED, "process %d (%s) is not an x86-64 "
		    "ELF program", (int)pid, st->name);
	return LSA_EXIT_OK;
}

/* Where a stopped thread must not be: the text of the C library, the
 * loader, an allocator of its own, leakspy and libunwind, where it may
 * hold their locks. */
struct calm_arg {
	uint64_t r[2 * MAX_BAD];
	size_t n;
};

static void
bad_ranges(const struct lsa_map *m, size_t n, struct calm_arg *c)
{
	size_t i, j;

	c->n = 0;
	for (i = 0; i < n && c->n < MAX_BAD; i++) {
		const char *b = strrchr(m[i].path, '/');
		bool dup = false;

		if (!m[i].exec || b == NULL)
			continue;
		b++;
		if (strncmp(b, "libc.so", 7) != 0 && strncmp(b, "libc-", 5) !=
		    0 && strncmp(b, "ld-linux", 8) != 0 &&
		    strstr(b, "malloc") == NULL &&
		    strncmp(b, "libleakspy", 10) != 0 &&
		    strncmp(b, "libunwind", 9) != 0)
			continue;
		for (j = 0; j < c->n && !dup; j++)
			dup = c->r[2 * j] == m[i].start;
		if (!dup) {
			c->r[2 * c->n] = m[i].start;
			c->r[2 * c->n + 1] = m[i].end;
			c->n++;
		}
	}
}

/* A moment to make calls at: blocked in a system call that holds no
 * lock (or waiting for one), or running code of the program's own. */
static bool
calm(const struct user_regs_struct *r, void *arg)
{
	const struct calm_arg *c = arg;
	size_t i;

	if ((int64_t)r->orig_rax >= 0)
		return lsa_calm_syscall((long)r->orig_rax) ||
		    r->orig_rax == SYS_futex;
	for (i = 0; i < c->n; i++)
		if (r->rip >= c->r[2 * i] && r->rip < c->r[2 * i + 1])
			return false;
	return true;
}

/* A string of the target's, up to len - 1 bytes. */
static void
read_string(struct rcall *rc, uint64_t at, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (rc_read(rc, at + i, buf + i, 1) != 0 || buf[i] == '\0')
			break;
	buf[i] = '\0';
}

static int
stop_failed(pid_t pid, const struct rcall *rc)
{
	if (strstr(rc->why, "not permitted") != NULL && lsa_yama() == 1)
		return say(LSA_EXIT_REFUSED, "process %d: %s (Yama's "
		    "ptrace_scope is 1: only a process's ancestors, or a "
		    "process with CAP_SYS_PTRACE, may trace it; run leakspy "
		    "as root)", (int)pid, rc->why);
	return say(LSA_EXIT_REFUSED, "process %d: %s", (int)pid, rc->why);
}

/* Stop a calm thread of pid and note its errno. */
static int
stop(struct rcall *rc, pid_t pid, const struct lsa_map *m, size_t n)
{
	const struct lsa_map *libc = lsa_find(m, n, "libc.so");
	static struct calm_arg c;
	uint64_t errno_loc;

	bad_ranges(m, n, &c);
	if (libc == NULL)
		libc = lsa_find(m, n, "libc-");
	if (libc == NULL)
		return say(LSA_EXIT_REFUSED, "process %d has no C library "
		    "(libc.so.6) loaded", (int)pid);
	if ((errno_loc = lsa_symbol(pid, libc, "__errno_location")) == 0)
		return say(LSA_EXIT_REFUSED, "process %d: its C library has "
		    "no __errno_location", (int)pid);
	if (rc_stop(rc, pid, lsa_pick_thread(pid), calm, &c, STOP_TRIES)
	    != 0)
		return stop_failed(pid, rc);
	if (rc_keep_errno(rc, errno_loc) != 0) {
		(void)rc_release(rc);
		return say(LSA_EXIT_FAILED, "process %d: %s", (int)pid,
		    rc->why);
	}
	return LSA_EXIT_OK;
}

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* Until Ctrl-C (then detach) or the process's end. */
static int
stay(pid_t pid)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct lsa_status st;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (!interrupted) {
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
		if (lsa_status(pid, &st) != 0 || kill(pid, 0) != 0) {
			say(0, "process %d ended; its dump is complete",
			    (int)pid);
			return LSA_EXIT_OK;
		}
	}
	return lsa_detach(pid);
}

/* The call of fn(arg) that leakspy_attach and leakspy_detach share:
 * leakspy_why read back into why. */
static int
call_leakspy(struct rcall *rc, pid_t pid, const char *fname, uint64_t arg,
    unsigned ms, char *why, size_t len)
{
	struct lsa_map *m;
	const struct lsa_map *lsp;
	uint64_t fn, at, r;
	size_t n;

	if (lsa_maps(pid, &m, &n) != 0) {
		snprintf(why, len, "cannot read its mappings");
		return -1;
	}
	lsp = lsa_find(m, n, "libleakspy.so");
	fn = lsp ? lsa_symbol(pid, lsp, fname) : 0;
	at = lsp ? lsa_symbol(pid, lsp, "leakspy_why") : 0;
	free(m);
	if (fn == 0 || at == 0) {
		snprintf(why, len, "libleakspy.so in it has no %s", fname);
		return -1;
	}
	if (rc_call(rc, fn, &arg, 1, &r, ms) != 0) {
		snprintf(why, len, "%s", rc->why);
		return -1;
	}
	read_string(rc, at, why, len);
	return (int)r;
}

/* In the stopped thread: dlopen the library (again does no harm: it is
 * loaded once), then leakspy_attach(settings).  Returns what that
 * returned, or -1 with why set. */
static int
load_and_attach(struct rcall *rc, pid_t pid, uint64_t dlopen_at,
    uint64_t dlerror_at, const char *lib, const char *settings, char *why,
    size_t len)
{
	size_t llen = strlen(lib) + 1, slen = strlen(settings) + 1;
	uint64_t at = rc_scratch(rc, llen + slen), h, a[2];

	/* The library's path and the settings, below the stack pointer. */
	if (rc_write(rc, at, lib, llen) != 0 ||
	    rc_write(rc, at + llen, settings, slen) != 0) {
		snprintf(why, len, "%s", rc->why);
		return -1;
	}
	a[0] = at;
	a[1] = RTLD_NOW | RTLD_LOCAL;
	if (rc_call(rc, dlopen_at, a, 2, &h, DLOPEN_MS) != 0) {
		snprintf(why, len, "dlopen: %s", rc->why);
		return -1;
	}
	if (h == 0) {
		uint64_t e = 0;
		char msg[200] = "";

		if (dlerror_at != 0 && rc_call(rc, dlerror_at, NULL, 0, &e,
		    1000) == 0 && e != 0)
			read_string(rc, e, msg, sizeof(msg));
		snprintf(why, len, "dlopen: %s", msg[0] ? msg : "failed");
		return -1;
	}
	return call_leakspy(rc, pid, "leakspy_attach", at + llen, ATTACH_MS,
	    why, len);
}

int
lsa_attach(pid_t pid, const char *lib, const char *settings, bool wait)
{
	struct lsa_status st;
	struct lsa_map *m = NULL;
	const struct lsa_map *libc;
	struct rcall rc;
	char why[256], *seen;
	uint64_t dlopen_at, dlerror_at;
	size_t n, llen = strlen(lib) + 1, slen = strlen(settings) + 1;
	unsigned tries;
	int r;

	if ((r = check_target(pid, &st)) != LSA_EXIT_OK)
		return r;
	if (llen + slen > 12000)
		return say(LSA_EXIT_USAGE, "the settings are too long");
	if (lsa_maps(pid, &m, &n) != 0)
		return say(LSA_EXIT_REFUSED, "cannot read the mappings of "
		    "process %d", (int)pid);
	if (lsa_find(m, n, "libleakspy.so") != NULL &&
	    lsa_env_has(pid, "LD_PRELOAD", "libleakspy")) {
		free(m);
		return say(LSA_EXIT_REFUSED, "process %d (%s) runs leakspy "
		    "already (LD_PRELOAD)", (int)pid, st.name);
	}
	seen = lsa_root_path(pid, lib);
	r = access(seen, R_OK);
	free(seen);
	if (r != 0) {
		free(m);
		return say(LSA_EXIT_REFUSED, "%s cannot be read where process "
		    "%d sees its files (/proc/%d/root)", lib, (int)pid,
		    (int)pid);
	}
	if ((libc = lsa_find(m, n, "libc.so")) == NULL)
		libc = lsa_find(m, n, "libc-");
	dlopen_at = libc ? lsa_symbol(pid, libc, "dlopen") : 0;
	if (libc != NULL && dlopen_at == 0)
		dlopen_at = lsa_symbol(pid, libc, "__libc_dlopen_mode");
	dlerror_at = libc ? lsa_symbol(pid, libc, "dlerror") : 0;
	if (libc != NULL && dlopen_at == 0) {
		free(m);
		return say(LSA_EXIT_REFUSED, "process %d: its C library has "
		    "no dlopen", (int)pid);
	}
	for (tries = 0;; tries++) {
		r = stop(&rc, pid, m, n);
		if (r != LSA_EXIT_OK) {
			free(m);
			return r;
		}
		r = load_and_attach(&rc, pid, dlopen_at, dlerror_at, lib,
		    settings, why, sizeof(why));
		/* The thread was inside leakspy: stop it elsewhere. */
		if (r != -EAGAIN || tries >= BUSY_TRIES)
			break;
		(void)rc_release(&rc);
		nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
	}
	free(m);
	if (r == -EEXIST) {
		/* Attached already, or was: the library changed nothing. */
		(void)rc_release(&rc);
		return say(LSA_EXIT_REFUSED, "process %d (%s): %s", (int)pid,
		    st.name, why);
	}
	if (r != 0)
		goto failed;
	say(0, "attached to process %d (%s), which was stopped for %.1f "
	    "ms; its dump: %s", (int)pid, st.name, (double)rc_release(&rc) /
	    1e6, why);
	if (!wait)
		return LSA_EXIT_OK;
	fputs("leakspy: Ctrl-C detaches\n", stderr);
	return stay(pid);
failed:
	(void)rc_release(&rc);
	return say(LSA_EXIT_FAILED, "attaching to process %d: %s",
	    (int)pid, why);
}

int
lsa_detach(pid_t pid)
{
	struct lsa_status st;
	struct lsa_map *m = NULL;
	struct rcall rc;
	char why[256];
	unsigned tries;
	size_t n;
	int r;

	if ((r = check_target(pid, &st)) != LSA_EXIT_OK)
		return r;
	if (lsa_maps(pid, &m, &n) != 0)
		return say(LSA_EXIT_REFUSED, "cannot read the mappings of "
		    "process %d", (int)pid);
	if (lsa_find(m, n, "libleakspy.so") == NULL) {
		free(m);
		return say(LSA_EXIT_REFUSED, "leakspy is not loaded in "
		    "process %d (%s)", (int)pid, st.name);
	}
	for (tries = 0;; tries++) {
		r = stop(&rc, pid, m, n);
		if (r != LSA_EXIT_OK) {
			free(m);
			return r;
		}
		r = call_leakspy(&rc, pid, "leakspy_detach", 0, DETACH_MS, why,
		    sizeof(why));
		if (r != -EAGAIN || tries >= BUSY_TRIES)
			break;
		(void)rc_release(&rc);
		nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
	}
	free(m);
	if (r != 0) {
		(void)rc_release(&rc);
		return say(LSA_EXIT_FAILED, "detaching from process %d: %s",
		    (int)pid, why);
	}
	say(0, "detached from process %d (%s), which was stopped for %.1f "
	    "ms; its dump, complete: %s", (int)pid, st.name,
	    (double)rc_release(&rc) / 1e6, why);
	return LSA_EXIT_OK;
}
