/* SPDX-License-Identifier: MIT */
/*
 * The leak gate's findings: from each dump, the memory its final heap
 * scan found lost at exit (by site and class), its thread leaks (by
 * creation stack) and its growing sites; then the verdict over all of
 * them once suppressions and the baseline are applied.
 *
 * A dump supports a verdict only when its data is whole: read to its
 * end, its final snapshot written, every allocation seen (not sampled,
 * none dropped) and, for lost memory, a complete scan at exit.  What
 * cannot be judged is said, and the check then never passes.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "lsr.h"
#include "xalloc.h"

#define MAX_EXPANDED 64

const char *
lsr_kind_word(unsigned kind)
{
	static const char *const words[LSR_K_COUNT] = {
		[LSR_K_DEFINITE] = "definite", [LSR_K_INDIRECT] = "indirect",
		[LSR_K_POSSIBLE] = "possible", [LSR_K_THREAD] = "thread",
		[LSR_K_GROWTH] = "growth",
	};

	return kind < LSR_K_COUNT ? words[kind] : "unknown";
}

static char *
xdup(const char *s)
{
	return s ? lsr_xstrdup(s) : NULL;
}

/* A new finding of kind in c, for its last dump. */
static struct lsr_finding *
add_finding(struct lsr_check *c, unsigned kind)
{
	struct lsr_finding *f;

	c->findings = lsr_xgrow(c->findings, &c->cap_findings,
	    c->nfindings + 1, sizeof(*c->findings));
	f = &c->findings[c->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->dump = c->ndumps - 1;
	f->released_at = -1;
	return f;
}

/* The frames of ip[0..n-1] (a stack at generation gen) into *out (*nout
 * of them), inline frames expanded, with their strings copied. */
static void
expand_frames(struct lsr_dump *d, struct lsr_cframe **out, size_t *nout,
    const uint64_t *ip, unsigned n, uint32_t gen)
{
	struct lsr_frame fr[MAX_EXPANDED];
	size_t cap = 0;
	unsigned k, m, j;

	for (k = 0; k < n; k++) {
		m = lsr_symbolize(d, ip[k], gen, fr, MAX_EXPANDED);
		for (j = 0; j < m; j++) {
			struct lsr_cframe *cf;

			*out = lsr_xgrow(*out, &cap, *nout + 1, sizeof(**out));
			cf = &(*out)[(*nout)++];
			cf->function = xdup(fr[j].function);
			cf->file = xdup(fr[j].file);
			cf->line = fr[j].line;
			cf->module = xdup(fr[j].module);
			cf->offset = fr[j].offset;
			cf->inlined = fr[j].inlined;
		}
	}
}

/* Finding f's stack: stack st of d less its first skip frames, which
 * are the allocator's. */
static void
copy_frames(struct lsr_dump *d, struct lsr_finding *f,
    const struct lsr_stack *st, unsigned skip)
{
	expand_frames(d, &f->alloc, &f->nalloc, st->ip, skip, st->gen);
	expand_frames(d, &f->frames, &f->nframes, st->ip + skip,
	    st->nframes - skip, st->gen);
}

static uint64_t
count_at(const struct lsr_dump *d, size_t k, unsigned counter)
{
	return k < d->nsnaps ? d->snaps[k].counters[counter] : 0;
}

/* Why the data of d cannot support a verdict (malloc'd), or NULL. */
static char *
no_verdict_why(const struct lsr_dump *d)
{
	uint64_t dropped;

	if (d->error != NULL)
		return lsr_xasprintf("damaged at offset %" PRIu64 ": %s",
		    d->error_offset, d->error);
	if (d->nsnaps == 0)
		return lsr_xasprintf("no snapshot in it");
	if (d->incomplete)
		return lsr_xasprintf("no final snapshot: %s",
		    lsr_incomplete_why(d));
	if (d->pflags & LS_PF_INTERPOSE_FAILED)
		return lsr_xasprintf("%s", d->interpose_note);
	if (d->sample_bytes != 0)
		return lsr_xasprintf("sampled (LEAKSPY_SAMPLE=%" PRIu64 "): only "
		    "some allocations were traced, and no heap scan is "
		    "possible", d->sample_bytes);
	dropped = count_at(d, d->nsnaps - 1, LS_CNT_DROPPED);
	if (dropped != 0)
		return lsr_xasprintf("%" PRIu64 " allocations were not traced "
		    "(leakspy ran out of memory)", dropped);
	return NULL;
}

/*
 * Whether r's final scan can judge what was lost at exit; if not, *why
 * says why the data cannot support a verdict, or *note why lost memory
 * is not a question (the process did not exit: it executed another
 * program or a signal ended it).  Both malloc'd.
 */
static bool
scan_judges(const struct lsr_report *r, char **why, char **note)
{
	const struct lsr_dump *d = r->d;
	const struct lsr_scan *sc = r->scan;

	if (d->final_how != LS_FINAL_EXIT) {
		*note = lsr_xasprintf("%s: memory lost at exit not judged",
		    d->final_how == LS_FINAL_SIGNAL ?
		    lsr_signal_name(d->final_signo) :
		    lsr_final_how_name(d->final_how));
		return false;
	}
	if (sc == NULL || sc->snap != r->snap) {
		*why = lsr_xasprintf("no heap scan at exit (LEAKSPY_SCAN=0, or the "
		    "scan was refused)");
		return false;
	}
	if (!sc->complete) {
		*why = lsr_xasprintf("the heap scan at exit is incomplete: %s",
		    sc->reason);
		return false;
	}
	return true;
}

/* Findings of memory lost at exit: one per site and class. */
static void
lost_findings(struct lsr_check *c, struct lsr_report *r)
{
	static const struct {
		unsigned kind, reach;
	} classes[] = {
		{ LSR_K_DEFINITE, LSR_R_DEFINITE },
		{ LSR_K_INDIRECT, LSR_R_INDIRECT },
		{ LSR_K_POSSIBLE, LSR_R_INTERIOR },
	};
	struct lsr_dump *d = r->d;
	size_t i, j;

	for (i = 0; i < r->nsites; i++) {
		const struct lsr_site *s = &r->sites[i];
		const struct lsr_stack *st = &d->stacks[s->stack];

		for (j = 0; s->reach != NULL && j < 3; j++) {
			const struct lsr_amount *a =
			    &s->reach->r[classes[j].reach];
			struct lsr_finding *f;

			if (!(c->o.fail_on & LSR_K_BIT(classes[j].kind)) ||
			    (a->bytes == 0 && a->blocks == 0))
				continue;
			f = add_finding(c, classes[j].kind);
			f->amount.bytes = a->bytes;
			f->amount.blocks = a->blocks;
			f->via = xdup(s->via);
			copy_frames(d, f, st, s->skip);
		}
	}
}

/* The chain of site k as one string, or NULL. */
static char *
chain_text(const struct lsr_report *r, size_t k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (r->sites[k].reach == NULL || r->sites[k].reach->nchain == 0)
		return NULL;
	m = open_memstream(&buf, &len);
	if (m == NULL)
		lsr_nomem();
	lsr_text_chain(m, r, k);
	if (fclose(m) != 0)
		lsr_nomem();
	return buf;
}

/* Findings of growth: each site whose verdict is growing, faster than
 * the rate limit and by more than the total one. */
static void
growth_findings(struct lsr_check *c, struct lsr_report *r)
{
	struct lsr_dump *d = r->d;
	struct lsr_point *p;
	size_t i, a;

	if (!(c->o.fail_on & LSR_K_BIT(LSR_K_GROWTH)) || r->snap >= d->nsnaps)
		return;
	p = lsr_xcalloc(r->snap + 1, sizeof(*p));
	for (i = 0; i < r->nsites; i++) {
		struct lsr_site *s = &r->sites[i];
		const struct lsr_stack *st = &d->stacks[s->stack];
		struct lsr_finding *f;
		uint64_t grew;

		if (s->growth.verdict != LSR_V_GROWING)
			continue;
		lsr_site_series(r, s, p);
		for (a = 0; a < r->snap && p[a].t < s->growth.since; a++)
			;
		grew = s->growth.peak_bytes > p[a].bytes ?
		    s->growth.peak_bytes - p[a].bytes : 0;
		if (s->growth.bytes_per_second <= c->o.max_rate ||
		    grew <= c->o.max_total)
			continue;
		f = add_finding(c, LSR_K_GROWTH);
		f->amount.bytes = s->growth.peak_bytes;
		f->amount.blocks = s->growth.peak_blocks;
		f->rate = s->growth.bytes_per_second;
		f->grew = grew;
		f->since = s->growth.since;
		f->released_at = s->growth.released_at;
		f->retained_by = chain_text(r, i);
		f->via = xdup(s->via);
		copy_frames(d, f, st, s->skip);
	}
	free(p);
}

/* Threads of one finding: the same creation stack and start routine. */
static bool
same_stack(const struct lsr_thread *a, const struct lsr_thread *b)
{
	return a->gen == b->gen && a->start == b->start &&
	    a->nframes == b->nframes &&
	    memcmp(a->ip, b->ip, a->nframes * sizeof(*a->ip)) == 0;
}

/* Findings of thread leaks: one per creation stack and state, counting
 * the threads. */
static void
thread_findings(struct lsr_check *c, struct lsr_report *r)
{
	struct lsr_dump *d = r->d;
	size_t first = c->nfindings, i, j;
	size_t *rep;		/* each finding's first thread */

	if (!(c->o.fail_on & LSR_K_BIT(LSR_K_THREAD)) ||
	    !lsr_thread_at_exit(r))
		return;
	rep = lsr_xcalloc(d->nthreads, sizeof(*rep));
	for (i = 0; i < d->nthreads; i++) {
		const struct lsr_thread *t = &d->threads[i];
		const struct lsr_thread_ver *v = lsr_thread_at(t, r->snap);
		const char *state, *name, *start;
		struct lsr_finding *f;

		if (v == NULL || !lsr_thread_leaked(r, v))
			continue;
		state = v->state == LS_THREAD_RUNNING ? "still running at "
		    "exit" : "ended, never joined";
		for (j = first; j < c->nfindings; j++)
			if (same_stack(&d->threads[rep[j - first]], t) &&
			    strcmp(c->findings[j].thread_state, state) == 0)
				break;
		if (j < c->nfindings) {
			c->findings[j].amount.blocks++;
			continue;
		}
		f = add_finding(c, LSR_K_THREAD);
		rep[c->nfindings - 1 - first] = i;
		f->amount.blocks = 1;
		f->thread_serial = t->serial;
		name = d->thread_names[v->name];
		f->thread_name = name[0] ? xdup(name) : NULL;
		f->thread_state = xdup(state);
		start = lsr_symbol_name(d, t->start + 1, t->gen);
		f->thread_start = xdup(start);
		f->via = xdup("pthread_create");
		expand_frames(d, &f->frames, &f->nframes, t->ip, t->nframes,
		    t->gen);
	}
	free(rep);
}

/* The argv of d joined by spaces. */
static char *
command_of(const struct lsr_dump *d)
{
	size_t i, n = 1;
	char *s;

	for (i = 0; i < d->argc; i++)
		n += strlen(d->argv[i]) + 1;
	s = lsr_xcalloc(n, 1);
	for (i = 0; i < d->argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, d->argv[i]);
	}
	return s;
}

static void finding_fini(struct lsr_finding *f);

/* By kind, allocation function (none first) and key: 0 for findings
 * merge_lost makes one. */
static int
same_kind_via_key(const struct lsr_finding *a, const struct lsr_finding *b)
{
	int d;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->via == NULL || b->via == NULL)
		d = (a->via != NULL) - (b->via != NULL);
	else
		d = strcmp(a->via, b->via);
	return d != 0 ? d : strcmp(a->key, b->key);
}

/* qsort: as same_kind_via_key, then the biggest first, then by the
 * frames' lines, so that which stack a merged finding shows is always
 * the same. */
static int
by_merge_order(const void *pa, const void *pb)
{
	const struct lsr_finding *a = pa, *b = pb;
	int d = same_kind_via_key(a, b);
	size_t i;

	if (d != 0)
		return d;
	if (a->amount.bytes != b->amount.bytes)
		return a->amount.bytes > b->amount.bytes ? -1 : 1;
	for (i = 0; i < a->nframes && i < b->nframes; i++)
		if (a->frames[i].line != b->frames[i].line)
			return a->frames[i].line < b->frames[i].line ? -1 : 1;
	return 0;
}

/*
 * One finding for memory lost at exit in one dump per kind, allocation
 * function and key (the frames' functions and file names): sites that
 * differ only in return addresses or lines (a loop the compiler unrolled,
 * a call repeated on the next line) are one, their amounts summed, shown
 * with the biggest one's stack.  A baseline's budget, which is per key,
 * then holds whatever a rebuild does to them.  From findings[first] on;
 * the caller orders them afterwards.
 */
static void
merge_lost(struct lsr_check *c, size_t first)
{
	struct lsr_finding *v;
	size_t n = c->nfindings - first, i, out = 0;

	if (n == 0)
		return;
	v = c->findings + first;
	for (i = 0; i < n; i++)
		v[i].key = lsr_finding_key(&v[i]);
	qsort(v, n, sizeof(*v), by_merge_order);
	for (i = 0; i < n; i++) {
		if (out > 0 && same_kind_via_key(&v[out - 1], &v[i]) == 0) {
			v[out - 1].amount.bytes += v[i].amount.bytes;
			v[out - 1].amount.blocks += v[i].amount.blocks;
			v[out - 1].stacks++;
			finding_fini(&v[i]);
			continue;
		}
		v[out] = v[i];
		v[out++].stacks = 1;
	}
	c->nfindings = first + out;
}

/* Order findings of one dump: by kind, then the biggest first. */
static int
by_kind_size(const void *pa, const void *pb)
{
	const struct lsr_finding *a = pa, *b = pb;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->amount.bytes != b->amount.bytes)
		return a->amount.bytes > b->amount.bytes ? -1 : 1;
	if (a->amount.blocks != b->amount.blocks)
		return a->amount.blocks > b->amount.blocks ? -1 : 1;
	return 0;
}

/* A new dump entry in c for path. */
static struct lsr_cdump *
add_dump(struct lsr_check *c, const char *path)
{
	struct lsr_cdump *cd;

	c->dumps = lsr_xgrow(c->dumps, &c->cap_dumps, c->ndumps + 1,
	    sizeof(*c->dumps));
	cd = &c->dumps[c->ndumps++];
	memset(cd, 0, sizeof(*cd));
	cd->path = lsr_xstrdup(path);
	return cd;
}

int
lsr_check_dump(struct lsr_check *c, const char *path)
{
	struct lsr_dump d;

	if (lsr_read(path, &d) != 0) {
		struct lsr_cdump *cd = add_dump(c, path);

		cd->why = lsr_xstrdup("could not be opened");
		cd->command = lsr_xstrdup("");
		return LSR_EXIT_USAGE;
	}
	lsr_check_parsed(c, &d);
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return 0;
}

void
lsr_check_parsed(struct lsr_check *c, struct lsr_dump *d)
{
	struct lsr_report r;
	struct lsr_cdump *cd = add_dump(c, d->path);
	size_t first = c->nfindings;
	char *why, *note = NULL;

	cd->name = xdup(d->name ? d->name : d->exe);
	cd->pid = d->pid;
	cd->command = command_of(d);
	cd->seconds = d->nsnaps ? (double)d->snaps[d->nsnaps - 1].mono_ns /
	    1e9 : 0;
	why = no_verdict_why(d);
	lsr_group(d, d->nsnaps ? d->nsnaps - 1 : SIZE_MAX, SIZE_MAX, 0, &r);
	if (d->nsnaps > 0 && d->final) {
		char *swhy = NULL;

		if (c->o.fail_on & (LSR_K_BIT(LSR_K_DEFINITE) |
		    LSR_K_BIT(LSR_K_INDIRECT) | LSR_K_BIT(LSR_K_POSSIBLE))) {
			if (scan_judges(&r, &swhy, &note)) {
				lost_findings(c, &r);
				merge_lost(c, first);
			}
			if (why == NULL)
				why = swhy;
			else
				free(swhy);
		}
		thread_findings(c, &r);
	}
	growth_findings(c, &r);
	if (c->nfindings > first)
		qsort(c->findings + first, c->nfindings - first,
		    sizeof(*c->findings), by_kind_size);
	cd->verdict = why == NULL;
	cd->why = why;
	cd->note = note;
	lsr_report_fini(&r);
}

void
lsr_check_judge(struct lsr_check *c)
{
	bool unjudged = false;
	size_t i;

	c->failing = c->suppressed = c->baselined = 0;
	for (i = 0; i < c->nrules; i++)
		c->rules[i].used = c->rules[i].used_bytes = 0;
	for (i = 0; i < c->nbudgets; i++)
		c->budgets[i].matched = 0;
	for (i = 0; i < c->ndumps; i++) {
		c->dumps[i].nfindings = 0;
		unjudged |= !c->dumps[i].verdict;
	}
	for (i = 0; i < c->nfindings; i++) {
		struct lsr_finding *f = &c->findings[i];
		struct lsr_rule *rule;
		struct lsr_budget *b;

		if (f->key == NULL)
			f->key = lsr_finding_key(f);
		f->rule = rule = lsr_rules_match(c, f);
		f->budget = b = rule ? NULL : lsr_baseline_match(c, f);
		f->over_budget = false;
		if (rule != NULL) {
			rule->used++;
			rule->used_bytes += f->amount.bytes;
			c->suppressed++;
			continue;
		}
		if (b != NULL) {
			b->matched++;
			f->over_budget = f->amount.bytes > b->bytes ||
			    f->amount.blocks > b->blocks;
			if (!f->over_budget) {
				c->baselined++;
				continue;
			}
		}
		if (lsr_finding_fails(c, f)) {
			c->failing++;
			c->dumps[f->dump].nfindings++;
		}
	}
	c->exit_status = c->failing ? LSR_EXIT_FINDINGS : unjudged ?
	    LSR_EXIT_NO_VERDICT : 0;
}

static void
free_frames(struct lsr_cframe *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].function);
		free(v[i].file);
		free(v[i].module);
	}
	free(v);
}

static void
finding_fini(struct lsr_finding *f)
{
	free_frames(f->frames, f->nframes);
	free_frames(f->alloc, f->nalloc);
	free(f->retained_by);
	free(f->thread_name);
	free(f->thread_state);
	free(f->thread_start);
	free(f->via);
	free(f->key);
}

void
lsr_check_fini(struct lsr_check *c)
{
	size_t i;

	for (i = 0; i < c->nfindings; i++)
		finding_fini(&c->findings[i]);
	for (i = 0; i < c->ndumps; i++) {
		free(c->dumps[i].path);
		free(c->dumps[i].name);
		free(c->dumps[i].command);
		free(c->dumps[i].why);
		free(c->dumps[i].note);
	}
	for (i = 0; i < c->nrules; i++) {
		free(c->rules[i].text);
		free(c->rules[i].pattern);
		free(c->rules[i].where);
	}
	for (i = 0; i < c->nbudgets; i++) {
		free(c->budgets[i].key);
		free(c->budgets[i].where);
	}
	free(c->findings);
	free(c->dumps);
	free(c->rules);
	free(c->budgets);
	memset(c, 0, sizeof(*c));
}
