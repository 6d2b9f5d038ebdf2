/* SPDX-License-Identifier: MIT */
/*
 * The leak gate's result as text, for a CI log: each dump's verdict,
 * each finding that fails with its symbolized stack, the suppressions
 * used and unused, and the result in one line.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "lsr.h"

/* "40 bytes in 1 block", with a rounded figure past 10 KiB. */
static void
print_amount(FILE *f, uint64_t bytes, uint64_t blocks, const char *unit)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	fprintf(f, "%" PRIu64 " byte%s", bytes, bytes == 1 ? "" : "s");
	if (bytes >= 10240) {
		v /= 1024;
		while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
			v /= 1024;
			u++;
		}
		fprintf(f, " (%.1f %s)", v, units[u]);
	}
	fprintf(f, " in %" PRIu64 " %s%s", blocks, unit, blocks == 1 ? "" :
	    "s");
}

/* A rate in bytes a second: "+4.3 MiB/s", "+120 B/h". */
static void
print_rate(FILE *f, double r)
{
	static const struct {
		const char *name;
		double seconds;
	} per[] = { { "s", 1 }, { "min", 60 }, { "h", 3600 } };
	static const char *const units[] = { "B", "KiB", "MiB", "GiB" };
	unsigned p = 0, u = 0;
	double v;

	while (p + 1 < 3 && r * per[p].seconds < 1024 / 8.0 && r > 0)
		p++;
	v = r * per[p].seconds;
	while (v >= 1024 && u + 1 < 4) {
		v /= 1024;
		u++;
	}
	fprintf(f, "%+.*f %s/%s", v < 10 && u > 0 ? 1 : 0, v, units[u],
	    per[p].name);
}

static void
print_frame(FILE *f, const struct lsr_cframe *fr, size_t no)
{
	fprintf(f, "        #%-2zu %s", no, fr->function ? fr->function :
	    "??");
	if (fr->file != NULL)
		fprintf(f, " at %s:%u", fr->file, fr->line);
	if (fr->inlined)
		fputs(" (inlined)", f);
	if (fr->function == NULL || fr->file == NULL)
		fprintf(f, " [%s+0x%" PRIx64 "]", fr->module ?
		    lsr_base_name(fr->module) : "?", fr->offset);
	else if (fr->module != NULL)
		fprintf(f, " [%s]", lsr_base_name(fr->module));
	fputc('\n', f);
}

/* What finding fd is, on one line, without its stack. */
static void
print_what(FILE *f, const struct lsr_finding *fd)
{
	switch (fd->kind) {
	case LSR_K_DEFINITE:
	case LSR_K_INDIRECT:
	case LSR_K_POSSIBLE:
		fprintf(f, "%s: ", fd->kind == LSR_K_DEFINITE ?
		    "definitely lost" : fd->kind == LSR_K_INDIRECT ?
		    "indirectly lost" : "possibly lost (interior pointers "
		    "only)");
		print_amount(f, fd->amount.bytes, fd->amount.blocks, "block");
		fprintf(f, " at exit, allocated by %s from", fd->via ?
		    fd->via : "??");
		if (fd->stacks > 1)
			fprintf(f, " %u call stacks of the same functions "
			    "and files, the biggest", fd->stacks);
		break;
	case LSR_K_THREAD:
		fprintf(f, "thread leak: %" PRIu64 " thread%s", fd->amount.blocks,
		    fd->amount.blocks == 1 ? "" : "s");
		if (fd->thread_name != NULL)
			fprintf(f, " \"%s\"", fd->thread_name);
		if (fd->thread_start != NULL)
			fprintf(f, " running %s", fd->thread_start);
		fprintf(f, ", %s, created from", fd->thread_state);
		break;
	case LSR_K_GROWTH:
		fputs("growth: ", f);
		print_rate(f, fd->rate);
		fprintf(f, " since %.1f s, up %" PRIu64 " bytes to ", fd->since,
		    fd->grew);
		print_amount(f, fd->amount.bytes, fd->amount.blocks, "block");
		if (fd->released_at >= 0)
			fprintf(f, ", released at %.1f s", fd->released_at);
		fprintf(f, ", allocated by %s from", fd->via ? fd->via : "??");
		break;
	}
	fputc('\n', f);
}

static void
print_finding(FILE *f, const struct lsr_finding *fd)
{
	size_t i;

	fputs("  ", f);
	print_what(f, fd);
	for (i = 0; i < fd->nframes; i++)
		print_frame(f, &fd->frames[i], i);
	if (fd->retained_by != NULL)
		fprintf(f, "        retained by: %s\n", fd->retained_by);
	if (fd->over_budget)
		fprintf(f, "        over its baseline budget (%s) of %" PRIu64
		    " bytes in %" PRIu64 " %s\n", fd->budget->where,
		    fd->budget->bytes, fd->budget->blocks,
		    fd->kind == LSR_K_THREAD ? "threads" : "blocks");
	fputc('\n', f);
}

/* Dump k's verdict and findings; true if it ended with a blank line. */
static bool
print_dump(FILE *f, const struct lsr_check *c, size_t k)
{
	const struct lsr_cdump *d = &c->dumps[k];
	size_t i;

	fprintf(f, "%s  %s (pid %" PRIu64 "), %s", d->nfindings ? "FAIL" :
	    !d->verdict ? "NO VERDICT" : "ok", d->name ? d->name : "?",
	    d->pid, d->path);
	if (d->nfindings)
		fprintf(f, ": %zu finding%s", d->nfindings, d->nfindings == 1 ?
		    "" : "s");
	fputc('\n', f);
	if (!d->verdict)
		fprintf(f, "  cannot be judged: %s\n", d->why);
	if (d->note != NULL)
		fprintf(f, "  note: %s\n", d->note);
	if (d->nfindings)
		fputc('\n', f);
	for (i = 0; i < c->nfindings; i++)
		if (c->findings[i].dump == k &&
		    lsr_finding_fails(c, &c->findings[i]))
			print_finding(f, &c->findings[i]);
	return d->nfindings > 0;
}

static void
print_rules(FILE *f, const struct lsr_check *c)
{
	size_t i;

	for (i = 0; i < c->nrules; i++) {
		const struct lsr_rule *r = &c->rules[i];

		if (r->used)
			fprintf(f, "suppressed: %" PRIu64 " finding%s (%" PRIu64
			    " bytes) by %s (%s)\n", r->used, r->used == 1 ?
			    "" : "s", r->used_bytes, r->text, r->where);
	}
	for (i = 0; i < c->nrules; i++)
		if (!c->rules[i].used && !c->rules[i].builtin)
			fprintf(f, "unused suppression: %s (%s)\n",
			    c->rules[i].text, c->rules[i].where);
	for (i = 0; i < c->nbudgets; i++) {
		const struct lsr_budget *b = &c->budgets[i];

		if (!b->matched)
			fprintf(f, "unused baseline entry: %s %.*s (%s)\n",
			    lsr_kind_word(b->kind), (int)strcspn(b->key, "\n"),
			    b->key, b->where);
	}
}

void
lsr_check_text(FILE *f, const struct lsr_check *c)
{
	size_t i, unjudged = 0, failed = 0;
	bool blank = false;

	for (i = 0; i < c->ndumps; i++) {
		blank = print_dump(f, c, i);
		unjudged += !c->dumps[i].verdict;
		failed += c->dumps[i].nfindings > 0;
	}
	if (!blank)
		fputc('\n', f);
	print_rules(f, c);
	if (c->baselined)
		fprintf(f, "baseline: %zu finding%s within budget\n",
		    c->baselined, c->baselined == 1 ? "" : "s");
	fprintf(f, "result: %s: %zu finding%s in %zu of %zu dump%s",
	    c->exit_status == 0 ? "pass" : c->exit_status ==
	    LSR_EXIT_FINDINGS ? "FAIL" : c->exit_status == LSR_EXIT_NO_VERDICT ?
	    "NO VERDICT" : "ERROR", c->failing,
	    c->failing == 1 ? "" : "s", failed, c->ndumps, c->ndumps == 1 ?
	    "" : "s");
	if (c->suppressed)
		fprintf(f, ", %zu suppressed", c->suppressed);
	if (unjudged)
		fprintf(f, "; %zu dump%s could not be judged", unjudged,
		    unjudged == 1 ? "" : "s");
	fputc('\n', f);
}
