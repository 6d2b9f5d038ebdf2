/* SPDX-License-Identifier: MIT */
/*
 * Reading a dump into memory.  Every count is checked against the bytes
 * that remain before anything is allocated for it, so memory stays within
 * a small multiple of the file's size whatever the file says.  The reader
 * stops at the first bad record and keeps what came before.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read.h"

void *
lsr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		err(3, "out of memory");
	return p;
}

void *
lsr_xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	p = reallocarray(p, n, size);
	if (p == NULL)
		err(3, "out of memory");
	memset((char *)p + *cap * size, 0, (n - *cap) * size);
	*cap = n;
	return p;
}

char *
lsr_xstrndup(const char *s, size_t n)
{
	char *p = lsr_xcalloc(1, n + 1);

	if (n)
		memcpy(p, s, n);
	return p;
}

static char *
cur_strdup(struct ls_cur *c)
{
	size_t n;
	const char *s = ls_cur_str(c, &n);

	return lsr_xstrndup(s ? s : "", s ? n : 0);
}

/* Add the open snapshot's entries to the stacks' histories. */
static void
commit_snapshot(struct lsr_parser *P)
{
	struct lsr_dump *d = P->d;
	uint32_t k = P->cur.index;
	size_t i;

	for (i = 0; i < P->cur.nchanges; i++)
		lsr_hist_change(&d->stacks[P->changes[i].stack], k,
		    &P->changes[i].v);
	for (i = 0; i < P->nstaged; i++)
		lsr_hist_age(&d->stacks[P->ages[i].stack], k, &P->ages[i]);
	P->nstaged = 0;
}

static void
fail(struct lsr_dump *d, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (d->error != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	d->error = msg ? msg : lsr_xstrndup("unreadable record", 17);
	d->error_offset = off;
}

static int
rec_process(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	size_t i;

	if (d->have_process)
		return P->why = "second PROCESS record", -1;
	d->pid = ls_cur_uv(c);
	d->ppid = ls_cur_uv(c);
	d->start_real_ns = ls_cur_uv(c);
	d->exe = cur_strdup(c);
	d->argc = ls_cur_uv(c);
	if (d->argc > lsr_left(c))
		return P->why = "argument count out of range", -1;
	d->argv = lsr_xcalloc(d->argc + 1, sizeof(*d->argv));
	for (i = 0; i < d->argc; i++)
		d->argv[i] = cur_strdup(c);
	d->pflags = ls_cur_uv(c);
	d->interpose_note = cur_strdup(c);
	d->nalloc_addrs = ls_cur_uv(c);
	if (d->nalloc_addrs > lsr_left(c))
		return P->why = "address count out of range", -1;
	d->alloc_addrs = lsr_xcalloc(d->nalloc_addrs, sizeof(uint64_t));
	for (i = 0; i < d->nalloc_addrs; i++)
		d->alloc_addrs[i] = ls_cur_uv(c);
	d->max_depth = ls_cur_uv(c);
	d->interval_ms = ls_cur_uv(c);
	d->sample_bytes = ls_cur_uv(c);
	if (c->err)
		return P->why = "PROCESS record cut short", -1;
	if (c->p < c->end)	/* added later: older dumps lack it */
		d->inherited_epoch = ls_cur_uv(c);
	if (c->err || d->inherited_epoch > 0xffff)
		return P->why = "bad inherited epoch", -1;
	d->have_process = true;
	return 0;
}

static int
rec_module(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	struct lsr_module *m;
	uint64_t id = ls_cur_uv(c);
	const char *bid;
	size_t n, i;

	if (id != d->nmodules)
		return P->why = "module ids out of order", -1;
	d->modules = lsr_xgrow(d->modules, &P->cap_modules, d->nmodules + 1,
	    sizeof(*d->modules));
	m = &d->modules[d->nmodules];
	memset(m, 0, sizeof(*m));
	m->id = (uint32_t)id;
	m->gen = (uint32_t)ls_cur_uv(c);
	m->bias = ls_cur_uv(c);
	m->path = cur_strdup(c);
	bid = ls_cur_str(c, &n);
	if (bid != NULL && n <= sizeof(m->build_id)) {
		memcpy(m->build_id, bid, n);
		m->build_id_len = n;
	}
	m->nseg = (unsigned)ls_cur_uv(c);
	if (m->nseg > lsr_left(c) / 2) {
		free(m->path);
		return P->why = "segment count out of range", -1;
	}
	m->seg = lsr_xcalloc(m->nseg, sizeof(*m->seg));
	for (i = 0; i < m->nseg; i++) {
		m->seg[i][0] = ls_cur_uv(c);
		m->seg[i][1] = ls_cur_uv(c);
	}
	if (c->err) {
		free(m->path);
		free(m->seg);
		return P->why = "MODULE record cut short", -1;
	}
	d->nmodules++;
	return 0;
}

static int
rec_module_gone(struct lsr_parser *P, struct ls_cur *c)
{
	uint64_t id = ls_cur_uv(c);
	uint64_t gen = ls_cur_uv(c);

	if (c->err || id >= P->d->nmodules)
		return P->why = "MODULE_GONE for an unknown module", -1;
	P->d->modules[id].gone = true;
	P->d->modules[id].gone_gen = (uint32_t)gen;
	return 0;
}

static int
rec_stacks(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	uint64_t count = ls_cur_uv(c), k;

	if (count > lsr_left(c))
		return P->why = "stack count out of range", -1;
	for (k = 0; k < count; k++) {
		struct lsr_stack *s;
		uint64_t id = ls_cur_uv(c), n, i;

		if (c->err)
			break;
		if (id != d->nstacks)
			return P->why = "stack ids out of order", -1;
		d->stacks = lsr_xgrow(d->stacks, &P->cap_stacks, d->nstacks + 1,
		    sizeof(*d->stacks));
		s = &d->stacks[d->nstacks];
		memset(s, 0, sizeof(*s));
		s->gen = (uint32_t)ls_cur_uv(c);
		s->api = (unsigned)ls_cur_uv(c);
		s->flags = (unsigned)ls_cur_uv(c);
		n = ls_cur_uv(c);
		if (n > LSR_MAX_FRAMES_READ || n > lsr_left(c))
			return P->why = "frame count out of range", -1;
		s->nframes = (unsigned)n;
		s->ip = lsr_xcalloc(n, sizeof(*s->ip));
		for (i = 0; i < n; i++)
			s->ip[i] = ls_cur_uv(c);
		if (c->err) {
			free(s->ip);
			break;
		}
		if (s->api >= LS_API_COUNT) {
			free(s->ip);
			return P->why = "unknown allocation function", -1;
		}
		d->nstacks++;
	}
	if (c->err)
		return P->why = "STACKS record cut short", -1;
	return 0;
}

static int
rec_snapshot(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_snapshot *s = &P->cur;
	uint64_t n, i;

	if (P->snap_open)
		return P->why = "SNAPSHOT inside a snapshot", -1;
	memset(s, 0, sizeof(*s));
	P->nstaged = 0;
	s->index = (uint32_t)ls_cur_uv(c);
	s->mono_ns = ls_cur_uv(c);
	s->real_ns = ls_cur_uv(c);
	s->reason = (unsigned)ls_cur_uv(c);
	n = ls_cur_uv(c);
	if (n > lsr_left(c))
		return P->why = "counter count out of range", -1;
	for (i = 0; i < n; i++) {
		uint64_t v = ls_cur_uv(c);

		if (i < LS_CNT_COUNT)
			s->counters[i] = v;
	}
	if (c->err)
		return P->why = "SNAPSHOT record cut short", -1;
	if (c->p < c->end) {
		s->epoch = (uint32_t)ls_cur_uv(c);
		s->ages_complete = ls_cur_uv(c) == 1;
		if (c->err)
			return P->why = "SNAPSHOT record cut short", -1;
	}
	if (s->index != P->d->nsnaps)
		return P->why = "snapshot numbers out of order", -1;
	P->snap_open = true;
	return 0;
}

static int
rec_sites(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_snapshot *s = &P->cur;
	uint64_t index = ls_cur_uv(c), count = ls_cur_uv(c), k;

	if (!P->snap_open || index != s->index)
		return P->why = "SITES outside its snapshot", -1;
	if (count > lsr_left(c) / 5)
		return P->why = "site count out of range", -1;
	P->changes = lsr_xgrow(P->changes, &P->cap_changes,
	    s->nchanges + (size_t)count, sizeof(*P->changes));
	for (k = 0; k < count; k++) {
		struct lsr_change *ch = &P->changes[s->nchanges];

		ch->stack = (uint32_t)ls_cur_uv(c);
		ch->v.live_bytes = ls_cur_uv(c);
		ch->v.live_blocks = ls_cur_uv(c);
		ch->v.alloc_bytes = ls_cur_uv(c);
		ch->v.alloc_blocks = ls_cur_uv(c);
		if (c->err)
			return P->why = "SITES record cut short", -1;
		if (ch->stack >= P->d->nstacks)
			return P->why = "site of an unknown stack", -1;
		s->nchanges++;
	}
	return 0;
}

static int
rec_ages(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_snapshot *s = &P->cur;
	uint64_t index = ls_cur_uv(c), count = ls_cur_uv(c), g, k;

	if (!P->snap_open || index != s->index)
		return P->why = "AGES outside its snapshot", -1;
	if (count > lsr_left(c) / 3)
		return P->why = "age count out of range", -1;
	for (g = 0; g < count; g++) {
		uint64_t stack = ls_cur_uv(c), replace = ls_cur_uv(c);
		uint64_t n = ls_cur_uv(c), ep = 0;

		if (c->err)
			return P->why = "AGES record cut short", -1;
		if (stack >= P->d->nstacks || replace > 1 || n > lsr_left(c) / 3)
			return P->why = "age group out of range", -1;
		P->ages = lsr_xgrow(P->ages, &P->cap_ages, P->nstaged + n + 1,
		    sizeof(*P->ages));
		if (replace) {
			/* "Clear" marker: epoch UINT32_MAX. */
			P->ages[P->nstaged].stack = (uint32_t)stack;
			P->ages[P->nstaged].epoch = UINT32_MAX;
			P->nstaged++;
		}
		for (k = 0; k < n; k++) {
			struct lsr_age *a = &P->ages[P->nstaged];
			uint64_t d = ls_cur_uv(c);

			ep += d;
			a->stack = (uint32_t)stack;
			a->blocks = ls_cur_uv(c);
			a->bytes = ls_cur_uv(c);
			if (c->err)
				return P->why = "AGES record cut short", -1;
			if ((k > 0 && d == 0) || ep > s->epoch)
				return P->why = "age epochs out of order", -1;
			a->epoch = (uint32_t)ep;
			P->nstaged++;
		}
		s->nages++;
	}
	return 0;
}

static int
rec_snapshot_end(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	uint64_t index = ls_cur_uv(c), n = ls_cur_uv(c);
	uint64_t nages = c->p < c->end ? ls_cur_uv(c) : 0;

	if (c->err || !P->snap_open || index != P->cur.index)
		return P->why = "SNAPSHOT_END without its snapshot", -1;
	if (n != P->cur.nchanges)
		return P->why = "snapshot has a wrong number of sites", -1;
	if (nages != P->cur.nages)
		return P->why = "snapshot has a wrong number of ages", -1;
	commit_snapshot(P);
	d->snaps = lsr_xgrow(d->snaps, &P->cap_snaps, d->nsnaps + 1,
	    sizeof(*d->snaps));
	d->snaps[d->nsnaps++] = P->cur;
	memset(&P->cur, 0, sizeof(P->cur));
	P->snap_open = false;
	return 0;
}

static int
rec_note(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;

	d->notes = lsr_xgrow(d->notes, &P->cap_notes, d->nnotes + 1,
	    sizeof(*d->notes));
	d->notes[d->nnotes++] = cur_strdup(c);
	return 0;
}

void
lsr_parse(const uint8_t *data, size_t size, struct lsr_dump *d)
{
	struct lsr_parser P = { .d = d };
	const char *why = NULL;
	size_t off = ls_dump_check_header(data, size, &why);
	struct ls_rec rec;
	int r;

	if (off == 0) {
		fail(d, 0, "%s", why);
		return;
	}
	while ((r = ls_dump_next(data, size, &off, &rec, &why)) == 1) {
		struct ls_cur *c = &rec.body;
		int rr;

		if (d->final && P.final_how == LS_FINAL_EXEC) {
			d->final = false;	/* the exec failed */
		} else if (d->final) {
			fail(d, rec.offset, "record after the final one");
			break;
		}
		if (!d->have_process && rec.type != LS_REC_PROCESS) {
			fail(d, rec.offset, "dump does not start with PROCESS");
			break;
		}
		P.why = NULL;
		switch (rec.type) {
		case LS_REC_PROCESS:
			rr = rec_process(&P, c);
			break;
		case LS_REC_MODULE:
			rr = rec_module(&P, c);
			break;
		case LS_REC_MODULE_GONE:
			rr = rec_module_gone(&P, c);
			break;
		case LS_REC_STACKS:
			rr = rec_stacks(&P, c);
			break;
		case LS_REC_SNAPSHOT:
			rr = rec_snapshot(&P, c);
			break;
		case LS_REC_SITES:
			rr = rec_sites(&P, c);
			break;
		case LS_REC_SNAPSHOT_END:
			rr = rec_snapshot_end(&P, c);
			break;
		case LS_REC_AGES:
			rr = rec_ages(&P, c);
			break;
		case LS_REC_FINAL:
			if (P.snap_open) {
				P.why = "FINAL inside a snapshot";
				rr = -1;
			} else {
				d->final = true;
				P.final_how = ls_cur_uv(c);
				rr = 0;
			}
			break;
		case LS_REC_NOTE:
			rr = rec_note(&P, c);
			break;
		case LS_REC_THREADS:
			rr = lsr_rec_threads(&P, c);
			break;
		case LS_REC_STACK_THREADS:
			rr = lsr_rec_stack_threads(&P, c);
			break;
		default:
			if (rec.type & LS_REC_OPTIONAL) {
				rr = 0;
				break;
			}
			fail(d, rec.offset, "unknown record type %u",
			    rec.type);
			rr = -2;
			break;
		}
		if (rr == -1)
			fail(d, rec.offset, "%s", P.why);
		if (rr != 0)
			break;
	}
	if (r < 0)
		fail(d, off, "%s", why);
	if (P.snap_open && d->error == NULL)
		fail(d, size, "the last snapshot is cut short");
	free(P.changes);
	free(P.ages);
	free(P.tmap);
	if (!d->final)
		d->incomplete = true;
}

int
lsr_read(const char *path, struct lsr_dump *d)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	int fd;

	memset(d, 0, sizeof(*d));
	d->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) ||
	    S_ISFIFO(st.st_mode))) {
		warnx("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* Blocking reads from here on (a FIFO was opened non-blocking only
	 * so that opening it does not wait). */
	fcntl(fd, F_SETFL, 0);
	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			cap = cap ? cap * 2 : (size_t)st.st_size + 65536;
			data = realloc(data, cap);
			if (data == NULL)
				err(3, "out of memory");
		}
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("%s", path);
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	lsr_parse(data, len, d);
	free(data);
	return 0;
}

void
lsr_dump_fini(struct lsr_dump *d)
{
	size_t i;


	free(d->exe);
	for (i = 0; d->argv && i < d->argc; i++)
		free(d->argv[i]);
	free(d->argv);
	free(d->interpose_note);
	free(d->alloc_addrs);
	for (i = 0; i < d->nmodules; i++) {
		free(d->modules[i].path);
		free(d->modules[i].seg);
	}
	free(d->modules);
	for (i = 0; i < d->nstacks; i++) {
		free(d->stacks[i].ip);
		free(d->stacks[i].chg);
		free(d->stacks[i].age);
	}
	free(d->stacks);
	free(d->snaps);
	for (i = 0; i < d->nnotes; i++)
		free(d->notes[i]);
	free(d->notes);
	for (i = 0; i < d->nthread_names; i++)
		free(d->thread_names[i]);
	free(d->thread_names);
	for (i = 0; i < d->nthreads; i++) {
		free(d->threads[i].ip);
		free(d->threads[i].ver);
	}
	free(d->threads);
	free(d->error);
	memset(d, 0, sizeof(*d));
}
