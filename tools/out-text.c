/* SPDX-License-Identifier: MIT */
/*
 * The text report: a header, then one line a site in the report's order
 * with its symbolized stack indented below (memprof2's shape, for native
 * code), then the thread leaks.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsr.h"
#include "xalloc.h"

#define MAX_EXPANDED 64

/*
 * s as it can go to a terminal: control characters (escape sequences
 * among them) as \xNN.  Returns s itself when it has none, else a copy
 * that stays valid for the next three calls.
 */
static const char *
tx(const char *s)
{
	static char *ring[4];
	static size_t cap[4];
	static unsigned k;
	const unsigned char *p;
	size_t n = 0;
	char *b;

	if (s == NULL)
		return NULL;
	for (p = (const unsigned char *)s; *p; p++)
		n += *p < 0x20 || *p == 0x7f ? 4 : 1;
	if (n == (size_t)(p - (const unsigned char *)s))
		return s;
	k = (k + 1) % 4;
	if (cap[k] < n + 1) {
		free(ring[k]);
		ring[k] = lsr_xcalloc(1, n + 1);
		cap[k] = n + 1;
	}
	for (b = ring[k], p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			b += sprintf(b, "\\x%02x", *p);
		else
			*b++ = (char)*p;
	}
	*b = '\0';
	return ring[k];
}

static void
human(char *buf, size_t n, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, n, "%.1f %s", v, unit[u]);
}

/* "+6.3 MiB/s", "+120 KiB/h": a rate in the unit that reads best. */
static void
format_rate(char *buf, size_t n, double r)
{
	static const struct {
		const char *per;
		double seconds;
	} spans[] = { { "s", 1 }, { "min", 60 }, { "h", 3600 } };
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = 0;
	unsigned s, u = 0;

	/* The shortest time span in which at least 1 KiB moves. */
	for (s = 0; s < sizeof(spans) / sizeof(spans[0]); s++) {
		v = fabs(r) * spans[s].seconds;
		if (v >= 1024 || s + 1 == sizeof(spans) / sizeof(spans[0]))
			break;
	}
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%s%.*f %s/%s", r < 0 ? "-" : "+", u ? 1 : 0, v,
	    unit[u], spans[s].per);
}

/* Live bytes across the snapshots, as at most 48 block characters. */
static void
print_sparkline(FILE *f, const struct lsr_point *p, size_t n, uint64_t peak)
{
	static const char *const bars[] = {
		"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
		"\u2587", "\u2588",
	};
	size_t cols = n < 48 ? n : 48, c, i;

	fputs("  ", f);
	for (c = 0; c < cols; c++) {
		uint64_t top = 0;

		for (i = c * n / cols; i < (c + 1) * n / cols; i++)
			if (p[i].bytes > top)
				top = p[i].bytes;
		if (top == 0 || peak == 0)
			fputc(' ', f);
		else
			fputs(bars[(size_t)((double)top / (double)peak * 7.999)],
			    f);
	}
}

static void
print_growth(FILE *f, const struct lsr_report *r, struct lsr_site *s,
    struct lsr_point *series)
{
	const struct lsr_growth *g = &s->growth;
	char rate[48], peak[32];

	human(peak, sizeof(peak), g->peak_bytes);
	fprintf(f, "        %s", lsr_verdict_name(g->verdict));
	switch (g->verdict) {
	case LSR_V_GROWING:
		format_rate(rate, sizeof(rate), g->bytes_per_second);
		fprintf(f, " %s, steadiness %.2f", rate, g->steadiness);
		break;
	case LSR_V_SAWTOOTH:
		fprintf(f, " (%u releases)", g->drops);
		break;
	case LSR_V_UNKNOWN:
		fprintf(f, " (too few snapshots)");
		break;
	}
	fprintf(f, ", peak %s at %.1f s", peak, g->peak_time);
	if (g->released_at >= 0)
		fprintf(f, ", released at %.1f s", g->released_at);
	lsr_site_series(r, s, series);
	print_sparkline(f, series, r->snap + 1, g->peak_bytes);
	fputc('\n', f);
	lsr_site_age_profile(r, s);
	if (s->has_age)
		fprintf(f, "        age of live blocks: median %.1f s, 90%% "
		    "under %.1f s, oldest %.1f s\n", s->age_median, s->age_p90,
		    s->age_oldest);
	if (s->inherited_blocks != 0)
		fprintf(f, "        inherited from the parent at fork: %" PRIu64
		    " bytes in %" PRIu64 " blocks\n", s->inherited_bytes,
		    s->inherited_blocks);
}

static void
print_diff_header(FILE *f, const struct lsr_report *r)
{
	const struct lsr_dump *d = r->d;
	const struct lsr_snapshot *a = &d->snaps[r->from], *b = &d->snaps[r->snap];
	char h[32];

	fprintf(f, "diff:      #%" PRIu32 " at %.3f s .. #%" PRIu32 " at %.3f s "
	    "(%.3f s)\n", a->index, (double)a->mono_ns / 1e9, b->index,
	    (double)b->mono_ns / 1e9, (double)(b->mono_ns - a->mono_ns) / 1e9);
	if (r->ages_ok) {
		human(h, sizeof(h), r->new_bytes);
		fprintf(f, "new:       %" PRIu64 " bytes (%s) in %" PRIu64
		    " blocks allocated after #%" PRIu32 " and live at #%" PRIu32
		    "\n", r->new_bytes, h, r->new_blocks, a->index, b->index);
	} else {
		fprintf(f, "new:       unknown: #%" PRIu32 " has no complete "
		    "record of block ages\n", b->index);
	}
	fprintf(f, "change:    %+" PRId64 " bytes, %+" PRId64 " blocks live; %"
	    PRIu64 " bytes allocated in %" PRIu64 " blocks between them\n",
	    (int64_t)(r->totals.live_bytes - r->from_totals.live_bytes),
	    (int64_t)(r->totals.live_blocks - r->from_totals.live_blocks),
	    r->totals.alloc_bytes - r->from_totals.alloc_bytes,
	    r->totals.alloc_blocks - r->from_totals.alloc_blocks);
}

static void
print_frame(FILE *f, const struct lsr_frame *fr, unsigned no)
{
	const char *mod = fr->module ? lsr_base_name(fr->module) : NULL;

	fprintf(f, "        #%-2u %s", no, fr->function ? tx(fr->function) :
	    "??");
	if (fr->file != NULL)
		fprintf(f, " at %s:%u", tx(fr->file), fr->line);
	if (fr->inlined)
		fprintf(f, " (inlined)");
	if (fr->function == NULL || fr->file == NULL)
		fprintf(f, " [%s+0x%" PRIx64 "]", mod ? tx(mod) : "?",
		    fr->offset);
	else if (mod != NULL)
		fprintf(f, " [%s]", tx(mod));
	fputc('\n', f);
}

static void
print_coverage(FILE *f, const struct lsr_dump *d,
    const struct lsr_snapshot *s)
{
	static const char *const what[LS_CNT_COUNT] = {
		[LS_CNT_UNTRACKED] = "allocations made re-entrantly (not "
		    "tracked)",
		[LS_CNT_DROPPED] = "allocations not tracked (leakspy out of "
		    "memory)",
		[LS_CNT_TRUNCATED] = "allocations with stacks cut at the "
		    "depth limit",
		[LS_CNT_UNKNOWN_FREES] = "frees of blocks leakspy never saw",
		[LS_CNT_BOOTSTRAP] = "allocations served while leakspy "
		    "started",
		[LS_CNT_MISSED_FREES] = "blocks found freed without a free "
		    "seen",
		[LS_CNT_WRITE_ERRORS] = "snapshots that could not be written",
	};
	const char *lead = "coverage:  ";
	unsigned i;

	if (d->pflags & LS_PF_INTERPOSE_FAILED) {
		fprintf(f, "%sINCOMPLETE: %s\n", lead, tx(d->interpose_note));
		lead = "           ";
	}
	if (d->error != NULL || d->incomplete) {
		fprintf(f, "%s%s\n", lead, d->error ? "dump damaged: only the "
		    "snapshots before the damage are shown" :
		    lsr_incomplete_why(d));
		lead = "           ";
	}
	for (i = 0; s != NULL && i < LS_CNT_COVERAGE; i++) {
		if (s->counters[i] == 0 || i == LS_CNT_BOOTSTRAP)
			continue;
		fprintf(f, "%s%" PRIu64 " %s\n", lead, s->counters[i],
		    i == LS_CNT_UNKNOWN_FREES && (d->pflags & LS_PF_ATTACHED) ?
		    "frees of blocks allocated before the attach, or "
		    "otherwise never seen" : what[i]);
		lead = "           ";
	}
	if (lead[0] == 'c')
		fprintf(f, "%s%s\n", lead, d->sample_bytes ? "complete: "
		    "every sampled allocation tracked" : "complete: every "
		    "allocation tracked");
}

/* The return addresses ip[0..n-1] of a stack at generation gen, one
 * (inlined) frame a line. */
static void
print_frames(FILE *f, struct lsr_dump *d, const uint64_t *ip, unsigned n,
    uint32_t gen)
{
	struct lsr_frame fr[MAX_EXPANDED];
	unsigned k, m, j, no = 0;

	for (k = 0; k < n; k++) {
		m = lsr_symbolize(d, ip[k], gen, fr, MAX_EXPANDED);
		for (j = 0; j < m; j++)
			print_frame(f, &fr[j], no++);
	}
}

/* Thread leaks at the report's snapshot, each with its creation stack. */
static void
print_threads(FILE *f, const struct lsr_report *r)
{
	struct lsr_dump *d = r->d;
	const struct lsr_snapshot *s = lsr_report_snap(r);
	size_t i, nleak = 0;

	if (s == NULL || s->counters[LS_CNT_THREADS] == 0)
		return;
	for (i = 0; i < d->nthreads; i++) {
		const struct lsr_thread_ver *v = lsr_thread_at(&d->threads[i],
		    r->snap);

		nleak += v != NULL && lsr_thread_leaked(r, v);
	}
	fprintf(f, "\nthreads:   %" PRIu64 " created with pthread_create; ",
	    s->counters[LS_CNT_THREADS]);
	if (nleak == 0) {
		fputs("none left unjoined\n", f);
		return;
	}
	fprintf(f, "%zu never joined or detached:\n", nleak);
	for (i = 0; i < d->nthreads; i++) {
		const struct lsr_thread *t = &d->threads[i];
		const struct lsr_thread_ver *v = lsr_thread_at(t, r->snap);
		const char *start;

		if (v == NULL || !lsr_thread_leaked(r, v))
			continue;
		start = lsr_symbol_name(d, t->start + 1, t->gen);
		fprintf(f, "  thread %" PRIu64 " \"%s\" %s, start routine %s\n",
		    t->tid, tx(d->thread_names[v->name]),
		    v->state == LS_THREAD_RUNNING ? "still running at exit" :
		    "ended, never joined", start ? tx(start) : "??");
		print_frames(f, d, t->ip, t->nframes, t->gen);
	}
}

/* The program (as run, and its executable when that differs), its
 * command line, and how it ended when the snapshot line cannot say. */
static void
print_program(FILE *f, const struct lsr_dump *d)
{
	const char *exe = d->exe && d->exe[0] ? d->exe : "?";
	const char *base = lsr_base_name(exe);
	size_t i;

	if (d->name != NULL && d->name[0] && strcmp(d->name, base) != 0)
		fprintf(f, "program:   %s (%s, pid %" PRIu64 ", parent %"
		    PRIu64 ")\n", tx(d->name), tx(exe), d->pid, d->ppid);
	else
		fprintf(f, "program:   %s (pid %" PRIu64 ", parent %" PRIu64
		    ")\n", tx(exe), d->pid, d->ppid);
	if (d->argc > 0) {
		fprintf(f, "command:  ");
		for (i = 0; i < d->argc; i++)
			fprintf(f, " %s", tx(d->argv[i]));
		fputc('\n', f);
	}
	if (d->final && d->final_how == LS_FINAL_SIGNAL)
		fprintf(f, "ended:     final snapshot, then ended by %s\n",
		    lsr_signal_name(d->final_signo));
	else if (d->final && d->final_how >= LS_FINAL_COUNT)
		fprintf(f, "ended:     final snapshot, then ended in a way "
		    "this reader does not know\n");
}

/* When the process started and how long it ran, its notes, and whether
 * the figures are sampled. */
static void
print_run(FILE *f, const struct lsr_dump *d)
{
	size_t i;

	if (d->start_real_ns != 0) {
		time_t t = (time_t)(d->start_real_ns / 1000000000u);
		struct tm tm;
		char when[64];

		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC",
		    &tm) == 0)
			snprintf(when, sizeof(when), "%" PRIu64 " ns after the "
			    "epoch", d->start_real_ns);
		/* Attached: the figures are of what was allocated since. */
		fprintf(f, d->pflags & LS_PF_ATTACHED ? "attached:  %s "
		    "(tracking since the attach: blocks allocated before it "
		    "are not known)" : "started:   %s", when);
		if (d->nsnaps > 0)
			fprintf(f, d->pflags & LS_PF_ATTACHED ?
			    "; tracked %.3f s" : "; ran %.3f s",
			    (double)d->snaps[d->nsnaps - 1].mono_ns / 1e9);
		fputc('\n', f);
	}
	for (i = 0; i < d->nnotes; i++)
		fprintf(f, "note:      %s\n", tx(d->notes[i]));
	for (i = 0; i < d->nsettings; i++) {
		const struct lsr_setting *st = &d->settings[i];

		fprintf(f, "setting:   %s=%s was refused ", tx(st->name),
		    tx(st->given));
		fprintf(f, "(%s); the run used %s\n", tx(st->reason),
		    tx(st->used));
	}
	if (d->sample_bytes != 0) {
		char h[32];

		human(h, sizeof(h), d->sample_bytes);
		fprintf(f, "sampling:  one allocation per %s on average: "
		    "figures are estimates\n", h);
	}
}

/* The report's snapshot s, with --diff the window, and the totals. */
static void
print_totals(FILE *f, const struct lsr_report *r,
    const struct lsr_snapshot *s)
{
	const struct lsr_dump *d = r->d;
	char h1[32], h2[32];

	fprintf(f, "snapshot:  #%" PRIu32 " of %zu (%s, at %.3f s)\n",
	    s->index, d->nsnaps, lsr_reason_name(s->reason),
	    (double)s->mono_ns / 1e9);
	if (r->from != SIZE_MAX)
		print_diff_header(f, r);
	human(h1, sizeof(h1), r->totals.live_bytes);
	human(h2, sizeof(h2), r->totals.alloc_bytes);
	fprintf(f, "live:      %" PRIu64 " bytes (%s) in %" PRIu64
	    " blocks at %zu site%s\n", r->totals.live_bytes, h1,
	    r->totals.live_blocks, r->nlive, r->nlive == 1 ? "" : "s");
	fprintf(f, "allocated: %" PRIu64 " bytes (%s) in %" PRIu64
	    " blocks since %s\n", r->totals.alloc_bytes, h2,
	    r->totals.alloc_blocks, d->pflags & LS_PF_ATTACHED ? "the attach" :
	    "start");
	if (d->inherited_epoch != 0)
		fprintf(f, "inherited: %" PRIu64 " bytes in %" PRIu64 " blocks "
		    "of the live ones come from the parent (pid %" PRIu64
		    "), at fork\n", r->inherited_bytes, r->inherited_blocks,
		    d->ppid);
	if (r->ngrowing > 0) {
		char rate[48];

		format_rate(rate, sizeof(rate), r->growing_rate);
		fprintf(f, "growing:   %zu site%s, %s in all\n", r->ngrowing,
		    r->ngrowing == 1 ? "" : "s", rate);
	} else {
		fprintf(f, "growing:   none over %zu snapshot%s\n",
		    r->snap + 1, r->snap ? "s" : "");
	}
}

/* The heap scan the report uses, and whether it is complete; a dump with
 * scans elsewhere but none up to the snapshot says so. */
static void
print_scan(FILE *f, const struct lsr_report *r)
{
	const struct lsr_scan *sc = r->scan;

	if (sc == NULL) {
		if (r->d->nscans > 0)
			fprintf(f, "scan:      none (reachability unknown)\n");
		return;
	}
	fprintf(f, "scan:      at %.3f s (snapshot #%zu", (double)sc->mono_ns /
	    1e9, sc->snap);
	if (sc->snap != r->snap)
		fprintf(f, ", the nearest before #%zu", r->snap);
	if (sc->complete)
		fputs("), complete", f);
	else
		fprintf(f, "), incomplete: %s", sc->reason[0] ? tx(sc->reason) :
		    "no reason given");
	if (sc->threads_not_stopped != 0)
		fprintf(f, "; %" PRIu64 " thread%s not stopped",
		    sc->threads_not_stopped, sc->threads_not_stopped == 1 ? "" :
		    "s");
	fputc('\n', f);
}

/* "1.2 KiB in 3", or "0". */
static const char *
amount(const struct lsr_amount *a)
{
	static char ring[4][64];
	static unsigned k;
	char *b = ring[k++ % 4], h[32];

	if (a->bytes == 0 && a->blocks == 0)
		return "0";
	human(h, sizeof(h), a->bytes);
	snprintf(b, sizeof(ring[0]), "%s in %" PRIu64, h, a->blocks);
	return b;
}

/* The first function of site s, else its module and offset. */
static void
print_site_name(FILE *f, struct lsr_dump *d, const struct lsr_site *s)
{
	const struct lsr_stack *st = &d->stacks[s->stack];
	struct lsr_frame fr[MAX_EXPANDED];
	unsigned n;

	n = st->nframes > s->skip ? lsr_symbolize(d, st->ip[s->skip], st->gen,
	    fr, MAX_EXPANDED) : 0;
	if (n && fr[0].function)
		fputs(tx(fr[0].function), f);
	else if (n && fr[0].module)
		fprintf(f, "%s+0x%" PRIx64, tx(lsr_base_name(fr[0].module)),
		    fr[0].offset);
	else
		fputs("??", f);
}

/* A root: "global batch [leakspy-demo]", "stack of main thread". */
static void
print_root(FILE *f, const struct lsr_report *r, const struct lsr_held *h)
{
	struct lsr_dump *d = r->d;
	static const char *const what[LS_OWN_COUNT] = {
		[LS_OWN_STACK] = "stack", [LS_OWN_TLS] = "TLS",
		[LS_OWN_REGISTER] = "registers",
	};
	const struct lsr_thread *t;
	const struct lsr_thread_ver *v;
	const char *start;

	if (h->kind == LS_OWN_GLOBAL) {
		const struct lsr_module *m = lsr_module_of(d, h->owner,
		    r->scan->gen);
		const char *sym = lsr_symbol_name(d, h->owner + 1,
		    r->scan->gen);

		if (sym != NULL)
			fprintf(f, "global %s [%s]", tx(sym), m ?
			    tx(lsr_base_name(m->path)) : "?");
		else if (m != NULL)
			fprintf(f, "global %s+0x%" PRIx64,
			    tx(lsr_base_name(m->path)), h->owner - m->bias);
		else
			fprintf(f, "global 0x%" PRIx64, h->owner);
		return;
	}
	if (h->kind == LS_OWN_CACHE) {
		fputs("the C library's cache of ended threads", f);
		return;
	}
	if (h->kind >= LS_OWN_COUNT || what[h->kind] == NULL) {
		fprintf(f, "unknown root 0x%" PRIx64, h->owner);
		return;
	}
	fprintf(f, "%s of ", what[h->kind]);
	t = h->owner ? lsr_thread_by_serial(d, h->owner) : NULL;
	v = t ? lsr_thread_at(t, r->snap) : NULL;
	start = t ? lsr_symbol_name(d, t->start + 1, t->gen) : NULL;
	if (h->owner == 0)
		fputs("main thread", f);
	else if (v != NULL && d->thread_names[v->name][0])
		fprintf(f, "thread \"%s\" (#%" PRIu64 "%s%s)",
		    tx(d->thread_names[v->name]), h->owner, start ? ", " : "",
		    start ? tx(start) : "");
	else if (start != NULL)
		fprintf(f, "thread #%" PRIu64 " (%s)", h->owner, tx(start));
	else
		fprintf(f, "thread #%" PRIu64, h->owner);
}

/* One step of a chain: its owner, what it holds, the links it stands
 * for. */
static void
print_step(FILE *f, const struct lsr_report *r, size_t k,
    const struct lsr_held *h)
{
	bool own = h->kind == LS_OWN_BLOCK && h->site == k;
	bool fig = h->held.bytes != 0 || h->held.blocks != 0;

	if (own)
		fputs("its own blocks", f);
	else if (h->kind == LS_OWN_BLOCK && h->site != SIZE_MAX)
		print_site_name(f, r->d, &r->sites[h->site]);
	else if (h->kind == LS_OWN_BLOCK)
		fprintf(f, "stack #%" PRIu64, h->owner);
	else
		print_root(f, r, h);
	if (fig || h->collapsed > 1)
		fprintf(f, " (%s%s", fig ? amount(&h->held) : "",
		    fig && h->collapsed > 1 ? ", " : "");
	if (h->collapsed > 1)
		fprintf(f, "a run of %" PRIu64, h->collapsed);
	if (fig || h->collapsed > 1)
		fputc(')', f);
}

/* Site k's reachability and, if it grows, its chain up to a root: at
 * most CHAIN_SHOWN steps, the root last. */
#define CHAIN_SHOWN	6
static void
print_reach(FILE *f, const struct lsr_report *r, size_t k)
{
	const struct lsr_site *s = &r->sites[k];
	const struct lsr_site_reach *rc = s->reach;

	if (rc == NULL)
		return;
	fprintf(f, "        reach: definitely lost %s, indirectly %s, "
	    "interior only %s, reachable %s\n", amount(&rc->r[LSR_R_DEFINITE]),
	    amount(&rc->r[LSR_R_INDIRECT]), amount(&rc->r[LSR_R_INTERIOR]),
	    amount(&rc->r[LSR_R_REACHABLE]));
	if (s->growth.verdict != LSR_V_GROWING || rc->nchain == 0)
		return;
	fputs("        retained by: ", f);
	lsr_text_chain(f, r, k);
	fputc('\n', f);
}

void
lsr_text_chain(FILE *f, const struct lsr_report *r, size_t k)
{
	const struct lsr_site_reach *rc = r->sites[k].reach;
	size_t i;

	for (i = 0; rc != NULL && i < rc->nchain; i++) {
		if (rc->nchain > CHAIN_SHOWN && i == CHAIN_SHOWN - 2) {
			fprintf(f, "... (%zu more) <- ", rc->nchain -
			    CHAIN_SHOWN + 1);
			i = rc->nchain - 1;
		}
		print_step(f, r, k, &rc->chain[i]);
		if (i + 1 < rc->nchain)
			fputs(" <- ", f);
	}
}

/* Site s: its line, its growth and its stack; series is scratch for
 * r->snap + 1 points. */
static void
print_site(FILE *f, struct lsr_report *r, struct lsr_site *s,
    struct lsr_point *series)
{
	struct lsr_dump *d = r->d;
	const struct lsr_stack *st = &d->stacks[s->stack];
	struct lsr_frame fr[MAX_EXPANDED];
	unsigned n;

	n = st->nframes > s->skip ? lsr_symbolize(d, st->ip[s->skip], st->gen,
	    fr, MAX_EXPANDED) : 0;
	if (r->from != SIZE_MAX)
		fprintf(f, "%14" PRIu64 " %10" PRIu64 " %+12" PRId64,
		    s->diff.new_bytes, s->diff.new_blocks, s->diff.live_bytes);
	else
		fprintf(f, "%14" PRIu64 " %10" PRIu64, s->v.live_bytes,
		    s->v.live_blocks);
	fprintf(f, "  %s", n && fr[0].function ? tx(fr[0].function) : "??");
	if (n && fr[0].file)
		fprintf(f, " (%s:%u)", tx(fr[0].file), fr[0].line);
	fprintf(f, " via %s", tx(s->via));
	if (r->by_thread)
		fprintf(f, " in thread \"%s\"", tx(s->thread));
	fputc('\n', f);
	print_growth(f, r, s, series);
	print_reach(f, r, (size_t)(s - r->sites));
	print_frames(f, d, st->ip + s->skip, st->nframes - s->skip, st->gen);
	if (s->truncated)
		fprintf(f, "        ... (stack cut at depth %" PRIu64 ")\n",
		    d->max_depth);
}

/* The first o->top sites (0: all) under their column heads. */
static void
print_sites(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	size_t shown = o->top && o->top < r->nsites ? o->top : r->nsites, i;
	struct lsr_point *series = lsr_xcalloc(r->snap + 1, sizeof(*series));

	if (r->from != SIZE_MAX)
		fprintf(f, "\n%14s %10s %12s  %s\n", "NEW BYTES", "BLOCKS",
		    "LIVE CHANGE", "SITE");
	else
		fprintf(f, "\n%14s %10s  %s\n", "LIVE BYTES", "BLOCKS", "SITE");
	for (i = 0; i < shown; i++)
		print_site(f, r, &r->sites[i], series);
	free(series);
	if (shown < r->nsites)
		fprintf(f, "\n... %zu more sites (--top 0 shows all)\n",
		    r->nsites - shown);
}

void
lsr_out_text(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o)
{
	struct lsr_dump *d = r->d;
	const struct lsr_snapshot *s = lsr_report_snap(r);

	fprintf(f, "leakspy report: %s\n", tx(d->path));
	print_program(f, d);
	print_run(f, d);
	if (s == NULL) {
		fprintf(f, "snapshot:  none in this dump\n");
		print_coverage(f, d, NULL);
		return;
	}
	print_totals(f, r, s);
	print_scan(f, r);
	print_coverage(f, d, s);
	if (r->nsites == 0) {
		fprintf(f, "\nno live blocks\n");
		return;
	}
	print_sites(f, r, o);
	print_threads(f, r);
}
