/* SPDX-License-Identifier: MIT */
/*
 * The JSON report; its schema is in leakspy-report(1).  One object per
 * dump file (report.c makes several an array).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lsr.h"
#include "xalloc.h"

#define MAX_EXPANDED 64

/*
 * The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 if the
 * byte at p does not start one: overlong forms, surrogates and code
 * points above U+10FFFF are not well formed.
 */
size_t
lsr_utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	/* The second byte's range excludes overlongs, surrogates and
	 * beyond U+10FFFF (RFC 3629, section 4). */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return 0;
	}
	return n;
}

/* A JSON string: control characters escaped, and each byte that is not
 * part of well-formed UTF-8 replaced by U+FFFD (leakspy-report(1)). */
static void
json_str(FILE *f, const char *s, bool html)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *p; p += n) {
		n = lsr_utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			n = 1;
		} else if (n > 1) {
			fwrite(p, 1, n, f);
		} else if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p);
		} else if (html && (*p == '<' || *p == '>' || *p == '&')) {
			fprintf(f, "\\u%04x", *p);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else if (*p == '\t') {
			fputs("\\t", f);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
		} else {
			fputc(*p, f);
		}
	}
	fputc('"', f);
}

void
lsr_json_str(FILE *f, const char *s)
{
	json_str(f, s, false);
}

void
lsr_json_str_html(FILE *f, const char *s)
{
	json_str(f, s, true);
}

const char *
lsr_json_num(double v)
{
	static char ring[8][400];	/* %.3f of DBL_MAX: 313 bytes */
	static unsigned k;
	char *b = ring[k++ % 8];

	if (!isfinite(v))
		return "null";
	snprintf(b, sizeof(ring[0]), "%.3f", v);
	return b;
}

static const char *
num(double v)
{
	return lsr_json_num(v);
}

static void
jvals(FILE *f, const struct lsr_vals *v)
{
	fprintf(f, "\"live_bytes\": %" PRIu64 ", \"live_blocks\": %" PRIu64
	    ", \"allocated_bytes\": %" PRIu64 ", \"allocated_blocks\": %"
	    PRIu64, v->live_bytes, v->live_blocks, v->alloc_bytes,
	    v->alloc_blocks);
}

static void
jframe(FILE *f, const struct lsr_frame *fr, bool first)
{
	fprintf(f, "%s\n        {\"function\": ", first ? "" : ",");
	lsr_json_str(f, fr->function);
	fputs(", \"file\": ", f);
	lsr_json_str(f, fr->file);
	if (fr->file != NULL)
		fprintf(f, ", \"line\": %u", fr->line);
	else
		fputs(", \"line\": null", f);
	fputs(", \"module\": ", f);
	lsr_json_str(f, fr->module);
	fprintf(f, ", \"address\": \"0x%" PRIx64 "\", \"offset\": \"0x%"
	    PRIx64 "\", \"inlined\": %s}", fr->ip, fr->offset,
	    fr->inlined ? "true" : "false");
}

static void
jgrowth(FILE *f, const struct lsr_report *r, struct lsr_site *s,
    struct lsr_point *p)
{
	const struct lsr_growth *g = &s->growth;
	size_t i;

	fprintf(f, ", \"peak_bytes\": %" PRIu64 ", \"peak_blocks\": %" PRIu64
	    ", \"peak_time_s\": %s", g->peak_bytes, g->peak_blocks,
	    num(g->peak_time));
	fprintf(f, ",\n     \"growth\": {\"verdict\": \"%s\", "
	    "\"bytes_per_second\": %s, \"steadiness\": %s, "
	    "\"since_s\": %s, \"released_at_s\": ",
	    lsr_verdict_name(g->verdict), num(g->bytes_per_second),
	    num(g->steadiness), num(g->since));
	if (g->released_at >= 0)
		fprintf(f, "%s}", num(g->released_at));
	else
		fputs("null}", f);
	lsr_site_age_profile(r, s);
	if (s->has_age)
		fprintf(f, ",\n     \"age\": {\"median_s\": %s, \"p90_s\": "
		    "%s, \"oldest_s\": %s}", num(s->age_median),
		    num(s->age_p90), num(s->age_oldest));
	else
		fputs(",\n     \"age\": null", f);
	fprintf(f, ", \"inherited_bytes\": %" PRIu64 ", \"inherited_blocks\": %"
	    PRIu64, s->inherited_bytes, s->inherited_blocks);
	if (r->from != SIZE_MAX) {
		fputs(",\n     \"diff\": {\"new_bytes\": ", f);
		if (r->ages_ok)
			fprintf(f, "%" PRIu64 ", \"new_blocks\": %" PRIu64,
			    s->diff.new_bytes, s->diff.new_blocks);
		else
			fputs("null, \"new_blocks\": null", f);
		fprintf(f, ", \"live_bytes_change\": %" PRId64
		    ", \"live_blocks_change\": %" PRId64 ", \"allocated_bytes\""
		    ": %" PRIu64 ", \"allocated_blocks\": %" PRIu64 "}",
		    s->diff.live_bytes, s->diff.live_blocks, s->diff.alloc_bytes,
		    s->diff.alloc_blocks);
	}
	lsr_site_series(r, s, p);
	fputs(",\n     \"series\": [", f);
	for (i = 0; i <= r->snap; i++)
		fprintf(f, "%s{\"time_s\": %s, \"live_bytes\": %" PRIu64
		    ", \"live_blocks\": %" PRIu64 "}", i ? ", " : "",
		    num(p[i].t), p[i].bytes, p[i].blocks);
	fputc(']', f);
}

/* "scan", only for a dump with scans: the one the report uses, or
 * null; dumps without any keep the output they always had. */
static void
jscan(FILE *f, const struct lsr_report *r)
{
	const struct lsr_scan *sc = r->scan;

	if (r->d->nscans == 0)
		return;
	if (sc == NULL) {
		fputs(",\n  \"scan\": null", f);
		return;
	}
	fprintf(f, ",\n  \"scan\": {\"time\": %s, \"snapshot\": %zu, "
	    "\"complete\": %s, \"reason\": ", num((double)sc->mono_ns / 1e9),
	    sc->snap, sc->complete ? "true" : "false");
	if (sc->complete)
		fputs("null", f);
	else
		lsr_json_str(f, sc->reason);
	fprintf(f, ", \"threads_stopped\": %" PRIu64 ", "
	    "\"threads_not_stopped\": %" PRIu64 "}", sc->threads_stopped,
	    sc->threads_not_stopped);
}

static void
jamount(FILE *f, const char *name, const struct lsr_amount *a)
{
	fprintf(f, "\"%s\": {\"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64
	    "}", name, a->bytes, a->blocks);
}

/* A root of a chain or an owner: its kind, and where it is. */
static void
jroot(FILE *f, const struct lsr_report *r, const struct lsr_held *h)
{
	struct lsr_dump *d = r->d;
	const struct lsr_module *m = NULL;
	const struct lsr_thread *t;
	const struct lsr_thread_ver *v;

	fprintf(f, "\"root\": {\"kind\": \"%s\", \"module\": ",
	    lsr_owner_kind_name(h->kind));
	if (h->kind == LS_OWN_GLOBAL)
		m = lsr_module_of(d, h->owner, r->scan->gen);
	lsr_json_str(f, m ? m->path : NULL);
	fputs(", \"symbol\": ", f);
	lsr_json_str(f, h->kind == LS_OWN_GLOBAL ? lsr_symbol_name(d, h->owner + 1,
	    r->scan->gen) : NULL);
	if (h->kind == LS_OWN_CACHE) {
		fputs(", \"address\": null, \"thread\": null}", f);
		return;
	}
	if (h->kind == LS_OWN_GLOBAL || h->kind >= LS_OWN_COUNT) {
		fprintf(f, ", \"address\": \"0x%" PRIx64 "\", \"thread\": "
		    "null}", h->owner);
		return;
	}
	t = h->owner ? lsr_thread_by_serial(d, h->owner) : NULL;
	v = t ? lsr_thread_at(t, r->snap) : NULL;
	fprintf(f, ", \"address\": null, \"thread\": {\"serial\": %" PRIu64
	    ", \"main\": %s, \"tid\": ", h->owner, h->owner ? "false" :
	    "true");
	if (t != NULL)
		fprintf(f, "%" PRIu64, t->tid);
	else
		fputs("null", f);
	fputs(", \"name\": ", f);
	lsr_json_str(f, v ? d->thread_names[v->name] : NULL);
	fputs(", \"start\": ", f);
	lsr_json_str(f, t ? lsr_symbol_name(d, t->start + 1, t->gen) : NULL);
	fputs("}}", f);
}

/* An owner, or with chain a step (and the links it stands for). */
static void
jheld(FILE *f, const struct lsr_report *r, const struct lsr_held *h,
    bool first, bool chain)
{
	fputs(first ? "{" : ", {", f);
	if (h->kind != LS_OWN_BLOCK)
		jroot(f, r, h);
	else if (h->site != SIZE_MAX)
		fprintf(f, "\"site\": %zu", h->site);
	else
		fprintf(f, "\"site\": null, \"stack\": %" PRIu64, h->owner);
	fprintf(f, ", \"bytes\": %" PRIu64 ", \"blocks\": %" PRIu64,
	    h->held.bytes, h->held.blocks);
	if (chain)
		fprintf(f, ", \"collapsed\": %" PRIu64, h->collapsed);
	fputc('}', f);
}

/* "reach", "retained_by" and "chain" of a site, when the report has a
 * scan. */
static void
jreach(FILE *f, const struct lsr_report *r, const struct lsr_site *s)
{
	const struct lsr_site_reach *rc = s->reach;
	size_t i;

	if (rc == NULL)
		return;
	fputs(",\n     \"reach\": {", f);
	jamount(f, "definitely_lost", &rc->r[LSR_R_DEFINITE]);
	fputs(", ", f);
	jamount(f, "indirectly_lost", &rc->r[LSR_R_INDIRECT]);
	fputs(", ", f);
	jamount(f, "interior_only", &rc->r[LSR_R_INTERIOR]);
	fputs(", ", f);
	jamount(f, "reachable", &rc->r[LSR_R_REACHABLE]);
	fputs(", ", f);
	jamount(f, "held_by_itself", &rc->self);
	fputs("},\n     \"retained_by\": [", f);
	for (i = 0; i < rc->nowners; i++)
		jheld(f, r, &rc->owners[i], i == 0, false);
	fputs("],\n     \"chain\": [", f);
	for (i = 0; i < rc->nchain; i++)
		jheld(f, r, &rc->chain[i], i == 0, true);
	fputc(']', f);
}

/* "frames": the return addresses ip[0..n-1] of a stack at generation
 * gen, expanded into inlined frames. */
static void
jframes(FILE *f, struct lsr_dump *d, const uint64_t *ip, unsigned n,
    uint32_t gen)
{
	struct lsr_frame fr[MAX_EXPANDED];
	bool first = true;
	unsigned k, m, j;

	fputs(", \"frames\": [", f);
	for (k = 0; k < n; k++) {
		m = lsr_symbolize(d, ip[k], gen, fr, MAX_EXPANDED);
		for (j = 0; j < m; j++) {
			jframe(f, &fr[j], first);
			first = false;
		}
	}
	fputs("]}", f);
}

/* The threads known at the report's snapshot. */
static void
jthreads(FILE *f, const struct lsr_report *r)
{
	struct lsr_dump *d = r->d;
	const struct lsr_snapshot *s = lsr_report_snap(r);
	size_t i, shown = 0;

	fprintf(f, ",\n  \"threads_created\": %" PRIu64 ",\n  \"threads\": [",
	    s ? s->counters[LS_CNT_THREADS] : 0);
	for (i = 0; s != NULL && i < d->nthreads; i++) {
		const struct lsr_thread *t = &d->threads[i];
		const struct lsr_thread_ver *v = lsr_thread_at(t, r->snap);

		if (v == NULL)
			continue;
		fprintf(f, "%s\n    {\"tid\": %" PRIu64 ", \"name\": ",
		    shown++ ? "," : "", t->tid);
		lsr_json_str(f, d->thread_names[v->name]);
		fprintf(f, ", \"state\": \"%s\", \"exited\": %s, "
		    "\"leak\": %s, \"creator_tid\": %" PRIu64
		    ", \"created_s\": %s, \"start_routine\": ",
		    lsr_thread_state_name(v->state),
		    v->exited ? "true" : "false",
		    lsr_thread_leaked(r, v) ? "true" : "false", t->creator,
		    num((double)t->created_ns / 1e9));
		lsr_json_str(f, lsr_symbol_name(d, t->start + 1, t->gen));
		jframes(f, d, t->ip, t->nframes, t->gen);
	}
	fputs(shown ? "\n  ]" : "]", f);
}

/* "complete", "error" and "final": how far the dump goes, how it ends. */
static void
jstatus(FILE *f, const struct lsr_dump *d)
{
	fprintf(f, ",\n  \"complete\": %s,\n  \"error\": ",
	    d->error == NULL && !d->incomplete ? "true" : "false");
	if (d->error != NULL) {
		fprintf(f, "{\"offset\": %" PRIu64 ", \"message\": ",
		    d->error_offset);
		lsr_json_str(f, d->error);
		fputc('}', f);
	} else if (d->incomplete) {
		fputs("{\"offset\": null, \"message\": ", f);
		lsr_json_str(f, lsr_incomplete_why(d));
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	fputs(",\n  \"final\": ", f);
	if (!d->final)
		fputs("null", f);
	else if (d->final_how == LS_FINAL_SIGNAL)
		fprintf(f, "{\"how\": \"signal\", \"signal\": \"%s\", "
		    "\"signo\": %d}", lsr_signal_name(d->final_signo),
		    d->final_signo);
	else
		fprintf(f, "{\"how\": \"%s\", \"signal\": null, \"signo\": "
		    "null}", lsr_final_how_name(d->final_how));
}

static void
jprocess(FILE *f, const struct lsr_dump *d)
{
	size_t i;

	fprintf(f, ",\n  \"process\": {\"pid\": %" PRIu64 ", \"ppid\": %"
	    PRIu64 ", \"exe\": ", d->pid, d->ppid);
	lsr_json_str(f, d->exe);
	fputs(", \"name\": ", f);
	lsr_json_str(f, d->name);
	fputs(", \"argv\": [", f);
	for (i = 0; i < d->argc; i++) {
		if (i)
			fputs(", ", f);
		lsr_json_str(f, d->argv[i]);
	}
	fprintf(f, "], \"start_time_ns\": %" PRIu64 ", \"run_time_s\": %s"
	    ", \"max_depth\": %" PRIu64 ", \"interval_s\": %s, "
	    "\"sample_bytes\": %" PRIu64 ", \"fork_child\": %s},\n  "
	    "\"estimated\": %s", d->start_real_ns, num(d->nsnaps ?
	    (double)d->snaps[d->nsnaps - 1].mono_ns / 1e9 : 0.0),
	    d->max_depth, num((double)d->interval_ms / 1000), d->sample_bytes,
	    d->inherited_epoch ? "true" : "false",
	    d->sample_bytes ? "true" : "false");
}

/* "coverage", "lost" write-outs and the shim's "notes". */
static void
jcoverage(FILE *f, const struct lsr_dump *d, const struct lsr_snapshot *s)
{
	static const char *const cnt_name[LS_CNT_COVERAGE] = {
		"untracked", "dropped", "truncated_stacks", "unknown_frees",
		"bootstrap", "missed_frees", "write_errors",
	};
	size_t i;
	unsigned c;

	fprintf(f, ",\n  \"coverage\": {\"interposition\": %s, "
	    "\"attached\": %s",
	    d->pflags & LS_PF_INTERPOSE_FAILED ? "false" : "true",
	    d->pflags & LS_PF_ATTACHED ? "true" : "false");
	if (d->interpose_note && d->interpose_note[0]) {
		fputs(", \"note\": ", f);
		lsr_json_str(f, d->interpose_note);
	}
	for (c = 0; c < LS_CNT_COVERAGE; c++)
		fprintf(f, ", \"%s\": %" PRIu64, cnt_name[c],
		    s ? s->counters[c] : 0);
	fputs("},\n  \"lost\": [", f);
	for (i = 0; i < d->nlost; i++) {
		const struct lsr_lost *l = &d->lost[i];

		fprintf(f, "%s{\"offset\": %" PRIu64 ", \"reason\": \"%s\", "
		    "\"last\": %s, \"errno\": %d, \"error\": ", i ? ", " : "",
		    l->offset, lsr_reason_name(l->reason),
		    l->last ? "true" : "false", l->errnum);
		lsr_json_str(f, lsr_errno_text(l->errnum));
		fputc('}', f);
	}
	fputs("],\n  \"notes\": [", f);
	for (i = 0; i < d->nnotes; i++) {
		if (i)
			fputs(", ", f);
		lsr_json_str(f, d->notes[i]);
	}
	fputc(']', f);
}

/* "refused_settings", only when the shim refused some: dumps without
 * any keep the output they always had. */
static void
jsettings(FILE *f, const struct lsr_dump *d)
{
	size_t i;

	if (d->nsettings == 0)
		return;
	fputs(",\n  \"refused_settings\": [", f);
	for (i = 0; i < d->nsettings; i++) {
		const struct lsr_setting *st = &d->settings[i];

		fputs(i ? ", {\"name\": " : "{\"name\": ", f);
		lsr_json_str(f, st->name);
		fputs(", \"given\": ", f);
		lsr_json_str(f, st->given);
		fputs(", \"used\": ", f);
		lsr_json_str(f, st->used);
		fputs(", \"reason\": ", f);
		lsr_json_str(f, st->reason);
		fputc('}', f);
	}
	fputc(']', f);
}

/* "snapshots", "snapshot", with --diff "diff", and "totals". */
static void
jsnapshot(FILE *f, const struct lsr_report *r, const struct lsr_snapshot *s)
{
	const struct lsr_dump *d = r->d;

	fprintf(f, ",\n  \"snapshots\": %zu,\n  \"snapshot\": ", d->nsnaps);
	if (s != NULL)
		fprintf(f, "{\"index\": %" PRIu32 ", \"time_s\": %s, "
		    "\"reason\": \"%s\"}", s->index,
		    num((double)s->mono_ns / 1e9), lsr_reason_name(s->reason));
	else
		fputs("null", f);
	if (s != NULL && r->from != SIZE_MAX) {
		const struct lsr_snapshot *a = &d->snaps[r->from];

		fprintf(f, ",\n  \"diff\": {\"from\": {\"index\": %" PRIu32
		    ", \"time_s\": %s}, \"new_bytes\": ", a->index,
		    num((double)a->mono_ns / 1e9));
		if (r->ages_ok)
			fprintf(f, "%" PRIu64 ", \"new_blocks\": %" PRIu64,
			    r->new_bytes, r->new_blocks);
		else
			fputs("null, \"new_blocks\": null", f);
		fprintf(f, ", \"live_bytes_change\": %" PRId64
		    ", \"live_blocks_change\": %" PRId64 "}",
		    (int64_t)(r->totals.live_bytes - r->from_totals.live_bytes),
		    (int64_t)(r->totals.live_blocks -
		    r->from_totals.live_blocks));
	}
	fputs(",\n  \"totals\": {", f);
	jvals(f, &r->totals);
	fprintf(f, ", \"inherited_bytes\": %" PRIu64 ", \"inherited_blocks\": %"
	    PRIu64, r->inherited_bytes, r->inherited_blocks);
	fprintf(f, ", \"sites\": %zu, \"growing_sites\": %zu, "
	    "\"growing_bytes_per_second\": %s}", r->nsites, r->ngrowing,
	    num(r->growing_rate));
}

void
lsr_out_json(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	struct lsr_dump *d = r->d;
	const struct lsr_snapshot *s = lsr_report_snap(r);
	struct lsr_point *series;
	size_t i, shown;

	fputs("{\n  \"format\": \"leakspy-report\",\n  \"version\": 1,\n", f);
	fputs("  \"file\": ", f);
	lsr_json_str(f, d->path);
	jstatus(f, d);
	jprocess(f, d);
	jcoverage(f, d, s);
	jsettings(f, d);
	jsnapshot(f, r, s);
	jscan(f, r);
	fputs(",\n  \"sites\": [", f);
	shown = o->top && o->top < r->nsites ? o->top : r->nsites;
	series = lsr_xcalloc(s != NULL ? r->snap + 1 : 1, sizeof(*series));
	for (i = 0; i < shown; i++) {
		struct lsr_site *site = &r->sites[i];
		const struct lsr_stack *st = &d->stacks[site->stack];

		fprintf(f, "%s\n    {", i ? "," : "");
		jvals(f, &site->v);
		fputs(", \"via\": ", f);
		lsr_json_str(f, site->via);
		fprintf(f, ", \"truncated\": %s", site->truncated ? "true" :
		    "false");
		if (r->by_thread) {
			fputs(", \"thread\": ", f);
			lsr_json_str(f, site->thread);
		}
		jgrowth(f, r, site, series);
		jreach(f, r, site);
		jframes(f, d, st->ip + site->skip, st->nframes - site->skip,
		    st->gen);
	}
	free(series);
	fputs(shown ? "\n  ]" : "]", f);
	jthreads(f, r);
	fputs("\n}", f);
}
