/* SPDX-License-Identifier: MIT */
/*
 * Redirection without LD_PRELOAD (attach.c): the entries of every loaded
 * object's global offset table that name a function leakspy interposes
 * (the exported names of libleakspy.map) are rewritten to leakspy's own,
 * and written back at detach.  Only JUMP_SLOT (a call through the PLT)
 * and GLOB_DAT (a call through the GOT, -fno-plt, or the function's
 * address taken) relocations are rewritten; a function pointer the
 * program stored in its own data is not.  Runs on one thread at a time
 * (patch_lock): the attach call, the writer's look for objects loaded
 * since, detach.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "lsp.h"

/* The names redirected, as in libleakspy.map. */
static const char *const names[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray",
	"posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc",
	"malloc_usable_size", "dlclose", "_exit", "_Exit",
	"pthread_create", "pthread_join", "pthread_tryjoin_np",
	"pthread_timedjoin_np", "pthread_clockjoin_np", "pthread_detach",
	"pthread_setname_np", "prctl", "syscall", "sigaction", "signal",
	"execve", "execv", "execvp", "execvpe", "fexecve", "execl", "execlp",
	"execle", "abort", "__assert_fail", "chroot", "setuid", "seteuid",
	"setreuid", "setresuid", "setgid", "setegid", "setregid",
	"setresgid", "setgroups", "pipe2",
};
#define NNAMES	(sizeof(names) / sizeof(names[0]))

/* leakspy's own definition of each name (from its own handle). */
static void *ours[NNAMES];

/* An object, known by its base and program headers (a base alone may
 * come back for another object after a dlclose). */
struct objref {
	uintptr_t base;
	const void *phdr;
	bool present;		/* seen in the last look */
};

/* One rewritten entry: where, what it held, and its object. */
struct patch {
	uintptr_t *at;
	uintptr_t orig;
	struct objref obj;
	unsigned name;
	bool relro;	/* in the object's RELRO: read-only but for a write */
};

static struct {
	struct patch *p;
	size_t n, cap;
	struct objref *objs;	/* objects already rewritten */
	size_t nobjs, capobjs;
	struct objref *todo;	/* objects to rewrite next */
	size_t ntodo, captodo;
	unsigned long long adds, subs;	/* dlpi_adds, _subs when last looked */
	uintptr_t self;		/* leakspy's own base */
	uintptr_t ldso;		/* the dynamic loader's */
	int err;
} g;

static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;

/* Grow array *a of *cap elements of size sz to hold n + 1. */
static bool
room(void **a, size_t *cap, size_t n, size_t sz)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	void *na;

	if (n < *cap)
		return true;
	na = ls_map(ncap * sz);
	if (na == NULL)
		return false;
	if (*a != NULL) {
		memcpy(na, *a, *cap * sz);
		ls_unmap(*a, *cap * sz);
	}
	*a = na;
	*cap = ncap;
	return true;
}

static int
name_index(const char *s)
{
	unsigned i;

	for (i = 0; i < NNAMES; i++)
		if (s[0] == names[i][0] && strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Write v at *at, lifting a read-only page (RELRO) for the time of it. */
static int
put(uintptr_t *at, uintptr_t v, bool relro)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *page = (void *)((uintptr_t)at & ~(uintptr_t)(pg - 1));

	if (!relro) {
		__atomic_store_n(at, v, __ATOMIC_RELEASE);
		return 0;
	}
	if (mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE) != 0)
		return -errno;
	__atomic_store_n(at, v, __ATOMIC_RELEASE);
	if (mprotect(page, (size_t)pg, PROT_READ) != 0)
		return -errno;
	return 0;
}

/* An address of the dynamic section: glibc made most of them absolute
 * when it loaded the object; one below the base was not. */
static uintptr_t
dyn_ptr(uintptr_t base, uintptr_t v)
{
	return v < base ? v + base : v;
}

struct obj {
	struct objref ref;
	uintptr_t base;
	const ElfW(Sym) *sym;
	const char *str;
	uintptr_t relro_lo, relro_hi;
};

/* Rewrite the entries of n relocations at rel in object o. */
static void
patch_relocs(const struct obj *o, const ElfW(Rela) *rel, size_t n)
{
	size_t i;

	for (i = 0; i < n && g.err == 0; i++) {
		unsigned long type = ELF64_R_TYPE(rel[i].r_info);
		const ElfW(Sym) *s;
		uintptr_t *at;
		int k;

		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		s = &o->sym[ELF64_R_SYM(rel[i].r_info)];
		if (s->st_name == 0 || (k = name_index(o->str +
		    s->st_name)) < 0)
			continue;
		at = (uintptr_t *)(o->base + rel[i].r_offset);
		if (*at == (uintptr_t)ours[k])
			continue;
		if (!room((void **)&g.p, &g.cap, g.n, sizeof(*g.p))) {
			g.err = -ENOMEM;
			return;
		}
		g.p[g.n] = (struct patch){ at, *at, o->ref, (unsigned)k,
		    (uintptr_t)at >= o->relro_lo &&
		    (uintptr_t)at < o->relro_hi };
		g.err = put(at, (uintptr_t)ours[k], g.p[g.n].relro);
		if (g.err == 0)
			g.n++;
	}
}

static bool
same(const struct objref *r, const struct dl_phdr_info *info)
{
	return r->base == info->dlpi_addr && r->phdr ==
	    (const void *)info->dlpi_phdr;
}

static struct objref *
known(struct objref *list, size_t n, const struct dl_phdr_info *info)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (same(&list[i], info))
			return &list[i];
	return NULL;
}

/* dl_iterate_phdr: note the objects not rewritten yet (and mark those
 * that are as present).  Nothing is written here: an object another
 * thread's dlopen is still relocating is listed too. */
static int
collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct objref *r;

	(void)size;
	(void)arg;
	if (info->dlpi_addr == g.self || info->dlpi_addr == g.ldso)
		return 0;
	if ((r = known(g.objs, g.nobjs, info)) != NULL) {
		r->present = true;
		return 0;
	}
	if (!room((void **)&g.todo, &g.captodo, g.ntodo, sizeof(*g.todo))) {
		g.err = -ENOMEM;
		return 1;
	}
	g.todo[g.ntodo++] = (struct objref){ info->dlpi_addr,
	    info->dlpi_phdr, true };
	return 0;
}

/* dl_iterate_phdr: rewrite the entries of the object *arg. */
static int
patch_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	const struct objref *want = arg;
	struct obj o = { .ref = *want, .base = info->dlpi_addr };
	const ElfW(Dyn) *d = NULL;
	uintptr_t jmprel = 0, rela = 0;
	size_t pltsz = 0, relasz = 0;
	long pltrel = DT_RELA;
	unsigned i;

	(void)size;
	if (!same(want, info))
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_DYNAMIC)
			d = (const ElfW(Dyn) *)(o.base + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			/* What the loader made read-only: whole pages,
			 * the last one only if the segment covers it. */
			uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);

			o.relro_lo = (o.base + ph->p_vaddr) & ~(pg - 1);
			o.relro_hi = (o.base + ph->p_vaddr + ph->p_memsz) &
			    ~(pg - 1);
		}
	}
	for (; d != NULL && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			o.sym = (const ElfW(Sym) *)dyn_ptr(o.base, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			o.str = (const char *)dyn_ptr(o.base, d->d_un.d_ptr);
			break;
		case DT_JMPREL:
			jmprel = dyn_ptr(o.base, d->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			pltsz = d->d_un.d_val;
			break;
		case DT_PLTREL:
			pltrel = (long)d->d_un.d_val;
			break;
		case DT_RELA:
			rela = dyn_ptr(o.base, d->d_un.d_ptr);
			break;
		case DT_RELASZ:
			relasz = d->d_un.d_val;
			break;
		}
	}
	/* The vdso has no relocations; x86-64 objects use RELA only. */
	if (o.sym == NULL || o.str == NULL || pltrel != DT_RELA)
		return 0;
	if (jmprel != 0)
		patch_relocs(&o, (const ElfW(Rela) *)jmprel,
		    pltsz / sizeof(ElfW(Rela)));
	if (rela != 0)
		patch_relocs(&o, (const ElfW(Rela) *)rela,
		    relasz / sizeof(ElfW(Rela)));
	return 1;
}

/* The name of object r, for dlopen(RTLD_NOLOAD); "" for the executable,
 * NULL if it is gone. */
static int
name_of(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct { const struct objref *r; char name[LSP_PATH_MAX];
	    bool found; } *q = arg;

	(void)size;
	if (!same(q->r, info))
		return 0;
	snprintf(q->name, sizeof(q->name), "%s", info->dlpi_name ?
	    info->dlpi_name : "");
	q->found = true;
	return 1;
}

/*
 * Rewrite the objects listed in g.todo.  Each but the executable is
 * first opened again with RTLD_NOLOAD, which waits for another thread's
 * dlopen of it to finish its relocation, and fails for one that is not
 * loaded whole: that one is left for the next look.
 */
static void
patch_todo(void)
{
	size_t i;

	for (i = 0; i < g.ntodo && g.err == 0; i++) {
		struct { const struct objref *r; char name[LSP_PATH_MAX];
		    bool found; } q = { &g.todo[i], "", false };
		void *h = NULL;

		(void)dl_iterate_phdr(name_of, &q);
		if (!q.found)
			continue;
		if (q.name[0] != '\0' &&
		    (h = dlopen(q.name, RTLD_LAZY | RTLD_NOLOAD)) == NULL &&
		    strchr(q.name, '/') != NULL)
			continue;	/* still being loaded: next time */
		if (!room((void **)&g.objs, &g.capobjs, g.nobjs,
		    sizeof(*g.objs))) {
			g.err = -ENOMEM;
		} else {
			g.objs[g.nobjs++] = g.todo[i];
			(void)dl_iterate_phdr(patch_object, &g.todo[i]);
		}
		if (h != NULL)
			dlclose(h);
	}
	g.ntodo = 0;
}

/* Forget the objects (and their entries) no longer loaded: their memory
 * is gone, and their base may come back for another. */
static void
forget_gone(void)
{
	size_t i, k;

	for (i = k = 0; i < g.n; i++) {
		struct objref *r = NULL;
		size_t j;

		for (j = 0; j < g.nobjs && r == NULL; j++)
			if (g.objs[j].base == g.p[i].obj.base &&
			    g.objs[j].phdr == g.p[i].obj.phdr)
				r = &g.objs[j];
		if (r != NULL && r->present)
			g.p[k++] = g.p[i];
	}
	g.n = k;
	for (i = k = 0; i < g.nobjs; i++)
		if (g.objs[i].present)
			g.objs[k++] = g.objs[i];
	g.nobjs = k;
}

/* One look: what is loaded, what went, what is new. */
static void
look(void)
{
	size_t i;

	for (i = 0; i < g.nobjs; i++)
		g.objs[i].present = false;
	g.ntodo = 0;
	g.err = 0;
	(void)dl_iterate_phdr(collect, NULL);
	forget_gone();
	patch_todo();
}

static int
count_changes(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;

	(void)size;
	c[0] = info->dlpi_adds;
	c[1] = info->dlpi_subs;
	return 1;
}

int
lsp_got_patch(void)
{
	Dl_info self;
	void *h;
	unsigned i;
	int r;

	if (dladdr((void *)lsp_got_patch, &self) == 0 ||
	    self.dli_fname == NULL)
		return -ENOENT;
	h = dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL)
		return -ENOENT;
	for (i = 0; i < NNAMES; i++)
		if ((ours[i] = dlsym(h, names[i])) == NULL) {
			dlclose(h);
			return -ENOENT;
		}
	/* The handle stays open: leakspy is never unloaded once it
	 * redirected a call. */
	pthread_mutex_lock(&patch_lock);
	g.self = (uintptr_t)self.dli_fbase;
	g.ldso = (uintptr_t)getauxval(AT_BASE);
	{
		unsigned long long c[2] = { 0, 0 };

		(void)dl_iterate_phdr(count_changes, c);
		g.adds = c[0];
		g.subs = c[1];
	}
	look();
	r = g.err;
	pthread_mutex_unlock(&patch_lock);
	return r;
}

/* Objects loaded since the last look: rewrite theirs too.  Objects
 * unloaded: forget their entries (their memory is gone). */
void
lsp_got_refresh(void)
{
	unsigned long long c[2] = { 0, 0 };

	pthread_mutex_lock(&patch_lock);
	if (g.self != 0 && dl_iterate_phdr(count_changes, c) >= 0 &&
	    (c[0] != g.adds || c[1] != g.subs || g.ntodo != 0)) {
		g.adds = c[0];
		g.subs = c[1];
		look();
	}
	pthread_mutex_unlock(&patch_lock);
}

/* dl_iterate_phdr, under the loader's lock (no dlclose meanwhile): write
 * back the entries of this object that still hold leakspy's function
 * (one the program or another tool rewrote since is its own). */
static int
restore_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	int *err = arg;
	size_t i;

	(void)size;
	for (i = 0; i < g.n; i++) {
		struct patch *p = &g.p[i];
		int r;

		if (p->obj.base != info->dlpi_addr || p->obj.phdr !=
		    (const void *)info->dlpi_phdr ||
		    __atomic_load_n(p->at, __ATOMIC_ACQUIRE) !=
		    (uintptr_t)ours[p->name])
			continue;
		r = put(p->at, p->orig, p->relro);
		if (r != 0 && *err == 0)
			*err = r;
	}
	return 0;
}

int
lsp_got_restore(void)
{
	int err = 0;

	pthread_mutex_lock(&patch_lock);
	(void)dl_iterate_phdr(restore_object, &err);
	g.n = 0;
	g.nobjs = 0;
	g.ntodo = 0;
	g.self = 0;
	pthread_mutex_unlock(&patch_lock);
	return err;
}

size_t
lsp_got_count(void)
{
	return g.n;
}
