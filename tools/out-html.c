/* SPDX-License-Identifier: MIT */
/*
 * The report as one self-contained HTML page (--format html): the
 * page's style and script (tools/html/, embedded at build time with
 * their hashes for the Content-Security-Policy) and the report's data as
 * JSON inside it.  The layout of that data is described at the top of
 * tools/html/page.js (with page-site.js, the script that reads it); what
 * is big is packed there as base64 of LEB128 numbers, decoded only when it
 * is shown.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "html-page.h"
#include "out.h"
#include "xalloc.h"

/* Unit tests and the fuzzer build this file without the version. */
#ifndef LS_VERSION
#define LS_VERSION "unknown"
#endif

#define MAX_EXPANDED 64
#define HTML_COLS 64		/* snapshots with a flame graph */
#define HTML_SPARK 48		/* points of a sparkline */
#define HTML_BANDS 8		/* sites stacked in the chart */
#define HTML_CHART 2000		/* points of the chart */

/* base64 of a byte stream, written as it comes. */
struct b64 {
	FILE *f;
	unsigned char in[3];
	unsigned n;
};

static const char b64_abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
b64_flush(struct b64 *b)
{
	unsigned char *p = b->in;
	char o[4];

	if (b->n == 0)
		return;
	if (b->n < 3)
		memset(p + b->n, 0, 3 - b->n);
	o[0] = b64_abc[p[0] >> 2];
	o[1] = b64_abc[(p[0] & 3) << 4 | p[1] >> 4];
	o[2] = b->n > 1 ? b64_abc[(p[1] & 15) << 2 | p[2] >> 6] : '=';
	o[3] = b->n > 2 ? b64_abc[p[2] & 63] : '=';
	fwrite(o, 1, 4, b->f);
	b->n = 0;
}

static void
b64_byte(struct b64 *b, unsigned c)
{
	b->in[b->n++] = (unsigned char)c;
	if (b->n == 3)
		b64_flush(b);
}

/* An unsigned LEB128 number. */
static void
b64_uv(struct b64 *b, uint64_t v)
{
	while (v >= 0x80) {
		b64_byte(b, (unsigned)(v & 0x7f) | 0x80);
		v >>= 7;
	}
	b64_byte(b, (unsigned)v);
}

static const char *
num(double v)
{
	return lsr_json_num(v);
}

static void
jstr(FILE *f, const char *s)
{
	lsr_json_str_html(f, s);
}

/* s as HTML text: markup characters as references; bytes that are not
 * UTF-8 as U+FFFD. */
static void
html_text(FILE *f, const char *s)
{
	const unsigned char *c = (const unsigned char *)s;
	size_t n;

	for (; *c; c += n) {
		n = lsr_utf8_len(c);
		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			n = 1;
		} else if (*c == '<') {
			fputs("&lt;", f);
		} else if (*c == '>') {
			fputs("&gt;", f);
		} else if (*c == '&') {
			fputs("&amp;", f);
		} else if (*c < 0x20 || *c == 0x7f) {
			fputc(' ', f);
		} else {
			fwrite(c, 1, n, f);
		}
	}
}

/* A return address of a stack at a module generation, and its place in
 * the page's table of locations. */
struct loc {
	uint64_t ip;
	uint32_t gen;
	uint32_t id;
};

static int
by_ip(const void *x, const void *y)
{
	const struct loc *a = x, *b = y;

	if (a->ip != b->ip)
		return a->ip < b->ip ? -1 : 1;
	return a->gen < b->gen ? -1 : a->gen > b->gen;
}

/* What the page is made of, beside the report. */
struct page {
	FILE *f;
	struct lsr_report *r;
	size_t nshown;
	size_t nlocs;
	struct loc *locs;	/* sorted by ip and gen */
	size_t ncols;
	size_t cols[HTML_COLS + 1];	/* snapshot indexes, ascending */
	size_t nchart;
	size_t *chart;		/* snapshot indexes of the chart */
	uint64_t *total;	/* live bytes of every site, at chart[] */
	uint64_t (*band)[HTML_BANDS];	/* the first sites', at chart[] */
	uint64_t (*col)[2];	/* nshown x ncols: live bytes and blocks */
	char (*spark)[HTML_SPARK + 1];
	char *born;		/* "born", as put_site makes it */
	size_t born_len;
	FILE *born_f;
	struct b64 born_b;
	uint64_t (*acc)[2];	/* scratch: ncols + 1 */
};

/* The snapshots with a flame graph: evenly spaced from the first to the
 * report's, and the --diff's first. */
static void
pick_cols(struct page *p)
{
	const struct lsr_report *r = p->r;
	size_t n = r->snap + 1, i, j, o = 0;

	if (n <= HTML_COLS) {
		for (i = 0; i < n; i++)
			p->cols[o++] = i;
	} else {
		for (i = 0; i < HTML_COLS; i++)
			p->cols[o++] = (size_t)((double)i * (double)(n - 1) /
			    (HTML_COLS - 1) + 0.5);
		if (r->from != SIZE_MAX) {
			for (i = 0; i < o && p->cols[i] < r->from; i++)
				;
			if (i == o || p->cols[i] != r->from) {
				memmove(&p->cols[i + 1], &p->cols[i],
				    (o - i) * sizeof(p->cols[0]));
				p->cols[i] = r->from;
				o++;
			}
		}
	}
	/* Equal ones merged: rounding can repeat an index. */
	for (i = 0, j = 0; i < o; i++)
		if (j == 0 || p->cols[j - 1] != p->cols[i])
			p->cols[j++] = p->cols[i];
	p->ncols = j;
}

static void
pick_chart(struct page *p)
{
	size_t n = p->r->snap + 1, i;

	p->nchart = n < HTML_CHART ? n : HTML_CHART;
	p->chart = lsr_xcalloc(p->nchart, sizeof(*p->chart));
	for (i = 0; i < p->nchart; i++)
		p->chart[i] = p->nchart == n ? i : (size_t)((double)i *
		    (double)(n - 1) / (double)(p->nchart - 1) + 0.5);
}

/* The sparkline of series s[0..n-1]: the highest point of each of
 * HTML_SPARK spans, as a base64 digit of 0 .. 63 of the site's peak. */
static void
spark(const struct lsr_point *s, size_t n, char *out)
{
	uint64_t hi[HTML_SPARK] = { 0 }, top = 0;
	size_t i, m = n < HTML_SPARK ? n : HTML_SPARK;

	for (i = 0; i < n; i++) {
		size_t k = i * m / n;

		if (s[i].bytes > hi[k])
			hi[k] = s[i].bytes;
		if (s[i].bytes > top)
			top = s[i].bytes;
	}
	for (i = 0; i < m; i++)
		out[i] = b64_abc[top ? (unsigned)((double)hi[i] * 63.0 /
		    (double)top + 0.5) : 0];
	out[m] = '\0';
}

/* One pass over every site's series: the chart's totals and bands, the
 * flame graph's columns and the sparklines. */
static void
gather(struct page *p)
{
	struct lsr_report *r = p->r;
	struct lsr_point *s = lsr_xcalloc(r->snap + 1, sizeof(*s));
	size_t i, j;

	p->total = lsr_xcalloc(p->nchart, sizeof(*p->total));
	p->band = lsr_xcalloc(p->nchart, sizeof(*p->band));
	p->col = lsr_xcalloc(p->nshown * p->ncols + 1, sizeof(*p->col));
	p->spark = lsr_xcalloc(p->nshown + 1, sizeof(*p->spark));
	for (i = 0; i < r->nsites; i++) {
		lsr_site_series(r, &r->sites[i], s);
		for (j = 0; j < p->nchart; j++) {
			p->total[j] += s[p->chart[j]].bytes;
			if (i < HTML_BANDS && i < p->nshown)
				p->band[j][i] = s[p->chart[j]].bytes;
		}
		if (i >= p->nshown)
			continue;
		for (j = 0; j < p->ncols; j++) {
			p->col[i * p->ncols + j][0] = s[p->cols[j]].bytes;
			p->col[i * p->ncols + j][1] = s[p->cols[j]].blocks;
		}
		spark(s, r->snap + 1, p->spark[i]);
	}
	free(s);
}

/* The locations of the shown sites' stacks, each once. */
static void
gather_locs(struct page *p)
{
	struct lsr_dump *d = p->r->d;
	size_t i, n = 0, cap = 0, o = 0;
	unsigned k;

	for (i = 0; i < p->nshown; i++) {
		const struct lsr_site *s = &p->r->sites[i];
		const struct lsr_stack *st = &d->stacks[s->stack];

		for (k = s->skip; k < st->nframes; k++) {
			p->locs = lsr_xgrow(p->locs, &cap, n + 1,
			    sizeof(*p->locs));
			p->locs[n++] = (struct loc){ st->ip[k], st->gen, 0 };
		}
	}
	if (n > 0)
		qsort(p->locs, n, sizeof(*p->locs), by_ip);
	for (i = 0; i < n; i++)
		if (o == 0 || by_ip(&p->locs[o - 1], &p->locs[i]) != 0) {
			p->locs[o] = p->locs[i];
			p->locs[o].id = (uint32_t)o;
			o++;
		}
	p->nlocs = o;
}

static uint32_t
loc_id(const struct page *p, uint64_t ip, uint32_t gen)
{
	struct loc key = { ip, gen, 0 };
	const struct loc *l = bsearch(&key, p->locs, p->nlocs,
	    sizeof(*p->locs), by_ip);

	return l ? l->id : 0;
}

/* "locs": each location's frames, innermost inline frame first:
 * [function, file, line, module, offset, inlined]. */
static void
put_locs(struct page *p)
{
	struct lsr_dump *d = p->r->d;
	struct lsr_frame fr[MAX_EXPANDED];
	size_t i;
	unsigned m, j;

	fputs(",\n\"locs\":[", p->f);
	for (i = 0; i < p->nlocs; i++) {
		m = lsr_symbolize(d, p->locs[i].ip, p->locs[i].gen, fr,
		    MAX_EXPANDED);
		fputs(i ? ",\n[" : "\n[", p->f);
		for (j = 0; j < m; j++) {
			fputs(j ? ",[" : "[", p->f);
			jstr(p->f, fr[j].function);
			fputc(',', p->f);
			jstr(p->f, fr[j].file);
			fprintf(p->f, ",%u,", fr[j].file ? fr[j].line : 0);
			jstr(p->f, fr[j].module ? lsr_base_name(fr[j].module) :
			    NULL);
			fprintf(p->f, ",\"0x%" PRIx64 "\",%d]", fr[j].module ?
			    fr[j].offset : fr[j].ip, fr[j].inlined);
		}
		fputc(']', p->f);
	}
	fputs("]", p->f);
}

static void
put_process(struct page *p)
{
	const struct lsr_dump *d = p->r->d;
	size_t i;

	fputs("\"dump\":", p->f);
	jstr(p->f, d->path);
	fputs(",\n\"process\":{\"name\":", p->f);
	jstr(p->f, d->name);
	fputs(",\"exe\":", p->f);
	jstr(p->f, d->exe);
	fprintf(p->f, ",\"pid\":%" PRIu64 ",\"ppid\":%" PRIu64 ",\"argv\":[",
	    d->pid, d->ppid);
	for (i = 0; i < d->argc; i++) {
		if (i)
			fputc(',', p->f);
		jstr(p->f, d->argv[i]);
	}
	fprintf(p->f, "],\"start_ms\":%" PRIu64 ",\"run_s\":%s,\"depth\":%"
	    PRIu64 ",\"interval_s\":%s,\"sample_bytes\":%" PRIu64 "}",
	    d->start_real_ns / 1000000, num(d->nsnaps ?
	    (double)d->snaps[d->nsnaps - 1].mono_ns / 1e9 : 0), d->max_depth,
	    num((double)d->interval_ms / 1e3), d->sample_bytes);
	fputs(",\n\"status\":{\"error\":", p->f);
	jstr(p->f, d->error ? d->error : d->incomplete ?
	    lsr_incomplete_why(d) : NULL);
	fputs(",\"final\":", p->f);
	if (!d->final)
		fputs("null", p->f);
	else if (d->final_how == LS_FINAL_SIGNAL)
		fprintf(p->f, "\"ended by %s\"",
		    lsr_signal_name(d->final_signo));
	else
		fprintf(p->f, "\"%s\"", lsr_final_how_name(d->final_how));
	fputc('}', p->f);
}

static void
put_report(struct page *p)
{
	const struct lsr_report *r = p->r;
	const struct lsr_snapshot *s = lsr_report_snap(r);

	fprintf(p->f, ",\n\"report\":{\"snap\":%zu,\"t\":%s,\"from\":",
	    r->snap, num((double)s->mono_ns / 1e9));
	if (r->from != SIZE_MAX)
		fprintf(p->f, "%zu", r->from);
	else
		fputs("null", p->f);
	fprintf(p->f, ",\"live_bytes\":%" PRIu64 ",\"live_blocks\":%" PRIu64
	    ",\"alloc_bytes\":%" PRIu64 ",\"alloc_blocks\":%" PRIu64
	    ",\"sites\":%zu,\"shown\":%zu,\"live_sites\":%zu,\"growing\":%zu"
	    ",\"growing_rate\":%s,\"ages\":%s,\"by_thread\":%s}",
	    r->totals.live_bytes, r->totals.live_blocks, r->totals.alloc_bytes,
	    r->totals.alloc_blocks, r->nsites, p->nshown, r->nlive,
	    r->ngrowing, num(r->growing_rate), s->ages_complete ? "true" :
	    "false", r->by_thread ? "true" : "false");
}

/* "snaps": time and reason of snapshots 0 .. the report's; "chart". */
static void
put_snaps(struct page *p)
{
	const struct lsr_report *r = p->r;
	const struct lsr_dump *d = r->d;
	size_t i, j;

	fputs(",\n\"snaps\":{\"t\":[", p->f);
	for (i = 0; i <= r->snap; i++)
		fprintf(p->f, "%s%s", i ? "," : "",
		    num((double)d->snaps[i].mono_ns / 1e9));
	fputs("],\"reason\":[", p->f);
	for (i = 0; i <= r->snap; i++)
		fprintf(p->f, "%s\"%s\"", i ? "," : "",
		    lsr_reason_name(d->snaps[i].reason));
	fputs("]},\n\"chart\":{\"i\":[", p->f);
	for (i = 0; i < p->nchart; i++)
		fprintf(p->f, "%s%zu", i ? "," : "", p->chart[i]);
	fputs("],\"total\":[", p->f);
	for (i = 0; i < p->nchart; i++)
		fprintf(p->f, "%s%" PRIu64, i ? "," : "", p->total[i]);
	fputs("],\"bands\":[", p->f);
	for (j = 0; j < HTML_BANDS && j < p->nshown; j++) {
		fprintf(p->f, "%s\n[", j ? "," : "");
		for (i = 0; i < p->nchart; i++)
			fprintf(p->f, "%s%" PRIu64, i ? "," : "",
			    p->band[i][j]);
		fputc(']', p->f);
	}
	fputs("]},\n\"scans\":[", p->f);
	for (i = 0; i < d->nscans && d->scans[i].snap <= r->snap; i++) {
		const struct lsr_scan *sc = &d->scans[i];

		fprintf(p->f, "%s{\"snap\":%zu,\"t\":%s,\"complete\":%s,"
		    "\"reason\":", i ? "," : "", sc->snap,
		    num((double)sc->mono_ns / 1e9), sc->complete ? "true" :
		    "false");
		jstr(p->f, sc->complete ? NULL : sc->reason);
		fputc('}', p->f);
	}
	fputc(']', p->f);
}

/* The column an allocation epoch falls in, plus 1; 0 before the first
 * column's snapshot. */
static size_t
epoch_col(const struct page *p, uint32_t epoch)
{
	const struct lsr_dump *d = p->r->d;
	size_t j = p->ncols;

	while (j > 0 && d->snaps[p->cols[j - 1]].epoch > epoch)
		j--;
	return j;
}

/*
 * "born": for each shown site, its live blocks at the report's snapshot
 * by when they were allocated: a count of entries, then each as (column
 * plus 1 minus the previous entry's; bytes; blocks), column 0 before
 * the first column.  Only when the snapshot's ages are complete.
 */
static void
add_born(struct page *p, const struct lsr_epoch_live *v, size_t n)
{
	struct b64 *b = &p->born_b;
	size_t j, nb, prev;

	memset(p->acc, 0, (p->ncols + 1) * sizeof(*p->acc));
	for (j = 0; j < n; j++) {
		size_t c = epoch_col(p, v[j].epoch);

		p->acc[c][0] += v[j].bytes;
		p->acc[c][1] += v[j].blocks;
	}
	for (j = 0, nb = 0; j <= p->ncols; j++)
		nb += p->acc[j][0] != 0 || p->acc[j][1] != 0;
	b64_uv(b, nb);
	for (j = 0, prev = 0; j <= p->ncols; j++) {
		if (p->acc[j][0] == 0 && p->acc[j][1] == 0)
			continue;
		b64_uv(b, j - prev);
		b64_uv(b, p->acc[j][0]);
		b64_uv(b, p->acc[j][1]);
		prev = j;
	}
}

/* A site's reachability and its chain up to a root, as the text report
 * words it. */
static void
put_reach(struct page *p, size_t k)
{
	const struct lsr_site_reach *rc = p->r->sites[k].reach;
	static const char *const names[LSR_R_COUNT] = {
		"definite", "indirect", "interior", "reachable"
	};
	char *text = NULL;
	size_t len = 0, i;
	FILE *m;

	if (rc == NULL) {
		fputs(",\"reach\":null,\"chain\":\"\"", p->f);
		return;
	}
	fputs(",\"reach\":{", p->f);
	for (i = 0; i < LSR_R_COUNT; i++)
		fprintf(p->f, "%s\"%s\":[%" PRIu64 ",%" PRIu64 "]", i ? "," :
		    "", names[i], rc->r[i].bytes, rc->r[i].blocks);
	fputs("},\"chain\":", p->f);
	if ((m = open_memstream(&text, &len)) == NULL)
		lsr_nomem();
	lsr_text_chain(m, p->r, k);
	if (fclose(m) != 0)
		lsr_nomem();
	jstr(p->f, text);
	free(text);
}

static void
put_site(struct page *p, size_t k)
{
	struct lsr_report *r = p->r;
	struct lsr_site *s = &r->sites[k];
	const struct lsr_stack *st = &r->d->stacks[s->stack];
	const struct lsr_growth *g = &s->growth;
	struct lsr_epoch_live *v;
	size_t n;
	unsigned i;

	fprintf(p->f, "%s\n{\"loc\":[", k ? "," : "");
	for (i = s->skip; i < st->nframes; i++)
		fprintf(p->f, "%s%" PRIu32, i > s->skip ? "," : "",
		    loc_id(p, st->ip[i], st->gen));
	fputs("],\"via\":", p->f);
	jstr(p->f, s->via);
	fputs(",\"thread\":", p->f);
	jstr(p->f, s->thread);
	fprintf(p->f, ",\"trunc\":%d,\"lb\":%" PRIu64 ",\"lk\":%" PRIu64
	    ",\"ab\":%" PRIu64 ",\"ak\":%" PRIu64 ",\"verdict\":\"%s\","
	    "\"rate\":%s,\"steady\":%s,\"since\":%s,\"released\":%s,"
	    "\"peak\":%" PRIu64 ",\"peak_blocks\":%" PRIu64 ",\"peak_t\":%s",
	    s->truncated, s->v.live_bytes, s->v.live_blocks, s->v.alloc_bytes,
	    s->v.alloc_blocks, lsr_verdict_name(g->verdict),
	    num(g->bytes_per_second), num(g->steadiness), num(g->since),
	    g->released_at >= 0 ? num(g->released_at) : "null", g->peak_bytes,
	    g->peak_blocks, num(g->peak_time));
	n = lsr_site_ages(r, s, r->snap, &v);
	lsr_site_age_figures(r, s, v, n);
	add_born(p, v, n);
	free(v);
	if (s->has_age)
		fprintf(p->f, ",\"age\":[%s,%s,%s]", num(s->age_median),
		    num(s->age_p90), num(s->age_oldest));
	else
		fputs(",\"age\":null", p->f);
	fprintf(p->f, ",\"spark\":\"%s\"", p->spark[k]);
	put_reach(p, k);
	fputc('}', p->f);
}

/* "live": for each column, the shown sites live then, as (site index
 * minus the previous one's, minus 1; bytes; blocks). */
static void
put_cols(struct page *p)
{
	struct b64 b = { p->f, { 0 }, 0 };
	size_t i, j;

	fputs(",\n\"cols\":[", p->f);
	for (j = 0; j < p->ncols; j++)
		fprintf(p->f, "%s%zu", j ? "," : "", p->cols[j]);
	fputs("],\n\"live\":[", p->f);
	for (j = 0; j < p->ncols; j++) {
		size_t next = 0;

		fputs(j ? ",\n\"" : "\n\"", p->f);
		for (i = 0; i < p->nshown; i++) {
			const uint64_t *v = p->col[i * p->ncols + j];

			if (v[0] == 0 && v[1] == 0)
				continue;
			b64_uv(&b, i - next);
			b64_uv(&b, v[0]);
			b64_uv(&b, v[1]);
			next = i + 1;
		}
		b64_flush(&b);
		fputc('"', p->f);
	}
	fputc(']', p->f);
}

static void
put_born(struct page *p)
{
	b64_flush(&p->born_b);
	if (fclose(p->born_f) != 0)
		lsr_nomem();
	p->born_f = NULL;
	if (lsr_report_snap(p->r)->ages_complete)
		fprintf(p->f, ",\n\"born\":\"%s\"", p->born);
	else
		fputs(",\n\"born\":null", p->f);
}

/* A finding's frames: [function, file, line, module]. */
static void
put_cframes(FILE *f, const struct lsr_finding *fd)
{
	size_t i;

	fputs(",\"frames\":[", f);
	for (i = 0; i < fd->nframes; i++) {
		const struct lsr_cframe *c = &fd->frames[i];

		fputs(i ? ",[" : "[", f);
		jstr(f, c->function);
		fputc(',', f);
		jstr(f, c->file);
		fprintf(f, ",%u,", c->file ? c->line : 0);
		jstr(f, c->module ? lsr_base_name(c->module) : NULL);
		fputc(']', f);
	}
	fputc(']', f);
}

/* "check": the gate's verdict on the dump and its findings. */
static void
put_check(struct page *p, const struct lsr_check *c)
{
	size_t i;

	fputs(",\n\"check\":", p->f);
	if (c == NULL) {
		fputs("null", p->f);
		return;
	}
	fprintf(p->f, "{\"exit\":%d,\"failing\":%zu,\"suppressed\":%zu,"
	    "\"baselined\":%zu,\"why\":", c->exit_status, c->failing,
	    c->suppressed, c->baselined);
	jstr(p->f, c->ndumps && !c->dumps[0].verdict ? c->dumps[0].why : NULL);
	fputs(",\"note\":", p->f);
	jstr(p->f, c->ndumps ? c->dumps[0].note : NULL);
	fputs(",\"findings\":[", p->f);
	for (i = 0; i < c->nfindings; i++) {
		const struct lsr_finding *fd = &c->findings[i];
		char *line = lsr_finding_line(fd);

		fprintf(p->f, "%s\n{\"kind\":\"%s\",\"bytes\":%" PRIu64
		    ",\"blocks\":%" PRIu64 ",\"fails\":%s,\"line\":",
		    i ? "," : "", lsr_kind_word(fd->kind), fd->amount.bytes,
		    fd->amount.blocks, lsr_finding_fails(c, fd) ? "true" :
		    "false");
		jstr(p->f, line);
		free(line);
		fputs(",\"suppressed\":", p->f);
		jstr(p->f, fd->rule ? fd->rule->where : NULL);
		fprintf(p->f, ",\"baselined\":%s,\"retained_by\":",
		    fd->budget && !fd->over_budget ? "true" : "false");
		jstr(p->f, fd->retained_by);
		put_cframes(p->f, fd);
		fputc('}', p->f);
	}
	fputs("]}", p->f);
}

static void
page_fini(struct page *p)
{
	free(p->locs);
	free(p->chart);
	free(p->total);
	free(p->band);
	free(p->col);
	free(p->spark);
	free(p->acc);
	free(p->born);
}

void
lsr_html_page(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o,
    const struct lsr_check *c)
{
	struct page p = { .f = f, .r = r };
	size_t i;

	p.nshown = o->top && o->top < r->nsites ? o->top : r->nsites;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n", f);
	fprintf(f, "<meta http-equiv=\"Content-Security-Policy\" content=\""
	    "default-src 'none'; script-src 'sha256-%s'; style-src "
	    "'sha256-%s'; img-src data:; base-uri 'none'; form-action 'none'"
	    "\">\n<title>leakspy: ", lsr_html_js_sha256, lsr_html_css_sha256);
	html_text(f, r->d->name ? r->d->name : r->d->path);
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n"
	    "<noscript>This page draws the report with JavaScript; the same "
	    "figures are in leakspy-report's text and JSON.</noscript>\n"
	    "<script type=\"application/json\" id=\"lsp-data\">\n"
	    "{\"version\":1,\"tool\":\"leakspy-report %s\",\n", lsr_html_css,
	    LS_VERSION);
	put_process(&p);
	if (lsr_report_snap(r) != NULL) {
		pick_cols(&p);
		pick_chart(&p);
		gather(&p);
		gather_locs(&p);
		p.acc = lsr_xcalloc(p.ncols + 1, sizeof(*p.acc));
		if ((p.born_f = open_memstream(&p.born, &p.born_len)) == NULL)
			lsr_nomem();
		p.born_b.f = p.born_f;
		put_report(&p);
		put_snaps(&p);
		put_locs(&p);
		fputs(",\n\"sites\":[", f);
		for (i = 0; i < p.nshown; i++)
			put_site(&p, i);
		fputc(']', f);
		put_cols(&p);
		put_born(&p);
	} else {
		fputs(",\n\"report\":null", f);
	}
	put_check(&p, c);
	fprintf(f, "}\n</script>\n<script>%s</script>\n</body>\n</html>\n",
	    lsr_html_js);
	page_fini(&p);
}

void
lsr_out_html(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	lsr_html_page(f, r, o, NULL);
}

int
lsr_check_html(FILE *f, const struct lsr_check *c, const char *path)
{
	struct lsr_out_opts o = { 0, LSR_W_BYTES };
	struct lsr_dump d;
	struct lsr_report r;

	if (lsr_read(path, &d) != 0)
		return -1;
	lsr_group(&d, d.nsnaps ? d.nsnaps - 1 : SIZE_MAX, SIZE_MAX, 0, &r);
	lsr_html_page(f, &r, &o, c);
	lsr_report_fini(&r);
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return 0;
}
