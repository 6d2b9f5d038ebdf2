/* SPDX-License-Identifier: MIT */
/*
 * --check's findings as LeakSanitizer writes its report
 * (leakspy-report(1), CI FORMATS), line for line, for the tools that
 * read LSan's output: CTest's memcheck (CTEST_MEMORYCHECK_TYPE
 * LeakSanitizer) and CodeChecker's report-converter -t lsan.  What LSan
 * has no words for (thread leaks, growth, possible leaks, dumps without
 * a verdict) goes on lines of leakspy's own that those readers skip.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lsr.h"

/*
 * s as it can go on one line: control characters as '?', bytes that are
 * not well-formed UTF-8 as U+FFFD.  A newline in a function name would
 * otherwise end a frame line, and a reader then take the rest for a
 * line of its own.
 */
static void
put(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p; p += n) {
		n = lsr_utf8_len(p);
		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			n = 1;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			fputc('?', f);
		} else {
			fwrite(p, 1, n, f);
		}
	}
}

/*
 * A frame as LSan's default stack_trace_format "    #%n %p %F %L" makes
 * it: "in FUNCTION" when the function is known, then "FILE:LINE", or
 * "(MODULE+0xOFFSET)" without a file, or "(<unknown module>)".  The
 * address is the offset in the module, leakspy's dumps keeping no
 * absolute addresses; no reader looks at it.
 */
static void
frame(FILE *f, const struct lsr_cframe *fr, size_t no)
{
	fprintf(f, "    #%zu 0x%" PRIx64 " ", no, fr->offset);
	if (fr->function != NULL) {
		fputs("in ", f);
		put(f, fr->function);
	}
	fputc(' ', f);
	if (fr->file != NULL) {
		put(f, fr->file);
		if (fr->line > 0)
			fprintf(f, ":%u", fr->line);
	} else if (fr->module != NULL) {
		fputc('(', f);
		put(f, fr->module);
		fprintf(f, "+0x%" PRIx64 ")", fr->offset);
	} else {
		fputs("(<unknown module>)", f);
	}
	fputc('\n', f);
}

static void
frames(FILE *f, const struct lsr_finding *fi)
{
	size_t i;

	for (i = 0; i < fi->nframes; i++)
		frame(f, &fi->frames[i], i);
	fputc('\n', f);
}

static bool
lost_kind(unsigned kind)
{
	return kind == LSR_K_DEFINITE || kind == LSR_K_INDIRECT;
}

/*
 * A finding LSan has no report for, on a line of leakspy's own in the
 * shape of LSan's "==PID==" messages, then its stack.  The line never
 * says "Direct leak of" or "Indirect leak of", which CTest counts
 * wherever they stand, nor starts as LSan's reports do, which
 * CodeChecker reads; both skip it.
 */
static void
other(FILE *f, const struct lsr_cdump *d, const struct lsr_finding *fi)
{
	uint64_t by = fi->amount.bytes, bl = fi->amount.blocks;

	fprintf(f, "==%" PRIu64 "==leakspy: ", d->pid);
	switch (fi->kind) {
	case LSR_K_POSSIBLE:
		fprintf(f, "possible leak of %" PRIu64 " byte(s) in %" PRIu64
		    " object(s) allocated from:\n", by, bl);
		break;
	case LSR_K_THREAD:
		fprintf(f, "thread leak: thread %" PRIu64, fi->thread_serial);
		if (fi->thread_name != NULL) {
			fputs(" \"", f);
			put(f, fi->thread_name);
			fputc('"', f);
		}
		fputs(" (", f);
		put(f, fi->thread_state ? fi->thread_state : "unknown");
		fputs("), start routine ", f);
		put(f, fi->thread_start ? fi->thread_start : "unknown");
		fputs(", created from:\n", f);
		break;
	case LSR_K_GROWTH:
		fprintf(f, "growth of %" PRIu64 " byte(s) in %" PRIu64
		    " object(s), %" PRIu64 " byte(s) more since %.1f s, at "
		    "%.0f byte(s)/s, allocated from:\n", by, bl, fi->grew,
		    fi->since, isfinite(fi->rate) ? fi->rate : 0.0);
		break;
	default:
		fputs("unknown finding:\n", f);
		break;
	}
	frames(f, fi);
}

/*
 * LSan's "Suppressions used:" block, with the rules that suppressed
 * findings of this dump: how many findings each and their bytes.  LSan
 * prints it when a suppression matched, leaks or not.
 */
static void
suppressions(FILE *f, const struct lsr_check *c, size_t di)
{
	static const char line[] =
	    "-----------------------------------------------------";
	size_t r, i, count;
	uint64_t bytes;
	bool head = false;

	for (r = 0; r < c->nrules; r++) {
		count = 0;
		bytes = 0;
		for (i = 0; i < c->nfindings; i++) {
			const struct lsr_finding *fi = &c->findings[i];

			if (fi->dump == di && fi->rule == &c->rules[r]) {
				count++;
				bytes += fi->amount.bytes;
			}
		}
		if (count == 0)
			continue;
		if (!head)
			fprintf(f, "%s\nSuppressions used:\n  count      bytes "
			    "template\n", line);
		head = true;
		fprintf(f, "%7zu %10" PRIu64 " ", count, bytes);
		put(f, c->rules[r].pattern ? c->rules[r].pattern : "");
		fputc('\n', f);
	}
	if (head)
		fprintf(f, "%s\n\n", line);
}

/* One process's report, as LSan would have written it at its exit. */
static void
dump(FILE *f, const struct lsr_check *c, size_t di)
{
	const struct lsr_cdump *d = &c->dumps[di];
	uint64_t bytes = 0, objects = 0;
	bool leaks = false;
	size_t i;

	for (i = 0; i < c->nfindings; i++) {
		const struct lsr_finding *fi = &c->findings[i];

		if (fi->dump != di || !lost_kind(fi->kind) ||
		    !lsr_finding_fails(c, fi))
			continue;
		if (!leaks)
			fprintf(f, "\n================================="
			    "================================\n"
			    "==%" PRIu64 "==ERROR: LeakSanitizer: detected "
			    "memory leaks\n\n", d->pid);
		fprintf(f, "%s leak of %" PRIu64 " byte(s) in %" PRIu64
		    " object(s) allocated from:\n", fi->kind ==
		    LSR_K_DEFINITE ? "Direct" : "Indirect", fi->amount.bytes,
		    fi->amount.blocks);
		frames(f, fi);
		leaks = true;
		bytes += fi->amount.bytes;
		objects += fi->amount.blocks;
	}
	for (i = 0; i < c->nfindings; i++) {
		const struct lsr_finding *fi = &c->findings[i];

		if (fi->dump == di && !lost_kind(fi->kind) &&
		    lsr_finding_fails(c, fi))
			other(f, d, fi);
	}
	if (!d->verdict) {
		fprintf(f, "==%" PRIu64 "==leakspy: no verdict: ", d->pid);
		put(f, d->why ? d->why : "unknown");
		fputc('\n', f);
	}
	if (d->note != NULL) {
		fprintf(f, "==%" PRIu64 "==leakspy: note: ", d->pid);
		put(f, d->note);
		fputc('\n', f);
	}
	suppressions(f, c, di);
	if (leaks)
		fprintf(f, "SUMMARY: LeakSanitizer: %" PRIu64 " byte(s) leaked "
		    "in %" PRIu64 " allocation(s).\n", bytes, objects);
}

void
lsr_check_lsan(FILE *f, const struct lsr_check *c)
{
	size_t di;

	for (di = 0; di < c->ndumps; di++)
		dump(f, c, di);
}
