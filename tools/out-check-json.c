/* SPDX-License-Identifier: MIT */
/*
 * The leak gate's result as one JSON object: the exit status, each
 * dump's verdict, each finding (failing or not, with why not) and the
 * suppressions; the fields are listed in leakspy-report(1).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "lsr.h"

static void
jnum(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.3f", v);
	else
		fputs("null", f);
}

static void
jframes(FILE *f, const struct lsr_finding *fd)
{
	size_t i;

	fputs(", \"frames\": [", f);
	for (i = 0; i < fd->nframes; i++) {
		const struct lsr_cframe *fr = &fd->frames[i];

		fputs(i ? ",\n        {\"function\": " :
		    "\n        {\"function\": ", f);
		lsr_json_str(f, fr->function);
		fputs(", \"file\": ", f);
		lsr_json_str(f, fr->file);
		fprintf(f, ", \"line\": %u, \"module\": ", fr->line);
		lsr_json_str(f, fr->module);
		fprintf(f, ", \"offset\": %" PRIu64 ", \"inlined\": %s}",
		    fr->offset, fr->inlined ? "true" : "false");
	}
	fputs(fd->nframes ? "\n      ]" : "]", f);
}

static void
jfinding(FILE *f, const struct lsr_check *c, const struct lsr_finding *fd)
{
	fprintf(f, "{\"kind\": \"%s\", \"dump\": %zu, \"fails\": %s, "
	    "\"bytes\": %" PRIu64 ", \"%s\": %" PRIu64 ", \"via\": ",
	    lsr_kind_word(fd->kind), fd->dump, lsr_finding_fails(c, fd) ?
	    "true" : "false", fd->amount.bytes, fd->kind == LSR_K_THREAD ?
	    "threads" : "blocks", fd->amount.blocks);
	lsr_json_str(f, fd->via);
	fputs(", \"suppressed_by\": ", f);
	lsr_json_str(f, fd->rule ? fd->rule->text : NULL);
	if (fd->budget != NULL)
		fprintf(f, ", \"baseline\": {\"bytes\": %" PRIu64 ", \"blocks\": %"
		    PRIu64 ", \"over\": %s}", fd->budget->bytes,
		    fd->budget->blocks, fd->over_budget ? "true" : "false");
	else
		fputs(", \"baseline\": null", f);
	if (fd->stacks != 0)
		fprintf(f, ", \"stacks\": %u", fd->stacks);
	if (fd->kind == LSR_K_GROWTH) {
		fputs(", \"bytes_per_second\": ", f);
		jnum(f, fd->rate);
		fprintf(f, ", \"grew\": %" PRIu64 ", \"since_s\": ", fd->grew);
		jnum(f, fd->since);
		fputs(", \"released_s\": ", f);
		if (fd->released_at >= 0)
			jnum(f, fd->released_at);
		else
			fputs("null", f);
		fputs(", \"retained_by\": ", f);
		lsr_json_str(f, fd->retained_by);
	}
	if (fd->kind == LSR_K_THREAD) {
		fputs(", \"name\": ", f);
		lsr_json_str(f, fd->thread_name);
		fputs(", \"state\": ", f);
		lsr_json_str(f, fd->thread_state);
		fputs(", \"start_routine\": ", f);
		lsr_json_str(f, fd->thread_start);
	}
	jframes(f, fd);
	fputc('}', f);
}

void
lsr_check_json(FILE *f, const struct lsr_check *c)
{
	size_t i;
	unsigned k;

	fprintf(f, "{\"check\": {\n  \"exit_status\": %d, \"failing\": %zu, "
	    "\"suppressed\": %zu, \"baselined\": %zu,\n  \"fail_on\": [",
	    c->exit_status, c->failing, c->suppressed, c->baselined);
	for (i = 0, k = 0; k < LSR_K_COUNT; k++)
		if (c->o.fail_on & LSR_K_BIT(k))
			fprintf(f, "%s\"%s\"", i++ ? ", " : "", lsr_kind_word(k));
	fputs("], \"max_growth\": {\"bytes_per_second\": ", f);
	jnum(f, c->o.max_rate);
	fprintf(f, ", \"bytes\": %" PRIu64 "},\n  \"dumps\": [", c->o.max_total);
	for (i = 0; i < c->ndumps; i++) {
		const struct lsr_cdump *d = &c->dumps[i];

		fputs(i ? ",\n    {\"path\": " : "\n    {\"path\": ", f);
		lsr_json_str(f, d->path);
		fputs(", \"program\": ", f);
		lsr_json_str(f, d->name);
		fprintf(f, ", \"pid\": %" PRIu64 ", \"command\": ", d->pid);
		lsr_json_str(f, d->command);
		fputs(", \"seconds\": ", f);
		jnum(f, d->seconds);
		fprintf(f, ", \"verdict\": %s, \"why\": ", d->verdict ? "true" :
		    "false");
		lsr_json_str(f, d->why);
		fputs(", \"note\": ", f);
		lsr_json_str(f, d->note);
		fprintf(f, ", \"findings\": %zu}", d->nfindings);
	}
	fputs(c->ndumps ? "\n  ],\n  \"findings\": [" :
	    "],\n  \"findings\": [", f);
	for (i = 0; i < c->nfindings; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		jfinding(f, c, &c->findings[i]);
	}
	fputs(c->nfindings ? "\n  ],\n  \"suppressions\": [" :
	    "],\n  \"suppressions\": [", f);
	for (i = 0; i < c->nrules; i++) {
		const struct lsr_rule *r = &c->rules[i];

		fputs(i ? ",\n    {\"rule\": " : "\n    {\"rule\": ", f);
		lsr_json_str(f, r->text);
		fputs(", \"where\": ", f);
		lsr_json_str(f, r->where);
		fprintf(f, ", \"builtin\": %s, \"used\": %" PRIu64 ", \"bytes\": %"
		    PRIu64 "}", r->builtin ? "true" : "false", r->used,
		    r->used_bytes);
	}
	fputs(c->nrules ? "\n  ]\n}}\n" : "]\n}}\n", f);
}
