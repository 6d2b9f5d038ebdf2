/* SPDX-License-Identifier: MIT */
/*
 * The report as a pprof profile (--format pprof): profile.proto of
 * github.com/google/pprof, gzipped, for go tool pprof and the tools that
 * read its format.  The protobuf is encoded by hand: the message is
 * small and fixed, and a library would be a dependency for five wire
 * types.
 *
 * The dump's figures are already what the shim weighed each sampled
 * block for (lsp_weigh: 1/(1-exp(-size/rate)) per block), so a sampled
 * dump's values go out as they are, equal to the JSON's, not scaled a
 * second time.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "arena.h"
#include "out.h"
#include "xalloc.h"

/* The tables' arena: uthash through ls_hash.h, as in group.c. */
static struct ls_arena pprof_arena;
#define LS_HASH_ARENA (&pprof_arena)
#include "ls_hash.h"

#define MAX_EXPANDED 64

/* A protobuf message being built. */
struct pb {
	uint8_t *p;
	size_t n, cap;
};

static void
pb_raw(struct pb *b, const void *data, size_t len)
{
	b->p = lsr_xgrow(b->p, &b->cap, b->n + len, 1);
	memcpy(b->p + b->n, data, len);
	b->n += len;
}

static void
pb_varint(struct pb *b, uint64_t v)
{
	uint8_t t[10];
	size_t k = 0;

	do {
		t[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	pb_raw(b, t, k);
}

/* A varint field; zero is the default and left out. */
static void
pb_uint(struct pb *b, unsigned field, uint64_t v)
{
	if (v == 0)
		return;
	pb_varint(b, (uint64_t)field << 3);
	pb_varint(b, v);
}

static void
pb_bytes(struct pb *b, unsigned field, const void *data, size_t len)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, len);
	pb_raw(b, data, len);
}

/* Message sub as field of b; sub is emptied for the next one. */
static void
pb_msg(struct pb *b, unsigned field, struct pb *sub)
{
	pb_bytes(b, field, sub->p, sub->n);
	sub->n = 0;
}

/* A string and its index in string_table, or a function's or location's
 * key and its id. */
struct entry {
	UT_hash_handle hh;
	uint64_t id;
	uint64_t key[3];
	char s[];
};

/* The string table and the strings' indexes. */
struct strtab {
	struct pb out;		/* the string_table fields */
	uint64_t n;
	struct entry *table;
};

/* Functions and locations met so far, by key, and their ids. */
struct idmap {
	uint64_t n;
	struct entry *table;
};

static struct entry *
new_entry(size_t extra)
{
	struct entry *e = ls_arena_zalloc(&pprof_arena, sizeof(*e) + extra);

	if (e == NULL)
		lsr_nomem();
	return e;
}

static void
table_add(struct entry **table, struct entry *e, const void *key,
    size_t len)
{
	unsigned long oom = ls_hash_oom_count;

	HASH_ADD_KEYPTR(hh, *table, key, len, e);
	if (ls_hash_oom_count != oom)
		lsr_nomem();
}

static int64_t
str_idx(struct strtab *t, const char *s)
{
	size_t len = strlen(s);
	struct entry *e;

	HASH_FIND(hh, t->table, s, len, e);
	if (e != NULL)
		return (int64_t)e->id;
	e = new_entry(len + 1);
	memcpy(e->s, s, len + 1);
	e->id = t->n++;
	table_add(&t->table, e, e->s, len);
	pb_bytes(&t->out, 6, s, len);
	return (int64_t)e->id;
}

/* The id of key k, or 0. */
static uint64_t
id_find(struct idmap *m, const uint64_t k[3])
{
	struct entry *e;

	HASH_FIND(hh, m->table, k, sizeof(e->key), e);
	return e != NULL ? e->id : 0;
}

static uint64_t
id_add(struct idmap *m, const uint64_t k[3])
{
	struct entry *e = new_entry(0);

	memcpy(e->key, k, sizeof(e->key));
	e->id = ++m->n;
	table_add(&m->table, e, e->key, sizeof(e->key));
	return e->id;
}

struct enc {
	struct lsr_report *r;
	struct pb prof;		/* the Profile, but for its strings */
	struct pb msg, sub;	/* scratch */
	struct strtab str;
	struct idmap funcs, locs;
};

/* A frame's name: the function, else module+offset, else the address
 * (as the folded stacks name it), so that no two unknowns merge. */
static char *
frame_name(const struct lsr_frame *fr)
{
	if (fr->function != NULL)
		return lsr_xstrdup(fr->function);
	if (fr->module != NULL)
		return lsr_xasprintf("%s+0x%" PRIx64,
		    lsr_base_name(fr->module), fr->offset);
	return lsr_xasprintf("0x%" PRIx64, fr->ip);
}

static uint64_t
function_id(struct enc *e, const struct lsr_frame *fr)
{
	char *name = frame_name(fr);
	uint64_t k[3], id;

	k[0] = (uint64_t)str_idx(&e->str, name);
	k[1] = (uint64_t)str_idx(&e->str, fr->file ? fr->file : "");
	k[2] = 0;
	free(name);
	if ((id = id_find(&e->funcs, k)) != 0)
		return id;
	id = id_add(&e->funcs, k);
	pb_uint(&e->msg, 1, id);
	pb_uint(&e->msg, 2, k[0]);
	pb_uint(&e->msg, 3, k[0]);	/* no mangled name is kept */
	pb_uint(&e->msg, 4, k[1]);
	pb_msg(&e->prof, 5, &e->msg);
	return id;
}

/* The location of return address ip of a stack at generation gen: one a
 * module and address, its lines the inline frames, innermost first as
 * in pprof. */
static uint64_t
location_id(struct enc *e, uint64_t ip, uint32_t gen)
{
	struct lsr_dump *d = e->r->d;
	struct lsr_module *m = lsr_module_of(d, ip, gen);
	struct lsr_frame fr[MAX_EXPANDED];
	uint64_t k[3], id, fid[MAX_EXPANDED];
	unsigned i, n;

	k[0] = ip;
	k[1] = m ? (uint64_t)(m - d->modules) + 1 : 0;
	k[2] = 0;
	if ((id = id_find(&e->locs, k)) != 0)
		return id;
	id = id_add(&e->locs, k);
	n = lsr_symbolize(d, ip, gen, fr, MAX_EXPANDED);
	/* The functions first: they are fields of prof, as the location. */
	for (i = 0; i < n; i++)
		fid[i] = function_id(e, &fr[i]);
	pb_uint(&e->msg, 1, id);
	pb_uint(&e->msg, 2, k[1]);
	pb_uint(&e->msg, 3, ip);
	for (i = 0; i < n; i++) {
		pb_uint(&e->sub, 1, fid[i]);
		pb_uint(&e->sub, 2, fr[i].line);
		pb_msg(&e->msg, 4, &e->sub);
	}
	pb_msg(&e->prof, 4, &e->msg);
	return id;
}

static void
value_type(struct enc *e, unsigned field, const char *type, const char *unit)
{
	pb_uint(&e->msg, 1, (uint64_t)str_idx(&e->str, type));
	pb_uint(&e->msg, 2, (uint64_t)str_idx(&e->str, unit));
	pb_msg(&e->prof, field, &e->msg);
}

/* One mapping a module: its segments' span; file_offset is the span's
 * start less the load bias, the ELF address of its first segment, which
 * is its file offset in the usual layouts.  The locations carry their
 * functions and lines, so pprof need not symbolize. */
static void
mappings(struct enc *e)
{
	struct lsr_dump *d = e->r->d;
	char hex[2 * sizeof(d->modules[0].build_id) + 1];
	size_t i, j;

	for (i = 0; i < d->nmodules; i++) {
		const struct lsr_module *m = &d->modules[i];
		uint64_t lo = UINT64_MAX, hi = 0;

		for (j = 0; j < m->nseg; j++) {
			if (m->seg[j][0] < lo)
				lo = m->seg[j][0];
			if (m->seg[j][0] + m->seg[j][1] > hi)
				hi = m->seg[j][0] + m->seg[j][1];
		}
		if (lo > hi)
			lo = hi = 0;
		for (j = 0; j < m->build_id_len; j++)
			snprintf(hex + 2 * j, 3, "%02x", m->build_id[j]);
		hex[2 * j] = '\0';
		pb_uint(&e->msg, 1, i + 1);
		pb_uint(&e->msg, 2, lo);
		pb_uint(&e->msg, 3, hi);
		pb_uint(&e->msg, 4, lo >= m->bias ? lo - m->bias : 0);
		pb_uint(&e->msg, 5, (uint64_t)str_idx(&e->str,
		    m->path ? m->path : ""));
		pb_uint(&e->msg, 6, (uint64_t)str_idx(&e->str, hex));
		pb_uint(&e->msg, 7, 1);
		pb_uint(&e->msg, 8, 1);
		pb_uint(&e->msg, 9, 1);
		pb_uint(&e->msg, 10, 1);
		pb_msg(&e->prof, 3, &e->msg);
	}
}

/* Site s as a sample: its stack from the caller of the allocator, leaf
 * first as in pprof; with --diff the window's figures. */
static void
sample(struct enc *e, const struct lsr_site *s)
{
	struct lsr_dump *d = e->r->d;
	const struct lsr_stack *st = &d->stacks[s->stack];
	struct pb ids = { 0 }, vals = { 0 };
	uint64_t v[4];
	unsigned k, i;

	if (e->r->from != SIZE_MAX) {
		v[0] = s->diff.new_blocks;
		v[1] = s->diff.new_bytes;
		v[2] = s->diff.alloc_blocks;
		v[3] = s->diff.alloc_bytes;
	} else {
		v[0] = s->v.live_blocks;
		v[1] = s->v.live_bytes;
		v[2] = s->v.alloc_blocks;
		v[3] = s->v.alloc_bytes;
	}
	for (k = s->skip; k < st->nframes; k++)
		pb_varint(&ids, location_id(e, st->ip[k], st->gen));
	for (i = 0; i < 4; i++)
		pb_varint(&vals, v[i]);
	if (ids.n > 0)
		pb_bytes(&e->msg, 1, ids.p, ids.n);
	pb_bytes(&e->msg, 2, vals.p, vals.n);
	/* What a stack cannot show: the thread (--by-thread), a cut. */
	if (e->r->by_thread) {
		pb_uint(&e->sub, 1, (uint64_t)str_idx(&e->str, "thread"));
		pb_uint(&e->sub, 2, (uint64_t)str_idx(&e->str,
		    s->thread && *s->thread ? s->thread : "unnamed thread"));
		pb_msg(&e->msg, 3, &e->sub);
	}
	if (s->truncated) {
		pb_uint(&e->sub, 1, (uint64_t)str_idx(&e->str, "truncated"));
		pb_uint(&e->sub, 2, (uint64_t)str_idx(&e->str, "true"));
		pb_msg(&e->msg, 3, &e->sub);
	}
	pb_msg(&e->prof, 2, &e->msg);
	free(ids.p);
	free(vals.p);
}

/* Deflate buf into f as one gzip member (31: a 32 KiB window, gzip's
 * header and trailer). */
static void
gzip_out(FILE *f, const uint8_t *buf, size_t len)
{
	uint8_t out[16384];
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		lsr_nomem();
	z.next_in = (Bytef *)buf;
	z.avail_in = 0;
	do {
		/* avail_in is an unsigned int: feed a big buffer in parts. */
		if (z.avail_in == 0 && len > 0) {
			z.avail_in = len > (1u << 30) ? 1u << 30 : (uInt)len;
			len -= z.avail_in;
		}
		z.next_out = out;
		z.avail_out = sizeof(out);
		rc = deflate(&z, len == 0 ? Z_FINISH : Z_NO_FLUSH);
		if (rc == Z_STREAM_ERROR)
			lsr_nomem();
		fwrite(out, 1, sizeof(out) - z.avail_out, f);
	} while (rc != Z_STREAM_END);
	deflateEnd(&z);
}

void
lsr_out_pprof(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	struct lsr_dump *d = r->d;
	const struct lsr_snapshot *snap = lsr_report_snap(r);
	struct enc e = { .r = r };
	size_t i, n;

	ls_arena_init(&pprof_arena, 1 << 16);
	str_idx(&e.str, "");	/* string_table[0] is "" */
	value_type(&e, 1, "inuse_objects", "count");
	value_type(&e, 1, "inuse_space", "bytes");
	value_type(&e, 1, "alloc_objects", "count");
	value_type(&e, 1, "alloc_space", "bytes");
	mappings(&e);
	/* No snapshot: a profile without samples, still a valid one. */
	n = o->top && o->top < r->nsites ? o->top : r->nsites;
	for (i = 0; i < n; i++)
		sample(&e, &r->sites[i]);
	/* With --diff, the window from A to B; else since the start. */
	if (snap != NULL && r->from != SIZE_MAX) {
		const struct lsr_snapshot *a = &d->snaps[r->from];

		pb_uint(&e.prof, 9, a->real_ns);
		if (snap->real_ns > a->real_ns)
			pb_uint(&e.prof, 10, snap->real_ns - a->real_ns);
	} else if (snap != NULL) {
		pb_uint(&e.prof, 9, snap->real_ns);
		if (d->have_process && snap->real_ns > d->start_real_ns)
			pb_uint(&e.prof, 10, snap->real_ns - d->start_real_ns);
	}
	pb_uint(&e.msg, 1, (uint64_t)str_idx(&e.str, "space"));
	pb_uint(&e.msg, 2, (uint64_t)str_idx(&e.str, "bytes"));
	pb_msg(&e.prof, 11, &e.msg);
	pb_uint(&e.prof, 12, d->sample_bytes ? d->sample_bytes : 1);
	if (d->sample_bytes != 0) {
		char *c = lsr_xasprintf("sampled: one allocation per %" PRIu64
		    " bytes on average; figures are estimates",
		    d->sample_bytes);

		pb_uint(&e.prof, 13, (uint64_t)str_idx(&e.str, c));
		free(c);
	}
	if (r->from != SIZE_MAX)
		pb_uint(&e.prof, 13, (uint64_t)str_idx(&e.str, "--diff: "
		    "inuse is what was allocated after A and is live at B, "
		    "alloc what was allocated between A and B"));
	pb_uint(&e.prof, 14, (uint64_t)str_idx(&e.str, "inuse_space"));
	/* The strings last: every field above has added its own. */
	pb_raw(&e.prof, e.str.out.p, e.str.out.n);
	gzip_out(f, e.prof.p, e.prof.n);
	free(e.str.out.p);
	/* The tables' entries and buckets, all at once. */
	ls_arena_fini(&pprof_arena);
	free(e.prof.p);
	free(e.msg.p);
	free(e.sub.p);
}
