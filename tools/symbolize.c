/* SPDX-License-Identifier: MIT */
/*
 * Offline symbolization with elfutils libdw: function, file:line and
 * inline frames of a return address, by the module and build id the dump
 * recorded.  A module whose file is gone or changed is looked up by build
 * id under /usr/lib/debug; failing that its frames stay module+offset and
 * the user is told once.
 */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <err.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "lsr.h"
#include "xalloc.h"

static struct ls_arena sym_arena;
#define LS_HASH_ARENA (&sym_arena)
#include "ls_hash.h"

#define MAX_INLINE 32

/* libstdc++'s demangler; C code may call it with this prototype. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
    int *status);

struct msym {
	Dwfl *dwfl;
	Dwfl_Module *mod;
};

/* A symbolized address, cached per (module, ip). */
struct cached {
	struct {
		const struct lsr_module *m;
		uint64_t ip;
	} key;
	unsigned n;
	struct lsr_frame f[MAX_INLINE];
	const char *symbol;
	UT_hash_handle hh;
};

static struct cached *cache;
static bool arena_ready;
static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static const char *
intern(const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	p = ls_arena_alloc(&sym_arena, n + 1);
	if (p == NULL)
		lsr_nomem();
	memcpy(p, s, n + 1);
	return p;
}

static const char *
demangle(const char *name)
{
	char *d, plain[1024];
	const char *r, *at;
	int status = -1;

	/* "__libc_start_main@@GLIBC_2.34": drop the symbol version. */
	if (name != NULL && (at = strchr(name, '@')) != NULL &&
	    (size_t)(at - name) < sizeof(plain)) {
		memcpy(plain, name, (size_t)(at - name));
		plain[at - name] = '\0';
		name = plain;
	}
	if (name == NULL || strncmp(name, "_Z", 2) != 0)
		return intern(name);
	d = __cxa_demangle(name, NULL, NULL, &status);
	if (status != 0 || d == NULL) {
		free(d);
		return intern(name);
	}
	r = intern(d);
	free(d);
	return r;
}

struct lsr_module *
lsr_module_of(struct lsr_dump *d, uint64_t ip, uint32_t gen)
{
	struct lsr_module *best = NULL;
	size_t i;
	unsigned s;

	/* Of the modules that covered ip, the one that was still there at
	 * the stack's generation and went away first; an address range is
	 * only reused after its previous module went. */
	for (i = 0; i < d->nmodules; i++) {
		struct lsr_module *m = &d->modules[i];
		bool covers = false;

		for (s = 0; s < m->nseg && !covers; s++)
			covers = ip - m->seg[s][0] < m->seg[s][1];
		if (!covers || (m->gone && m->gone_gen <= gen))
			continue;
		if (best == NULL || (best->gone && m->gone &&
		    m->gone_gen < best->gone_gen) || (!m->gone && !best->gone &&
		    m->gen > best->gen) || (m->gone && !best->gone))
			best = m;
	}
	if (best != NULL)
		return best;
	/* Modules noticed only after they were gone again. */
	for (i = 0; i < d->nmodules; i++) {
		struct lsr_module *m = &d->modules[i];

		for (s = 0; s < m->nseg; s++)
			if (ip - m->seg[s][0] < m->seg[s][1])
				return m;
	}
	return NULL;
}

static bool
file_build_id_matches(const char *path, const struct lsr_module *m,
    bool *exists)
{
	/* Non-blocking, and regular files only: a path from the dump may
	 * name a FIFO or a device, which must not stall the report. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	const void *id;
	ssize_t n;
	Elf *elf;
	bool ok;

	*exists = fd >= 0;
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*exists = false;	/* no file of this module */
		close(fd);
		return false;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	ok = m->build_id_len == 0 ||
	    (n == (ssize_t)m->build_id_len &&
	    memcmp(id, m->build_id, m->build_id_len) == 0);
	if (elf)
		elf_end(elf);
	close(fd);
	return ok;
}

/* Where the debug file of a module with build id m->build_id would be,
 * under /usr/lib/debug/.build-id. */
static void
debug_path(const struct lsr_module *m, char *buf, size_t size)
{
	size_t i, n;

	n = (size_t)snprintf(buf, size, "/usr/lib/debug/.build-id/%02x/",
	    m->build_id[0]);
	for (i = 1; i < m->build_id_len && n + 3 < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%02x",
		    m->build_id[i]);
	snprintf(buf + n, size - n, ".debug");
}

/*
 * The file to read module m's symbols from: its own path if the file's
 * build id is the one recorded, else its debug file by build id (in
 * alt[0..size-1]).  NULL, with a warning, when there is neither.
 */
static const char *
module_file(const struct lsr_module *m, char *alt, size_t size)
{
	bool exists = false, e2;

	if (file_build_id_matches(m->path, m, &exists))
		return m->path;
	if (m->build_id_len > 0) {
		debug_path(m, alt, size);
		if (file_build_id_matches(alt, m, &e2))
			return alt;
	}
	if (exists)
		warnx("warning: %s: build id differs from the one recorded "
		    "(the file changed since the run); its frames are shown "
		    "as module+offset", m->path);
	else
		warnx("warning: %s: not found; its frames are shown as "
		    "module+offset", m->path);
	return NULL;
}

/* Make module m ready for lookups (sym_state 1), or mark it unavailable
 * (-1). */
static void
module_open(struct lsr_module *m)
{
	struct msym *ms;
	char alt[4096];
	const char *use;

	m->sym_state = -1;
	if (m->path[0] == '\0' || strncmp(m->path, "linux-vdso", 10) == 0 ||
	    strncmp(m->path, "linux-gate", 10) == 0)
		return;
	use = module_file(m, alt, sizeof(alt));
	if (use == NULL)
		return;
	ms = lsr_xcalloc(1, sizeof(*ms));
	ms->dwfl = dwfl_begin(&callbacks);
	if (ms->dwfl == NULL) {
		free(ms);
		return;
	}
	dwfl_report_begin(ms->dwfl);
	ms->mod = dwfl_report_elf(ms->dwfl, lsr_base_name(m->path), use, -1,
	    m->bias, false);
	dwfl_report_end(ms->dwfl, NULL, NULL);
	if (ms->mod == NULL) {
		warnx("warning: %s: %s; its frames are shown as "
		    "module+offset", m->path, dwfl_errmsg(-1));
		dwfl_end(ms->dwfl);
		free(ms);
		return;
	}
	/* libdw's own out-of-memory handler exits 1, which --check means
	 * for findings: ours exits LSR_EXIT_NOMEM. */
	{
		Dwarf_Addr b;
		Dwarf *dw = dwfl_module_getdwarf(ms->mod, &b);

		if (dw != NULL)
			dwarf_new_oom_handler(dw, lsr_nomem);
	}
	m->sym = ms;
	m->sym_state = 1;
}

static const char *
die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name,
	    &a));
	if (name == NULL)
		name = dwarf_formstring(dwarf_attr_integrate(die,
		    DW_AT_MIPS_linkage_name, &a));
	if (name == NULL)
		name = dwarf_diename(die);
	return name;
}

/* Append the words of path to buf[0..*n), resolving "." and "..". */
static void
add_words(char *buf, size_t *n, const char *path)
{
	const char *w = path;

	while (*w != '\0') {
		size_t len = strcspn(w, "/");

		if (len == 2 && w[0] == '.' && w[1] == '.') {
			while (*n > 0 && buf[--*n] != '/')
				;
		} else if (len > 0 && !(len == 1 && w[0] == '.')) {
			buf[(*n)++] = '/';
			memcpy(buf + *n, w, len);
			*n += len;
		}
		w += len;
		if (*w == '/')
			w++;
	}
}

/*
 * Source file name file as a path from the root: a name the line table
 * gives relative to its unit's directory comp_dir ("../src/leak.c") is
 * joined to it, and "." and ".." are resolved as words (no symbolic
 * link is followed: the files may be on another machine).  Interned.
 */
static const char *
intern_path(const char *file, const char *comp_dir)
{
	char buf[4096];
	size_t n = 0;

	if (file == NULL || file[0] == '/' || comp_dir == NULL ||
	    comp_dir[0] != '/' || strlen(file) + strlen(comp_dir) + 2 >=
	    sizeof(buf))
		return intern(file);
	add_words(buf, &n, comp_dir);
	add_words(buf, &n, file);
	if (n == 0)
		buf[n++] = '/';
	buf[n] = '\0';
	return intern(buf);
}

/* Fill c from DWARF: inline chain, innermost first. */
static void
expand(struct cached *c, Dwfl_Module *mod, uint64_t addr, const char *sym)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Die *scopes = NULL;
	Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
	const char *file = NULL;
	int lineno = 0, n, i;
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	Dwarf_Attribute ca;
	const char *comp_dir = cu ? dwarf_formstring(dwarf_attr(cu,
	    DW_AT_comp_dir, &ca)) : NULL;

	if (line != NULL)
		file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	n = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
	if (cu != NULL)
		dwarf_getsrcfiles(cu, &files, &nfiles);
	for (i = 0; i < n && c->n < MAX_INLINE - 1; i++) {
		int tag = dwarf_tag(&scopes[i]);
		Dwarf_Attribute a;
		Dwarf_Word w;

		if (tag == DW_TAG_inlined_subroutine) {
			struct lsr_frame *f = &c->f[c->n++];

			f->function = demangle(die_name(&scopes[i]));
			f->file = intern_path(file, comp_dir);
			f->line = (unsigned)lineno;
			f->inlined = true;
			file = NULL;
			lineno = 0;
			if (dwarf_formudata(dwarf_attr(&scopes[i],
			    DW_AT_call_file, &a), &w) == 0 && files != NULL)
				file = dwarf_filesrc(files, w, NULL, NULL);
			if (dwarf_formudata(dwarf_attr(&scopes[i],
			    DW_AT_call_line, &a), &w) == 0)
				lineno = (int)w;
		} else if (tag == DW_TAG_subprogram) {
			if (sym == NULL)
				sym = die_name(&scopes[i]);
			break;
		}
	}
	free(scopes);
	c->f[c->n].function = demangle(sym);
	c->f[c->n].file = intern_path(file, comp_dir);
	c->f[c->n].line = (unsigned)lineno;
	c->f[c->n].inlined = false;
	c->n++;
}

static struct cached *
lookup(struct lsr_dump *d, uint64_t ip, uint32_t gen)
{
	struct lsr_module *m = lsr_module_of(d, ip, gen);
	struct cached key, *c;
	unsigned i;

	if (!arena_ready) {
		ls_arena_init(&sym_arena, 1 << 20);
		elf_version(EV_CURRENT);
		arena_ready = true;
	}
	memset(&key, 0, sizeof(key));
	key.key.m = m;
	key.key.ip = ip;
	HASH_FIND(hh, cache, &key.key, sizeof(key.key), c);
	if (c != NULL)
		return c;
	c = ls_arena_zalloc(&sym_arena, sizeof(*c));
	if (c == NULL)
		lsr_nomem();
	c->key = key.key;
	if (m != NULL && m->sym_state == 0)
		module_open(m);
	if (m != NULL && m->sym_state == 1) {
		struct msym *ms = m->sym;
		/* A return address points after the call: look up the call
		 * instruction itself. */
		uint64_t addr = ip - 1;
		GElf_Sym s;
		GElf_Off off;
		const char *sym = dwfl_module_addrinfo(ms->mod, addr, &off, &s,
		    NULL, NULL, NULL);

		c->symbol = demangle(sym);
		expand(c, ms->mod, addr, sym);
	} else {
		c->n = 1;
	}
	for (i = 0; i < c->n; i++) {
		c->f[i].ip = ip;
		c->f[i].module = m ? m->path : NULL;
		c->f[i].offset = m ? ip - m->bias : ip;
	}
	HASH_ADD(hh, cache, key, sizeof(c->key), c);
	return c;
}

unsigned
lsr_symbolize(struct lsr_dump *d, uint64_t ip, uint32_t gen,
    struct lsr_frame *out, unsigned max)
{
	struct cached *c = lookup(d, ip, gen);
	unsigned n = c->n < max ? c->n : max;

	memcpy(out, c->f, n * sizeof(*out));
	return n;
}

const char *
lsr_symbol_name(struct lsr_dump *d, uint64_t ip, uint32_t gen)
{
	return lookup(d, ip, gen)->symbol;
}

void
lsr_symbolize_fini(struct lsr_dump *d)
{
	size_t i;

	for (i = 0; i < d->nmodules; i++) {
		struct msym *ms = d->modules[i].sym;

		if (ms != NULL) {
			dwfl_end(ms->dwfl);
			free(ms);
		}
		d->modules[i].sym = NULL;
		d->modules[i].sym_state = 0;
	}
	/* Cached entries point at these modules: start afresh. */
	cache = NULL;
	ls_arena_fini(&sym_arena);
	arena_ready = false;
}
