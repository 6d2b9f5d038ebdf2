/* SPDX-License-Identifier: MIT */
/*
 * The report as lines for the shell and for flame graph tools: folded
 * stacks (--format collapsed) and one line an allocation point
 * (--format brief).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "out.h"
#include "xalloc.h"

#define MAX_EXPANDED 64

/* A line before merging: its text and its counts. */
struct line {
	char *text;
	uint64_t a, b;
};

struct lines {
	size_t n, cap;
	struct line *v;
};

static void
add_line(struct lines *l, char *text, uint64_t a, uint64_t b)
{
	l->v = lsr_xgrow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = (struct line){ text, a, b };
}

static int
by_text_cmp(const void *x, const void *y)
{
	return strcmp(((const struct line *)x)->text,
	    ((const struct line *)y)->text);
}

/* a + b, at most UINT64_MAX (a damaged dump's figures can be any). */
static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Sum the counts of equal lines (sites that differ only in what the
 * line does not show, a line number or a thread). */
static void
merge(struct lines *l)
{
	size_t i, o = 0;

	if (l->n == 0)
		return;	/* qsort wants an array */
	qsort(l->v, l->n, sizeof(*l->v), by_text_cmp);
	for (i = 0; i < l->n; i++) {
		if (o > 0 && strcmp(l->v[o - 1].text, l->v[i].text) == 0) {
			l->v[o - 1].a = sat_add(l->v[o - 1].a, l->v[i].a);
			l->v[o - 1].b = sat_add(l->v[o - 1].b, l->v[i].b);
			free(l->v[i].text);
			continue;
		}
		l->v[o++] = l->v[i];
	}
	l->n = o;
}

static void
free_lines(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
}

/* s without ';' (the separator) and control characters (a newline
 * would end the line): ':' and ' ' instead. */
static void
put_clean(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc(*s == ';' ? ':' : (unsigned char)*s < 0x20 ||
		    *s == 0x7f ? ' ' : *s, f);
}

/* A frame's name for a folded stack: the function, else module+offset,
 * else the address. */
static void
put_name(FILE *f, const struct lsr_frame *fr)
{
	if (fr->function != NULL) {
		put_clean(f, fr->function);
	} else if (fr->module != NULL) {
		put_clean(f, lsr_base_name(fr->module));
		fprintf(f, "+0x%" PRIx64, fr->offset);
	} else {
		fprintf(f, "0x%" PRIx64, fr->ip);
	}
}

/* Site s's stack, root first, ';'-separated; with --by-thread the
 * thread's name in brackets is the root.  Allocates. */
static char *
folded(struct lsr_report *r, const struct lsr_site *s)
{
	struct lsr_dump *d = r->d;
	const struct lsr_stack *st = &d->stacks[s->stack];
	struct lsr_frame fr[MAX_EXPANDED];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool first = true;
	unsigned k, m, j;

	if (f == NULL)
		lsr_nomem();
	if (r->by_thread) {
		fputc('[', f);
		put_clean(f, s->thread && *s->thread ? s->thread :
		    "unnamed thread");
		fputc(']', f);
		first = false;
	}
	if (s->truncated) {
		fprintf(f, "%s[truncated]", first ? "" : ";");
		first = false;
	}
	for (k = st->nframes; k-- > s->skip;) {
		m = lsr_symbolize(d, st->ip[k], st->gen, fr, MAX_EXPANDED);
		/* innermost inline frame first: the caller is the last */
		for (j = m; j-- > 0;) {
			if (!first)
				fputc(';', f);
			put_name(f, &fr[j]);
			first = false;
		}
	}
	if (first)
		fputs("[no stack]", f);
	if (fclose(f) != 0)
		lsr_nomem();
	return text;
}

/* Biggest first: the count at B, then at A, then by text. */
static int
by_weight(const void *x, const void *y)
{
	const struct line *p = x, *q = y;

	if (p->b != q->b)
		return p->b < q->b ? 1 : -1;
	if (p->a != q->a)
		return p->a < q->a ? 1 : -1;
	return strcmp(p->text, q->text);
}

/* Lines l biggest first and, with -n, only the o->top biggest; then by
 * text if by_text.  Cut once merged, so that sites that fold into one
 * line count as one. */
static void
keep_top(struct lines *l, const struct lsr_out_opts *o, bool by_text)
{
	size_t i, n = o->top && o->top < l->n ? o->top : l->n;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), by_weight);
	for (i = n; i < l->n; i++)
		free(l->v[i].text);
	l->n = n;
	if (by_text)
		qsort(l->v, l->n, sizeof(*l->v), by_text_cmp);
}

void
lsr_out_collapsed(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	bool diff = r->from != SIZE_MAX;
	bool two = diff && o->weight != LSR_W_WINDOW;
	struct lines l = { 0 };
	size_t i;

	for (i = 0; i < r->nsites; i++) {
		const struct lsr_site *s = &r->sites[i];
		uint64_t a, b;

		if (o->weight == LSR_W_WINDOW) {
			a = 0;
			b = s->diff.new_bytes;
		} else if (o->weight == LSR_W_BLOCKS) {
			b = s->v.live_blocks;
			a = diff ? b - (uint64_t)s->diff.live_blocks : 0;
		} else {
			b = s->v.live_bytes;
			a = diff ? b - (uint64_t)s->diff.live_bytes : 0;
		}
		if (b == 0 && a == 0)
			continue;
		add_line(&l, folded(r, s), a, b);
	}
	merge(&l);
	keep_top(&l, o, true);
	for (i = 0; i < l.n; i++) {
		if (two)
			fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n", l.v[i].text,
			    l.v[i].a, l.v[i].b);
		else
			fprintf(f, "%s %" PRIu64 "\n", l.v[i].text, l.v[i].b);
	}
	free_lines(&l);
}

/* Site s's allocation point, "file:line:function", as memprof2 wrote
 * it ("??" for what is unknown).  Allocates. */
static char *
point(struct lsr_report *r, const struct lsr_site *s)
{
	struct lsr_dump *d = r->d;
	const struct lsr_stack *st = &d->stacks[s->stack];
	struct lsr_frame fr[MAX_EXPANDED];
	char *name = NULL;
	size_t len = 0;
	FILE *f;

	if (st->nframes <= s->skip)
		return lsr_xstrdup("??:0:??");
	lsr_symbolize(d, st->ip[s->skip], st->gen, fr, MAX_EXPANDED);
	f = open_memstream(&name, &len);
	if (f == NULL)
		lsr_nomem();
	put_clean(f, fr[0].file ? fr[0].file : "??");
	fprintf(f, ":%u:", fr[0].line);
	if (fr[0].function != NULL)
		put_name(f, &fr[0]);
	else
		fputs("??", f);
	if (fclose(f) != 0)
		lsr_nomem();
	return name;
}

void
lsr_out_brief(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	struct lines l = { 0 };
	size_t i;

	for (i = 0; i < r->nsites; i++) {
		const struct lsr_site *s = &r->sites[i];
		uint64_t n = r->from != SIZE_MAX ? s->diff.new_bytes :
		    s->v.live_bytes;

		if (n != 0)
			add_line(&l, point(r, s), 0, n);
	}
	merge(&l);
	keep_top(&l, o, false);
	for (i = 0; i < l.n; i++)
		fprintf(f, "%" PRIu64 " %s\n", l.v[i].b, l.v[i].text);
	free_lines(&l);
}
