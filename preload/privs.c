/* SPDX-License-Identifier: MIT */
/*
 * chroot() and the calls that give up ids (host threads).  Just before
 * the host changes its root or its ids, while it can still reach the dump
 * by its path and open it, leakspy keeps descriptors of the dump and its
 * directory (dumpfile.c), so that its snapshots go on after the change:
 * memcached -u, nginx's and postgres's workers, sshd's privilege-
 * separated child.  The calls themselves are the host's, unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <unistd.h>

#include "lsp.h"

/* The next definition of a function, found once into *cache. */
static void *
next_of(void **cache, const char *name)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (f == NULL) {
		f = lsp_next_sym(name);
		__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	}
	return f;
}

static void
before(void)
{
	int saved = errno;

	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) == LSP_ACTIVE &&
	    !lsp_guard && !lsp_in_sandbox() && getpid() == lsp_pid)
		lsp_writer_keep();
	errno = saved;
}

static int
nosys(void)
{
	errno = ENOSYS;
	return -1;
}

/* Keep the dump's descriptors, then call the next name(...). */
#define CALL(name, ...) do { \
	static void *cache_; \
	__typeof__(&name) fn_ = (__typeof__(&name))next_of(&cache_, #name); \
	before(); \
	return fn_ != NULL ? fn_(__VA_ARGS__) : nosys(); \
} while (0)

/* The interposer of name, given its parameters and the arguments it
 * passes on. */
#define INTERPOSE(name, params, ...) \
LS_EXPORT int \
name params \
{ \
	CALL(name, __VA_ARGS__); \
}

INTERPOSE(chroot, (const char *path), path)
INTERPOSE(setuid, (uid_t uid), uid)
INTERPOSE(seteuid, (uid_t uid), uid)
INTERPOSE(setreuid, (uid_t r, uid_t e), r, e)
INTERPOSE(setresuid, (uid_t r, uid_t e, uid_t s), r, e, s)
INTERPOSE(setgid, (gid_t gid), gid)
INTERPOSE(setegid, (gid_t gid), gid)
INTERPOSE(setregid, (gid_t r, gid_t e), r, e)
INTERPOSE(setresgid, (gid_t r, gid_t e, gid_t s), r, e, s)
INTERPOSE(setgroups, (size_t n, const gid_t *list), n, list)
