/* SPDX-License-Identifier: MIT */
/*
 * The records of a write-out (src/dump.h): PROCESS, STACKS with their
 * threads, a snapshot (SNAPSHOT, the SITES whose figures changed, AGES,
 * THREADS, SNAPSHOT_END), FINAL and LOST.  Runs under the writer's lock
 * (writer thread, exit path, fork child); when they are written, and what
 * becomes of a write-out that fails, is writer.c's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "arena.h"
#include "fmt.h"
#include "lsp.h"
#include "reach.h"

#define PREV_SHIFT	12
#define PREV_CHUNKS	4096
#define SITES_PER_REC	2048	/* records of some 25 KiB */
#define STACKS_PER_REC	256	/* some 30 KiB at depth 16 */

/* Figures of a site as last written, to write only what changed. */
struct prev {
	int64_t live_bytes;
	int64_t live_blocks;
	uint64_t alloc_bytes;
	uint64_t alloc_blocks;
};

/* By site id, in chunks mapped on first use; under the writer's lock. */
static struct prev *prev[PREV_CHUNKS];

/* dl_iterate_phdr: whether the first object after the executable (the
 * kernel's vDSO aside) is the one at *arg. */
static int
first_after_exe(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t *want = arg;
	const char *name = info->dlpi_name;

	(void)size;
	if (want[1]++ == 0 || strncmp(name, "linux-vdso", 10) == 0 ||
	    strncmp(name, "linux-gate", 10) == 0)
		return 0;	/* the executable, the vDSO */
	want[2] = info->dlpi_addr == want[0];
	return 1;
}

/*
 * Whether "malloc", which the loader resolved to bound, reaches this
 * library (self).  It does when bound is here; and when bound is the
 * executable's PLT stub for malloc (a program built without -pie that
 * takes malloc's address gets that as malloc's address, and the
 * executable's symbol is undefined: it defines no malloc of its own),
 * if no object comes between the executable and this one.
 */
static bool
interposed(void *bound, const Dl_info *self)
{
	const ElfW(Sym) *sym = NULL;
	uintptr_t want[3] = { (uintptr_t)self->dli_fbase, 0, 0 };
	Dl_info info;

	if (bound == NULL || dladdr1(bound, &info, (void **)&sym,
	    RTLD_DL_SYMENT) == 0)
		return false;
	if (info.dli_fbase == self->dli_fbase)
		return true;
	if (sym == NULL || sym->st_shndx != SHN_UNDEF)
		return false;
	/* dlpi_addr is the load bias, dli_fbase the lowest address: the
	 * same for this library, which is a shared object linked at 0 */
	dl_iterate_phdr(first_after_exe, want);
	return want[2] != 0;
}

void
lsp_emit_process(struct ls_buf *b, uint64_t start_real_ns)
{
	char cmdline[4096];
	const char *note = "";
	char notebuf[LSP_PATH_MAX + 64];
	uint64_t flags = 0;
	ssize_t n;
	int fd, argc = 0, i;
	size_t r;
	Dl_info info, self;
	void *bound = dlsym(RTLD_DEFAULT, "malloc");

	n = 0;
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, cmdline, sizeof(cmdline));
		close(fd);
	}
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++)
		argc += cmdline[i] == '\0';

	/* The program's calls reach leakspy only if "malloc" resolves into
	 * this library (an executable that defines malloc wins). */
	if (lsp_attached) {
		/* Calls come through the rewritten GOT entries. */
		flags |= LS_PF_ATTACHED;
	} else if (dladdr((void *)lsp_writer_start, &self) == 0 ||
	    !interposed(bound, &self)) {
		struct ls_fmt f;

		if (bound == NULL || dladdr(bound, &info) == 0)
			info.dli_fname = NULL;

		flags |= LS_PF_INTERPOSE_FAILED;
		ls_fmt_init(&f, notebuf, sizeof(notebuf));
		ls_fmt_str(&f, "interposition failed: malloc bound to ");
		ls_fmt_str(&f, bound && info.dli_fname && info.dli_fname[0] ?
		    info.dli_fname : "the executable");
		note = notebuf;
	}

	r = ls_rec_begin(b, LS_REC_PROCESS);
	ls_buf_uv(b, (uint64_t)getpid());
	ls_buf_uv(b, (uint64_t)getppid());
	ls_buf_uv(b, start_real_ns);
	ls_buf_str(b, lsp_exe, strlen(lsp_exe));
	ls_buf_uv(b, (uint64_t)argc);
	for (i = 0; i < n;) {
		size_t len = strnlen(cmdline + i, (size_t)(n - i));

		ls_buf_str(b, cmdline + i, len);
		i += (int)len + 1;
		if (--argc == 0)
			break;
	}
	ls_buf_uv(b, flags);
	ls_buf_str(b, note, strlen(note));
	/* Where allocation is implemented: the next allocator, libc (strdup,
	 * stdio) and the dynamic loader (thread and TLS set-up). */
	ls_buf_uv(b, 3);
	ls_buf_uv(b, (uintptr_t)lsp_real.malloc);
	ls_buf_uv(b, (uintptr_t)getpid);
	ls_buf_uv(b, getauxval(AT_BASE));
	ls_buf_uv(b, lsp_cfg.depth);
	ls_buf_uv(b, lsp_cfg.interval_ms);
	ls_buf_uv(b, lsp_cfg.sample);
	ls_buf_uv(b, lsp_fork_epoch);
	ls_buf_str(b, lsp_name, strlen(lsp_name));
	ls_rec_end(b, r);
}

uint32_t
lsp_emit_stacks(struct ls_buf *b, uint32_t from)
{
	uint32_t n = lsp_site_count(), id = from;

	while (id < n) {
		size_t r = ls_rec_begin(b, LS_REC_STACKS);
		uint32_t first = id, cnt = n - id;
		struct lsp_site_view v;
		unsigned i;

		if (cnt > STACKS_PER_REC)
			cnt = STACKS_PER_REC;
		/* A site is counted before its slot is filled; stop there. */
		for (i = 0; i < cnt; i++)
			if (!lsp_site_get(first + i, &v))
				break;
		cnt = i;
		ls_buf_uv(b, cnt);
		for (i = 0; i < cnt; i++) {
			const uint8_t *c;
			uintptr_t frame = 0;
			unsigned k;

			lsp_site_get(first + i, &v);
			ls_buf_uv(b, first + i);
			ls_buf_uv(b, v.gen);
			ls_buf_uv(b, v.api);
			ls_buf_uv(b, v.flags);
			ls_buf_uv(b, v.nframes);
			for (k = 0, c = v.code; k < v.nframes; k++) {
				frame = lsp_frame_next(&c, frame);
				ls_buf_uv(b, frame);
			}
		}
		ls_rec_end(b, r);
		lsp_dump_spill(b);
		if (cnt > 0) {
			r = ls_rec_begin(b, LS_REC_STACK_THREADS);
			ls_buf_uv(b, first);
			ls_buf_uv(b, cnt);
			for (i = 0; i < cnt; i++) {
				char name[16];

				lsp_site_get(first + i, &v);
				lsp_thread_name(v.thread, name);
				ls_buf_str(b, name, strlen(name));
			}
			ls_rec_end(b, r);
			lsp_dump_spill(b);
		}
		id = first + cnt;
		if (cnt == 0 || (id < n && cnt < STACKS_PER_REC))
			break;
	}
	return id;
}

static struct prev *
prev_of(uint32_t id)
{
	struct prev **chunk = &prev[id >> PREV_SHIFT];

	if (*chunk == NULL)
		*chunk = ls_map(sizeof(struct prev) << PREV_SHIFT);
	return *chunk ? &(*chunk)[id & ((1u << PREV_SHIFT) - 1)] : NULL;
}

static uint64_t
clamp0(int64_t v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

/* SITES records of the sites below s->nsites whose figures changed since
 * they were last written (all of them on a resync); returns how many. */
static uint32_t
emit_sites(struct ls_buf *b, const struct lsp_snapshot *s)
{
	size_t r = 0;
	uint32_t id, written = 0, in_rec = 0;

	for (id = 0; id < s->nsites; id++) {
		struct lsp_site_view v;
		struct prev *p = prev_of(id);
		struct prev now;

		if (!lsp_site_get(id, &v))
			continue;
		now.live_bytes = v.live_bytes;
		now.live_blocks = v.live_blocks;
		now.alloc_bytes = v.alloc_bytes;
		now.alloc_blocks = v.alloc_blocks;
		if (p != NULL && !s->resync &&
		    memcmp(p, &now, sizeof(now)) == 0)
			continue;
		if (p != NULL)
			*p = now;
		if (in_rec == 0)
			r = ls_rec_begin_counted(b, LS_REC_SITES, s->index);
		ls_buf_uv(b, id);
		ls_buf_uv(b, clamp0(now.live_bytes));
		ls_buf_uv(b, clamp0(now.live_blocks));
		ls_buf_uv(b, now.alloc_bytes);
		ls_buf_uv(b, now.alloc_blocks);
		written++;
		if (++in_rec == SITES_PER_REC) {
			ls_rec_end_counted(b, r, in_rec);
			in_rec = 0;
			lsp_dump_spill(b);
		}
	}
	if (in_rec != 0)
		ls_rec_end_counted(b, r, in_rec);
	return written;
}

void
lsp_emit_snapshot(struct ls_buf *b, const struct lsp_snapshot *s)
{
	uint32_t written, nages;
	unsigned i;
	size_t r;

	r = ls_rec_begin(b, LS_REC_SNAPSHOT);
	ls_buf_uv(b, s->index);
	ls_buf_uv(b, s->run_ns);
	ls_buf_uv(b, s->real_ns);
	ls_buf_uv(b, s->reason);
	ls_buf_uv(b, LS_CNT_COUNT);
	for (i = 0; i < LS_CNT_COUNT; i++)
		ls_buf_uv(b, __atomic_load_n(&lsp_counters[i],
		    __ATOMIC_RELAXED));
	ls_buf_uv(b, s->epoch);
	ls_buf_uv(b, s->ages->failed ? 0 : 1);
	ls_rec_end(b, r);

	written = emit_sites(b, s);
	nages = s->ages->failed ? 0 : lsp_ages_emit(b, s->ages, s->written,
	    s->plan, s->index);
	lsp_threads_emit(b, s->index);
	if (s->scan)
		lsp_reach_final(b, s->index, s->nsites);
	else if (s->clone)
		lsp_reach_clone_finish(b, s->index, s->nsites);
	r = ls_rec_begin(b, LS_REC_SNAPSHOT_END);
	ls_buf_uv(b, s->index);
	ls_buf_uv(b, written);
	ls_buf_uv(b, nages);
	ls_rec_end(b, r);
}

void
lsp_emit_final(struct ls_buf *b, unsigned how, int signo)
{
	size_t r = ls_rec_begin(b, LS_REC_FINAL);

	ls_buf_uv(b, how);
	if (how == LS_FINAL_SIGNAL)
		ls_buf_uv(b, (uint64_t)signo);
	ls_rec_end(b, r);
}

void
lsp_emit_lost(struct ls_buf *b, unsigned reason, bool final, int err)
{
	size_t r = ls_rec_begin(b, LS_REC_LOST);

	ls_buf_uv(b, reason);
	ls_buf_uv(b, final);
	ls_buf_uv(b, (uint64_t)err);
	ls_rec_end(b, r);
}
