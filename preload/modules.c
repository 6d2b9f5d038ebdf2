/* SPDX-License-Identifier: MIT */
/*
 * The module map (writer thread, dlclose interposer, boot): which ELF
 * objects are mapped where, with their build ids, so that leakspy-report
 * can symbolize offline.  A module that goes away keeps its entry, marked
 * gone at a generation; stacks carry the generation they were taken at.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "lsp.h"

#define MAX_SEG 16

struct mod {
	struct mod *next;
	uint32_t id;
	uint32_t gen;		/* generation it was noticed at */
	uint32_t gone_gen;
	unsigned scan;		/* last scan that saw it */
	bool gone;
	bool emitted, pending;
	bool gone_emitted, gone_pending;
	uintptr_t bias;
	char *path;
	uint8_t build_id[64];
	unsigned build_id_len;
	unsigned nseg;
	uintptr_t seg[MAX_SEG][2];	/* start, size */
};

/* All under mod_lock. */
static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mod *mods, **mods_tail = &mods;
static uint32_t nmods;
static unsigned scan_no;
static struct ls_arena mod_arena;

/* Written under mod_lock, read lock-free by the hot path. */
static uint32_t modgen;

/* leakspy's and libunwind's executable ranges; written once at boot. */
uintptr_t lsp_own[4][2];
unsigned lsp_nown;

unsigned
lsp_modgen(void)
{
	return __atomic_load_n(&modgen, __ATOMIC_RELAXED);
}

static int
find_own(struct dl_phdr_info *info, size_t size, void *arg)
{
	const uintptr_t *targets = arg;
	int i, t;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		for (t = 0; t < 2; t++)
			if (targets[t] - start < ph->p_memsz &&
			    lsp_nown < LS_ARRAY_SIZE(lsp_own)) {
				lsp_own[lsp_nown][0] = start;
				lsp_own[lsp_nown][1] = ph->p_memsz;
				lsp_nown++;
			}
	}
	return 0;
}

void
lsp_modules_init(void)
{
	uintptr_t targets[2];

	ls_arena_init(&mod_arena, 64 << 10);
	targets[0] = (uintptr_t)lsp_modules_init;
	targets[1] = (uintptr_t)lsp_unwind_addr();
	dl_iterate_phdr(find_own, targets);
	lsp_modules_scan();
}

static void
read_build_id(struct mod *m, const struct dl_phdr_info *info)
{
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t nsz = (nh->n_namesz + 3) & ~3u;
			size_t dsz = (nh->n_descsz + 3) & ~3u;
			const char *name = p + sizeof(*nh);
			const char *desc = name + nsz;

			if (desc + dsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID &&
			    nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
			    nh->n_descsz <= sizeof(m->build_id)) {
				memcpy(m->build_id, desc, nh->n_descsz);
				m->build_id_len = nh->n_descsz;
				return;
			}
			p = desc + dsz;
		}
	}
}

static int
scan_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	const char *name = info->dlpi_name;
	uintptr_t first = 0;
	struct mod *m;
	size_t len;
	int i;
	bool *changed = arg;

	(void)size;
	if (name == NULL || name[0] == '\0')
		name = lsp_exe;
	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			first = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			break;
		}
	for (m = mods; m != NULL; m = m->next) {
		if (!m->gone && m->bias == info->dlpi_addr &&
		    m->seg[0][0] == first && strcmp(m->path, name) == 0) {
			m->scan = scan_no;
			return 0;
		}
	}
	len = strlen(name);
	m = ls_arena_zalloc(&mod_arena, sizeof(*m) + len + 1);
	if (m == NULL)
		return 0;
	m->path = (char *)(m + 1);
	memcpy(m->path, name, len + 1);
	m->id = nmods++;
	m->gen = modgen + 1;
	m->scan = scan_no;
	m->bias = info->dlpi_addr;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || m->nseg == MAX_SEG)
			continue;
		m->seg[m->nseg][0] = info->dlpi_addr + ph->p_vaddr;
		m->seg[m->nseg][1] = ph->p_memsz;
		m->nseg++;
	}
	read_build_id(m, info);
	*mods_tail = m;
	mods_tail = &m->next;
	*changed = true;
	return 0;
}

void
lsp_modules_scan(void)
{
	bool changed = false;
	struct mod *m;

	pthread_mutex_lock(&mod_lock);
	scan_no++;
	dl_iterate_phdr(scan_one, &changed);
	for (m = mods; m != NULL; m = m->next) {
		if (!m->gone && m->scan != scan_no) {
			m->gone = true;
			m->gone_gen = modgen + 1;
			changed = true;
		}
	}
	if (changed)
		__atomic_store_n(&modgen, modgen + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&mod_lock);
}

void
lsp_modules_emit(struct ls_buf *b)
{
	struct mod *m;
	unsigned i;

	pthread_mutex_lock(&mod_lock);
	for (m = mods; m != NULL; m = m->next) {
		if (!m->emitted) {
			size_t r = ls_rec_begin(b, LS_REC_MODULE);

			ls_buf_uv(b, m->id);
			ls_buf_uv(b, m->gen);
			ls_buf_uv(b, m->bias);
			ls_buf_str(b, m->path, strlen(m->path));
			ls_buf_str(b, m->build_id, m->build_id_len);
			ls_buf_uv(b, m->nseg);
			for (i = 0; i < m->nseg; i++) {
				ls_buf_uv(b, m->seg[i][0]);
				ls_buf_uv(b, m->seg[i][1]);
			}
			ls_rec_end(b, r);
			m->pending = true;
		}
		if (m->gone && !m->gone_emitted) {
			size_t r = ls_rec_begin(b, LS_REC_MODULE_GONE);

			ls_buf_uv(b, m->id);
			ls_buf_uv(b, m->gone_gen);
			ls_rec_end(b, r);
			m->gone_pending = true;
		}
	}
	pthread_mutex_unlock(&mod_lock);
}

void
lsp_modules_commit(bool ok)
{
	struct mod *m;

	pthread_mutex_lock(&mod_lock);
	for (m = mods; m != NULL; m = m->next) {
		if (ok) {
			m->emitted |= m->pending;
			m->gone_emitted |= m->gone_pending;
		}
		m->pending = m->gone_pending = false;
	}
	pthread_mutex_unlock(&mod_lock);
}

void
lsp_modules_forget_written(void)
{
	struct mod *m;

	for (m = mods; m != NULL; m = m->next)
		m->emitted = m->gone_emitted = false;
}

void
lsp_modules_lock(void)
{
	pthread_mutex_lock(&mod_lock);
}

void
lsp_modules_unlock(void)
{
	pthread_mutex_unlock(&mod_lock);
}

void
lsp_modules_reset_lock(void)
{
	pthread_mutex_init(&mod_lock, NULL);
}
