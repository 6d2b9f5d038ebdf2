/* SPDX-License-Identifier: MIT */
/*
 * Tracking that starts after the program did: `leakspy attach` loads
 * libleakspy.so into the running process with a remote call of its own
 * dlopen (RTLD_LOCAL, so that nothing binds to leakspy's names), then
 * calls leakspy_attach() in it.  The constructor saw that the library
 * was not preloaded and left it dormant; leakspy_attach() reads the
 * settings it is given instead of the environment, starts tracking as
 * lsp_boot() does, and rewrites the GOT entries of every loaded object
 * (got.c), the writer thread those of objects loaded later.
 * leakspy_detach() writes them back and the last snapshot; the library
 * stays loaded and idle, and a call already inside it finishes.  A
 * second leakspy_attach() forgets what the first one tracked and starts
 * a new dump.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "fmt.h"
#include "lsp.h"

bool lsp_attached;
const char *lsp_attach_env;

#define SETTINGS_MAX	8192

static char settings[SETTINGS_MAX];

/* Why the last leakspy_attach() or leakspy_detach() failed, or the
 * dump's path when it did not, for the attach command, which reads it
 * from the process's memory: the program's own stderr is not leakspy's
 * to write to. */
LS_EXPORT char leakspy_why[256];

bool
lsp_preloaded(void)
{
	/* A name only leakspy defines, looked up in the program's global
	 * scope (the main program's handle: RTLD_DEFAULT would search this
	 * library's own scope too), where dlopen(RTLD_LOCAL) does not put
	 * it and LD_PRELOAD does. */
	void *main_handle = dlopen(NULL, RTLD_NOW);
	bool found = main_handle != NULL &&
	    dlsym(main_handle, "leakspy_attach") != NULL;

	if (main_handle != NULL)
		dlclose(main_handle);
	return found;
}

static int
fail(int err, const char *what, const char *detail)
{
	struct ls_fmt f;

	ls_fmt_init(&f, leakspy_why, sizeof(leakspy_why));
	ls_fmt_str(&f, what);
	if (detail != NULL) {
		ls_fmt_str(&f, ": ");
		ls_fmt_str(&f, detail);
	}
	return err;
}

/* One attach or detach at a time (atomic). */
static int busy;

/* The start of leakspy_attach and leakspy_detach: 0 with busy taken,
 * or -EAGAIN when the calling thread was inside leakspy (it may hold a
 * lock of its) or another call is under way. */
static int
enter(void)
{
	leakspy_why[0] = '\0';
	if (lsp_guard != 0)
		return fail(-EAGAIN, "the thread was inside leakspy", NULL);
	if (__atomic_exchange_n(&busy, 1, __ATOMIC_ACQUIRE) != 0)
		return fail(-EAGAIN, "another attach or detach is under way",
		    NULL);
	return 0;
}

/* Attached before and detached since: the tables and the writer are
 * there; what they held is forgotten, and a new dump begins.  The state
 * stays dormant meanwhile, so that a call that still reaches leakspy
 * (through a pointer taken while attached) forwards.  Sampled mode on
 * either side is refused: its filter and count-downs are not reset. */
static int
attach_again(void)
{
	uint64_t was = lsp_cfg.sample;
	unsigned i;

	lsp_config_read();
	if (was != 0 || lsp_cfg.sample != 0)
		return fail(-ENOTSUP, "a second attach in sampled mode, or "
		    "after one, is not supported", NULL);
	lsp_record_clear();
	lsp_sites_clear_counts();
	for (i = 0; i < LS_CNT_COUNT; i++)
		__atomic_store_n(&lsp_counters[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lsp_state, LSP_ACTIVE, __ATOMIC_RELEASE);
	lsp_writer_restart();
	return 0;
}

/* The first attach: start-up as if preloaded. */
static int
attach_first(void)
{
	lsp_sym_scope = RTLD_DEFAULT;
	__atomic_store_n(&lsp_state, LSP_BOOTING, __ATOMIC_RELEASE);
	lsp_boot_tracking();
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) != LSP_ACTIVE)
		return fail(-ENOTSUP, "not tracking: a set-user-ID program, "
		    "or its tables could not be mapped", NULL);
	return 0;
}

/*
 * Start tracking.  s holds LEAKSPY_* settings, one NAME=value a line.
 * Returns 0 (leakspy_why then holds the dump's path), or -errno with
 * leakspy_why saying why: -EAGAIN when the calling thread was inside
 * leakspy (the attach command stops it again elsewhere), -EEXIST when
 * nothing was done because leakspy runs already.  errno is the
 * program's either way.
 */
LS_EXPORT int
leakspy_attach(const char *s)
{
	int saved = errno, r = 0, state;
	size_t len = s != NULL ? strnlen(s, SETTINGS_MAX) : 0;
	bool again;

	if ((r = enter()) != 0)
		return r;
	state = __atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE);
	if (len >= SETTINGS_MAX)
		r = fail(-E2BIG, "the settings are too long", NULL);
	else if (state != LSP_DORMANT)
		r = fail(-EEXIST, lsp_attached && state == LSP_ACTIVE ?
		    "leakspy is attached already" : lsp_attached ?
		    "leakspy failed to attach to this process before" :
		    "leakspy runs in this process already (preloaded)", NULL);
	if (r != 0) {
		__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
		errno = saved;
		return r;
	}
	again = lsp_attached;
	memcpy(settings, s != NULL ? s : "", len);
	settings[len] = '\0';
	lsp_attach_env = settings;
	lsp_attached = true;
	lsp_guard_enter();
	r = again ? attach_again() : attach_first();
	if (r == 0 && (r = lsp_got_patch()) != 0) {
		lsp_writer_detach();
		(void)lsp_got_restore();
		__atomic_store_n(&lsp_state, LSP_PASSIVE, __ATOMIC_RELEASE);
		r = fail(r, "cannot redirect the program's calls",
		    strerror(-r));
	}
	lsp_guard_leave();
	/* Attached: the dump's path, for the attach command to show. */
	if (r == 0)
		(void)fail(0, lsp_cfg.path, NULL);
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	errno = saved;
	return r;
}

/*
 * Stop tracking: the last snapshot, then every rewritten GOT entry back.
 * Returns 0 (leakspy_why: the dump's path), or -errno with leakspy_why
 * saying why (-EAGAIN as for leakspy_attach).
 */
LS_EXPORT int
leakspy_detach(void)
{
	int saved = errno, r;

	if ((r = enter()) != 0)
		return r;
	if (!lsp_attached || __atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) !=
	    LSP_ACTIVE) {
		__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
		errno = saved;
		return fail(-ENOENT, "leakspy is not attached", NULL);
	}
	lsp_guard_enter();
	/* The snapshot first, while every free still comes here; the
	 * writer thread, which rewrites the entries of new objects, ends
	 * with it. */
	lsp_writer_detach();
	r = lsp_got_restore();
	/* A call that came in before the entries went back finishes; one
	 * that finds the library idle forwards. */
	__atomic_store_n(&lsp_state, LSP_DORMANT, __ATOMIC_RELEASE);
	lsp_guard_leave();
	if (r != 0)
		r = fail(r, "some GOT entries could not be written back",
		    strerror(-r));
	else
		(void)fail(0, lsp_cfg.path, NULL);
	__atomic_store_n(&busy, 0, __ATOMIC_RELEASE);
	errno = saved;
	return r;
}
