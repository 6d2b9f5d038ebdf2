/* SPDX-License-Identifier: MIT */
/*
 * The exec family (host threads): the last snapshot before the process
 * becomes another program.  The dump then ends with a FINAL record marked
 * as an exec; if the exec fails, the process goes on and so does its
 * dump.  A vfork child (its pid is not lsp_pid) writes nothing: it shares
 * its parent's memory.
 *
 * Whether the new program is traced is settled by LD_PRELOAD in its
 * environment: at start-up the library dropped its own entry from this
 * process's environment unless LEAKSPY_FOLLOW_EXEC=1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "arena.h"
#include "lsp.h"

static struct {
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
} real;

static void
resolve(void)
{
	if (real.execve != NULL)
		return;
	real.execv = lsp_next_sym("execv");
	real.execvp = lsp_next_sym("execvp");
	real.execvpe = lsp_next_sym("execvpe");
	real.fexecve = lsp_next_sym("fexecve");
	__atomic_store_n(&real.execve, lsp_next_sym("execve"),
	    __ATOMIC_RELEASE);
}

static bool
before(void)
{
	int saved = errno;
	bool wrote = false;

	resolve();
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) == LSP_ACTIVE &&
	    !lsp_guard && !lsp_in_sandbox() && getpid() == lsp_pid) {
		lsp_writer_exec();
		wrote = true;
	}
	errno = saved;
	return wrote;
}

static int
nosys(void)
{
	errno = ENOSYS;
	return -1;
}

static int
after(bool wrote, int r)
{
	int saved = errno;

	if (wrote)
		lsp_writer_exec_failed();
	errno = saved;
	return r;
}

LS_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	bool wrote = before();

	return after(wrote, real.execve != NULL ?
	    real.execve(path, argv, envp) : nosys());
}

LS_EXPORT int
execv(const char *path, char *const argv[])
{
	bool wrote = before();

	return after(wrote, real.execv != NULL ?
	    real.execv(path, argv) : nosys());
}

LS_EXPORT int
execvp(const char *file, char *const argv[])
{
	bool wrote = before();

	return after(wrote, real.execvp != NULL ?
	    real.execvp(file, argv) : nosys());
}

LS_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	bool wrote = before();

	return after(wrote, real.execvpe != NULL ?
	    real.execvpe(file, argv, envp) : nosys());
}

LS_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	bool wrote = before();

	return after(wrote, real.fexecve != NULL ?
	    real.fexecve(fd, argv, envp) : nosys());
}

/*
 * The list forms, collected into an argv.  Up to 255 arguments on the
 * stack, more in a mapping (an exec that succeeds never returns it).
 */
#define SMALL_ARGV 256

static char **
collect(const char *arg0, va_list *ap, char **small, size_t *mapped)
{
	va_list count;
	size_t n = 1, i;
	char **v = small;

	va_copy(count, *ap);
	while (va_arg(count, char *) != NULL)
		n++;
	va_end(count);
	*mapped = 0;
	if (n + 1 > SMALL_ARGV) {
		*mapped = (n + 1) * sizeof(char *);
		v = ls_map(*mapped);
		if (v == NULL)
			return NULL;
	}
	v[0] = (char *)arg0;
	for (i = 1; i < n; i++)
		v[i] = va_arg(*ap, char *);
	v[n] = NULL;
	return v;
}

static int
list_exec(int kind, const char *path, const char *arg0, va_list *ap)
{
	char *small[SMALL_ARGV], **argv, **envp;
	size_t mapped;
	int r;

	argv = collect(arg0, ap, small, &mapped);
	if (argv == NULL) {
		errno = E2BIG;
		return -1;
	}
	if (kind == 'e') {
		(void)va_arg(*ap, char *);	/* the terminating NULL */
		envp = va_arg(*ap, char **);
		r = execve(path, argv, envp);
	} else if (kind == 'p') {
		r = execvp(path, argv);
	} else {
		r = execv(path, argv);
	}
	if (mapped != 0) {
		int saved = errno;

		ls_unmap(argv, mapped);
		errno = saved;
	}
	return r;
}

/* The interposer of a list form: its arguments gathered into an argv,
 * then kind's vector form called. */
#define LIST_EXEC(name, kind) \
LS_EXPORT int \
name(const char *path, const char *arg0, ...) \
{ \
	va_list ap; \
	int r; \
\
	va_start(ap, arg0); \
	r = list_exec(kind, path, arg0, &ap); \
	va_end(ap); \
	return r; \
}

LIST_EXEC(execl, 'l')
LIST_EXEC(execlp, 'p')
LIST_EXEC(execle, 'e')
