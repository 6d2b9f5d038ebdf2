/* SPDX-License-Identifier: MIT */
/*
 * Reading the thread records of a dump: THREADS (each thread's versions,
 * one per snapshot that listed it) and STACK_THREADS (the name of the
 * thread that allocated from each stack); and what they say as of a
 * snapshot: each thread's state, and which are thread leaks.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "read.h"
#include "xalloc.h"

/* The index of thread name s (length n) in d->thread_names. */
static uint32_t
intern_name(struct lsr_parser *P, const char *s, size_t n)
{
	struct lsr_dump *d = P->d;
	size_t i;
	char *copy;

	if (d->nthread_names == 0) {
		d->thread_names = lsr_xgrow(d->thread_names, &P->cap_names, 1,
		    sizeof(*d->thread_names));
		d->thread_names[d->nthread_names++] = lsr_xstrndup("", 0);
	}
	for (i = 0; i < d->nthread_names; i++)
		if (strlen(d->thread_names[i]) == n &&
		    memcmp(d->thread_names[i], s, n) == 0)
			return (uint32_t)i;
	copy = lsr_xstrndup(s, n);
	d->thread_names = lsr_xgrow(d->thread_names, &P->cap_names,
	    d->nthread_names + 1, sizeof(*d->thread_names));
	d->thread_names[d->nthread_names] = copy;
	return (uint32_t)d->nthread_names++;
}

int
lsr_rec_stack_threads(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	uint64_t first = ls_cur_uv(c), count = ls_cur_uv(c), k;

	if (c->err || first > d->nstacks || count > d->nstacks - first)
		return P->why = "STACK_THREADS for unknown stacks", -1;
	for (k = 0; k < count; k++) {
		size_t n;
		const char *name = ls_cur_str(c, &n);

		if (c->err || name == NULL)
			return P->why = "STACK_THREADS record cut short", -1;
		if (memchr(name, 0, n) != NULL || n > 64)
			return P->why = "bad thread name", -1;
		d->stacks[first + k].thread = intern_name(P, name, n);
	}
	return 0;
}

/* The index of the thread with this serial, adding it if new. */
static size_t
thread_slot(struct lsr_parser *P, uint64_t serial, bool *fresh)
{
	struct lsr_dump *d = P->d;
	size_t i, mask;

	if (P->tmap_cap == 0 || d->nthreads * 2 >= P->tmap_cap) {
		size_t cap = P->tmap_cap ? P->tmap_cap * 2 : 64;
		uint64_t *m = lsr_xcalloc(cap, sizeof(*m));

		for (i = 0; i < d->nthreads; i++) {
			size_t h = (size_t)(d->threads[i].serial *
			    0x9e3779b97f4a7c15ull) & (cap - 1);

			while (m[h] != 0)
				h = (h + 1) & (cap - 1);
			m[h] = i + 1;
		}
		free(P->tmap);
		P->tmap = m;
		P->tmap_cap = cap;
	}
	mask = P->tmap_cap - 1;
	for (i = (size_t)(serial * 0x9e3779b97f4a7c15ull) & mask;
	    P->tmap[i] != 0; i = (i + 1) & mask)
		if (d->threads[P->tmap[i] - 1].serial == serial) {
			*fresh = false;
			return P->tmap[i] - 1;
		}
	d->threads = lsr_xgrow(d->threads, &P->cap_threads, d->nthreads + 1,
	    sizeof(*d->threads));
	memset(&d->threads[d->nthreads], 0, sizeof(d->threads[0]));
	d->threads[d->nthreads].serial = serial;
	P->tmap[i] = d->nthreads + 1;
	*fresh = true;
	return d->nthreads++;
}

/* A THREADS entry, read whole before it goes into the model. */
struct entry {
	uint64_t serial, tid, creator, start, created, gen, n;
	const char *name;
	size_t len;
	uint64_t state, exited;
	struct ls_cur frames;	/* its n return addresses */
};

static int
read_entry(struct lsr_parser *P, struct ls_cur *c, struct entry *e)
{
	uint64_t i;

	e->serial = ls_cur_uv(c);
	e->tid = ls_cur_uv(c);
	e->creator = ls_cur_uv(c);
	e->name = ls_cur_str(c, &e->len);
	e->state = ls_cur_uv(c);
	e->exited = ls_cur_uv(c);
	e->start = ls_cur_uv(c);
	e->created = ls_cur_uv(c);
	e->gen = ls_cur_uv(c);
	e->n = ls_cur_uv(c);
	if (c->err || e->name == NULL)
		return P->why = "THREADS record cut short", -1;
	if (memchr(e->name, 0, e->len) != NULL || e->len > 64)
		return P->why = "bad thread name", -1;
	if (e->exited > 1)
		return P->why = "bad thread exited flag (not 0 or 1)", -1;
	if (e->gen > UINT32_MAX)
		return P->why = "thread generation out of range", -1;
	if (e->n > LSR_MAX_FRAMES_READ || e->n > lsr_left(c))
		return P->why = "frame count out of range", -1;
	e->frames = *c;
	for (i = 0; i < e->n; i++)
		(void)ls_cur_uv(c);
	if (c->err)
		return P->why = "THREADS record cut short", -1;
	return 0;
}

/* Add entry e, a version of its thread as of the open snapshot. */
static void
add_entry(struct lsr_parser *P, struct entry *e)
{
	struct lsr_dump *d = P->d;
	struct lsr_thread_ver v = { .snap = d->nsnaps };
	struct lsr_thread *t;
	bool fresh;
	size_t i;

	v.state = lsr_enum(e->state, LS_THREAD_COUNT);
	v.exited = e->exited == 1;
	v.name = intern_name(P, e->name, e->len);
	i = thread_slot(P, e->serial, &fresh);	/* may move d->threads */
	t = &d->threads[i];
	if (fresh) {
		t->tid = e->tid;
		t->creator = e->creator;
		t->start = e->start;
		t->created_ns = e->created;
		t->gen = (uint32_t)e->gen;
		t->nframes = (unsigned)e->n;
		t->ip = lsr_xcalloc((size_t)e->n, sizeof(*t->ip));
		for (i = 0; i < e->n; i++)
			t->ip[i] = ls_cur_uv(&e->frames);
	}
	/* One version per snapshot: a later entry replaces it. */
	if (t->nver > 0 && t->ver[t->nver - 1].snap == v.snap) {
		t->ver[t->nver - 1] = v;
	} else {
		t->ver = lsr_xgrow(t->ver, &t->cap_ver, t->nver + 1,
		    sizeof(*t->ver));
		t->ver[t->nver++] = v;
	}
}

int
lsr_rec_threads(struct lsr_parser *P, struct ls_cur *c)
{
	uint64_t count, k;
	struct entry e;

	/* Eleven fields an entry at least. */
	if (lsr_snap_head(P, c, 11, "THREADS outside its snapshot",
	    "thread count out of range", &count) != 0)
		return -1;
	for (k = 0; k < count; k++) {
		if (read_entry(P, c, &e) != 0)
			return -1;
		add_entry(P, &e);
	}
	return 0;
}

const struct lsr_thread_ver *
lsr_thread_at(const struct lsr_thread *t, size_t snap)
{
	size_t i;

	for (i = t->nver; i > 0; i--)
		if (t->ver[i - 1].snap <= snap)
			return &t->ver[i - 1];
	return NULL;
}

bool
lsr_thread_at_exit(const struct lsr_report *r)
{
	const struct lsr_snapshot *s = lsr_report_snap(r);

	/* A process a signal ended had no chance to join its threads. */
	return s != NULL && r->snap == r->d->nsnaps - 1 && r->d->final &&
	    r->d->final_how != LS_FINAL_SIGNAL &&
	    s->reason != LS_SNAP_INTERVAL && s->reason != LS_SNAP_SIGNAL;
}

bool
lsr_thread_leaked(const struct lsr_report *r, const struct lsr_thread_ver *v)
{
	return v->state == LS_THREAD_EXITED_UNJOINED ||
	    (v->state == LS_THREAD_RUNNING && lsr_thread_at_exit(r));
}
