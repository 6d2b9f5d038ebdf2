/* SPDX-License-Identifier: MIT */
/*
 * Start-up of libleakspy.so: resolves the next allocator, serves the
 * allocations made meanwhile, has LEAKSPY_* read (config.c) and starts
 * tracking.  Runs in the library constructor or in the first interposed
 * call, whichever comes first; the destructor takes the final snapshot.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "fmt.h"
#include "lsp.h"
#include "sites.h"
#include "roots.h"

struct lsp_real lsp_real;
int lsp_state;
__thread int lsp_guard __attribute__((tls_model("initial-exec")));
struct lsp_config lsp_cfg;
unsigned long lsp_counters[LS_CNT_COUNT];
pid_t lsp_pid;
char lsp_exe[LSP_PATH_MAX];
char lsp_name[LSP_NAME_MAX];
unsigned lsp_fork_epoch;

/*
 * The bootstrap pool: dlsym and dlerror may allocate before the real
 * malloc is known.  Blocks carry a 16-byte header with their size; when
 * the static pool is used up, further blocks are mapped and remembered so
 * that free() still recognizes them.
 */
#define BOOT_MAPS	64

char lsp_boot_pool[LSP_BOOT_POOL] __attribute__((aligned(64)));
unsigned lsp_boot_nmaps;			/* atomic */
static size_t boot_used;			/* atomic bump */
static struct {
	char *start;
	size_t len;
} boot_maps[BOOT_MAPS];

void *
lsp_boot_alloc(size_t n, size_t align)
{
	size_t need, off;
	char *base;
	unsigned slot;

	if (align < 16)
		align = 16;
	if (n > ((size_t)1 << 40) || (align & (align - 1)) != 0) {
		errno = n > ((size_t)1 << 40) ? ENOMEM : EINVAL;
		return NULL;
	}
	need = n + align + 16;
	off = __atomic_fetch_add(&boot_used, need, __ATOMIC_RELAXED);
	if (off + need <= LSP_BOOT_POOL) {
		base = lsp_boot_pool + off;
	} else {
		slot = __atomic_fetch_add(&lsp_boot_nmaps, 1, __ATOMIC_RELAXED);
		if (slot >= BOOT_MAPS || (base = ls_map(need)) == NULL) {
			errno = ENOMEM;
			return NULL;
		}
		boot_maps[slot].start = base;
		__atomic_store_n(&boot_maps[slot].len, need, __ATOMIC_RELEASE);
	}
	lsp_count(LS_CNT_BOOTSTRAP);
	{
		uintptr_t p = ((uintptr_t)base + 16 + align - 1) &
		    ~(uintptr_t)(align - 1);

		((size_t *)p)[-1] = n;
		lsp_filter_pin((void *)p);
		return (void *)p;
	}
}

bool
lsp_is_boot_map(const void *p)
{
	const char *c = p;
	unsigned i, n;

	n = __atomic_load_n(&lsp_boot_nmaps, __ATOMIC_ACQUIRE);
	for (i = 0; i < n && i < BOOT_MAPS; i++) {
		size_t len = __atomic_load_n(&boot_maps[i].len,
		    __ATOMIC_ACQUIRE);

		if (len && c >= boot_maps[i].start &&
		    c < boot_maps[i].start + len)
			return true;
	}
	return false;
}

size_t
lsp_boot_size(const void *p)
{
	return ((const size_t *)p)[-1];
}

void
lsp_warn(const char *msg, const char *detail)
{
	char buf[512];
	struct ls_fmt f;
	int saved = errno;

	/* One byte kept for the newline: a long detail is cut, the line
	 * still ends. */
	ls_fmt_init(&f, buf, sizeof(buf) - 1);
	ls_fmt_str(&f, "leakspy: ");
	ls_fmt_str(&f, msg);
	if (detail != NULL) {
		ls_fmt_str(&f, ": ");
		ls_fmt_str(&f, detail);
	}
	buf[f.len++] = '\n';
	(void)lsp_write_quiet(2, buf, f.len);
	errno = saved;
}

void *lsp_sym_scope = RTLD_NEXT;

/* name's next definition.  Attached, RTLD_DEFAULT searches leakspy's own
 * scope after the global one: a name the program does not have would be
 * leakspy's own function, and the C library's is taken instead. */
static void *
scoped_sym(const char *name)
{
	void *p = dlsym(lsp_sym_scope, name), *libc;
	Dl_info a, b;

	if (p == NULL || lsp_sym_scope != RTLD_DEFAULT ||
	    dladdr(p, &a) == 0 || dladdr((void *)lsp_boot, &b) == 0 ||
	    a.dli_fbase != b.dli_fbase)
		return p;
	libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	p = libc != NULL ? dlsym(libc, name) : NULL;
	if (libc != NULL)
		dlclose(libc);
	return p;
}

void *
lsp_next_sym(const char *name)
{
	return scoped_sym(name);
}

void *
lsp_need_sym(const char *name)
{
	void *p = scoped_sym(name);

	if (p == NULL) {
		lsp_warn("cannot find the next allocator's function", name);
		abort();
	}
	return p;
}

/*
 * The process's initial stack, as the kernel left it: argc, argv[], NULL,
 * envp[], NULL, auxv.  The dynamic loader points __libc_stack_end at
 * argc before any code of the program runs.
 */
extern void *__libc_stack_end;

/* The environment: environ, or before the C library has set it (an
 * allocation from .preinit_array) the initial stack's. */
static char **
initial_environ(void)
{
	long *sp = __libc_stack_end;
	char **argv;

	if (environ != NULL)
		return environ;
	if (sp == NULL || sp[0] < 0 || sp[0] > (1L << 24))
		return NULL;
	argv = (char **)(sp + 1);
	return argv[sp[0]] == NULL ? argv + sp[0] + 1 : NULL;
}

char *
lsp_env(const char *name)
{
	static char value[LSP_PATH_MAX];
	char **e = initial_environ();
	size_t n = strlen(name);

	/* Attached: the attach command's settings, not the environment,
	 * which the program had before anyone asked for leakspy. */
	if (lsp_attached) {
		const char *l = lsp_attach_env;

		while (l != NULL && *l != '\0') {
			size_t len = strcspn(l, "\n");

			if (len > n && strncmp(l, name, n) == 0 &&
			    l[n] == '=' && len - n - 1 < sizeof(value)) {
				memcpy(value, l + n + 1, len - n - 1);
				value[len - n - 1] = '\0';
				return value;
			}
			l += len + (l[len] == '\n');
		}
		return NULL;
	}

	for (; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* The initial stack's argv[0], or NULL. */
static const char *
initial_argv0(void)
{
	long *sp = __libc_stack_end;

	return sp != NULL && sp[0] > 0 ? ((char **)(sp + 1))[0] : NULL;
}

static void
resolve(void)
{
	lsp_real.malloc = lsp_need_sym("malloc");
	lsp_real.free = lsp_need_sym("free");
	lsp_real.calloc = lsp_need_sym("calloc");
	lsp_real.realloc = lsp_need_sym("realloc");
	lsp_real.posix_memalign = lsp_need_sym("posix_memalign");
	lsp_real.aligned_alloc = lsp_need_sym("aligned_alloc");
	lsp_real.memalign = lsp_need_sym("memalign");
	lsp_real.valloc = lsp_need_sym("valloc");
	lsp_real.pvalloc = lsp_need_sym("pvalloc");
	lsp_real.malloc_usable_size = lsp_need_sym("malloc_usable_size");
	lsp_real.dlclose = lsp_need_sym("dlclose");
	lsp_real._exit = lsp_need_sym("_exit");
}

/*
 * The executable's path: /proc/self/exe or, where there is no /proc (in a
 * chroot without it), the path it was executed by, made absolute against
 * the working directory.
 */
static void
find_exe(void)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	ssize_t n = readlink("/proc/self/exe", lsp_exe, sizeof(lsp_exe) - 1);
	char cwd[LSP_PATH_MAX];
	struct ls_fmt f;

	if (n > 0) {
		lsp_exe[n] = '\0';
		return;
	}
	ls_fmt_init(&f, lsp_exe, sizeof(lsp_exe));
	if (fn == NULL || *fn == '\0')
		return;
	if (*fn != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return;
		ls_fmt_str(&f, cwd);
		if (strcmp(cwd, "/") != 0)
			ls_fmt_str(&f, "/");
	}
	ls_fmt_str(&f, fn);
	if (f.overflow)
		lsp_exe[0] = '\0';
}

/*
 * The name the program was run as, for %e: the last component of the
 * path execve was given (AT_EXECFN), so a symbolic link gives its own
 * name, as core(5)'s %e does; argv[0]'s where that path is a descriptor
 * (fexecve), and the executable's own where neither is known.
 */
static void
find_name(void)
{
	const char *fn = (const char *)getauxval(AT_EXECFN);
	const char *base;
	struct ls_fmt f;

	if (fn == NULL || strncmp(fn, "/dev/fd/", 8) == 0 ||
	    strncmp(fn, "/proc/", 6) == 0)
		fn = initial_argv0();
	if (fn == NULL || *fn == '\0')
		fn = lsp_exe;
	base = strrchr(fn, '/');
	base = base != NULL ? base + 1 : fn;
	if (*base == '\0')
		base = "unknown";
	ls_fmt_init(&f, lsp_name, sizeof(lsp_name));
	ls_fmt_str(&f, base);
}

/*
 * Remove leakspy's own entry from LD_PRELOAD, in place, so that programs
 * this one executes run without it (LEAKSPY_FOLLOW_EXEC=1 keeps it).
 * Entries are compared by inode, so relative and absolute spellings of the
 * same file both go.
 */
static bool preload_emptied;	/* before environ was set */

static void
drop_self_from_preload(void)
{
	Dl_info info;
	struct stat self, st;
	char *v = lsp_env("LD_PRELOAD");
	char *r, *w;

	if (v == NULL || dladdr((void *)lsp_boot, &info) == 0 ||
	    info.dli_fname == NULL || stat(info.dli_fname, &self) != 0)
		return;
	r = w = v;
	while (*r != '\0') {
		char *start, save;
		size_t len;

		while (*r == ' ' || *r == ':')
			r++;
		if (*r == '\0')
			break;
		start = r;
		while (*r != '\0' && *r != ' ' && *r != ':')
			r++;
		len = (size_t)(r - start);
		save = *r;
		*r = '\0';
		if (stat(start, &st) == 0 && st.st_dev == self.st_dev &&
		    st.st_ino == self.st_ino) {
			*r = save;
			continue;
		}
		*r = save;
		if (w != v)
			*w++ = ':';
		memmove(w, start, len);
		w += len;
	}
	*w = '\0';
	/* Before the C library has set environ (.preinit_array), unsetenv
	 * cannot reach the variable: the constructor does it. */
	if (*v == '\0' && environ != NULL)
		unsetenv("LD_PRELOAD");
	else if (*v == '\0')
		preload_emptied = true;
}

static void
atfork_prepare(void)
{
	lsp_guard_enter();
	lsp_writer_prefork();
	lsp_modules_lock();
	lsp_threads_lock();
	lsp_record_lock_all();
}

static void
atfork_parent(void)
{
	lsp_record_unlock_all();
	lsp_threads_unlock();
	lsp_modules_unlock();
	lsp_writer_postfork_parent();
	lsp_guard_leave();
}

static void
atfork_child(void)
{
	if (!lsp_in_sandbox())
		lsp_pid = getpid();
	/* Blocks from here on are the child's; older ones it inherited. */
	lsp_fork_epoch = lsp_epoch_next();
	lsp_record_reset_locks();
	lsp_slices_postfork_child();
	lsp_threads_postfork_child();
	lsp_modules_reset_lock();
	lsp_writer_postfork_child();
	lsp_guard_leave();
}

void
lsp_boot_tracking(void)
{
	bool active;

	resolve();
	lsp_pid = getpid();
	find_exe();
	find_name();
	active = getauxval(AT_SECURE) == 0;
	if (active) {
		lsp_config_read();
		if (!lsp_cfg.follow_exec && !lsp_attached)
			drop_self_from_preload();
		lsp_modules_init();
		lsp_unwind_init();
		lsp_threads_init();
		lsp_roots_init(NULL);
		if (lsp_record_init() != 0) {
			lsp_warn("cannot map its tables; not tracking", NULL);
			active = false;
		}
	}
	if (active)
		pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* Sampled mode: frees of unsampled blocks may skip leakspy. */
	if (active && lsp_cfg.sample != 0)
		lsp_filter_open();
	__atomic_store_n(&lsp_state, active ? LSP_ACTIVE : LSP_PASSIVE,
	    __ATOMIC_RELEASE);
	if (active)
		lsp_writer_start();
}

void
lsp_boot(void)
{
	int expected = LSP_UNINIT;
	int saved = errno;

	if (!__atomic_compare_exchange_n(&lsp_state, &expected, LSP_BOOTING,
	    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Another thread boots; this thread's own recursion (guard
		 * set) is served from the pool by the caller. */
		if (expected == LSP_BOOTING && !lsp_guard)
			while (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) ==
			    LSP_BOOTING)
				sched_yield();
		return;
	}
	lsp_guard_enter();
	lsp_boot_tracking();
	lsp_guard_leave();
	errno = saved;
}

__attribute__((constructor)) static void
lsp_ctor(void)
{
	int expected = LSP_UNINIT;

	/* Loaded by dlopen (leakspy attach): nothing until attached. */
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) == LSP_UNINIT &&
	    !lsp_preloaded() && __atomic_compare_exchange_n(&lsp_state,
	    &expected, LSP_DORMANT, false, __ATOMIC_ACQ_REL,
	    __ATOMIC_ACQUIRE))
		return;
	lsp_boot();
	/* Booted from .preinit_array: LD_PRELOAD, emptied, can go now. */
	if (preload_emptied)
		unsetenv("LD_PRELOAD");
}

/*
 * The library destructor runs from _dl_fini, after the program's atexit
 * handlers and its own destructors (leakspy was loaded before them), so
 * what is live here is what the program kept.
 */
__attribute__((destructor)) static void
lsp_dtor(void)
{
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) == LSP_ACTIVE)
		lsp_writer_final();
}
