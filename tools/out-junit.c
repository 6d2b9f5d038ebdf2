/* SPDX-License-Identifier: MIT */
/*
 * --check's JUnit XML (leakspy-report(1), CI FORMATS): a test case per
 * dump, a failure per finding that fails the check, an error per dump
 * that supports no verdict.  Written for the readers CI services use
 * (GitLab, Jenkins, GitHub's JUnit actions, python3-junitparser).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lsr.h"
#include "xalloc.h"

/*
 * s as XML 1.0 character data, or with attr as an attribute value
 * (where a raw newline or tab would be read back as a space).  XML 1.0
 * has no way to write most control characters, U+FFFE and U+FFFF, not
 * even as references: they become U+FFFD, as bytes that are not
 * well-formed UTF-8 do, so that a reader never rejects the file.
 */
static void
xml(FILE *f, const char *s, bool attr)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; s != NULL && *p; p += n) {
		n = lsr_utf8_len(p);
		if (n == 0 || (n == 3 && p[0] == 0xef && p[1] == 0xbf &&
		    p[2] >= 0xbe)) {
			fputs("\xef\xbf\xbd", f);
			n = n ? n : 1;
		} else if (n > 1) {
			fwrite(p, 1, n, f);
		} else if (*p == '&') {
			fputs("&amp;", f);
		} else if (*p == '<') {
			fputs("&lt;", f);
		} else if (*p == '>') {
			fputs("&gt;", f);
		} else if (*p == '"') {
			fputs("&quot;", f);
		} else if (*p == '\'') {
			fputs("&apos;", f);
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			if (attr)
				fprintf(f, "&#%u;", *p);
			else
				fputc(*p, f);
		} else if (*p < 0x20) {
			fputs("\xef\xbf\xbd", f);
		} else {
			fputc(*p, f);
		}
	}
}

/* "#0 make_node at /src/leak.c:5 [prog]": a frame as the text report
 * writes it. */
static void
frame(FILE *f, const struct lsr_cframe *fr, size_t no)
{
	const char *mod = fr->module ? lsr_base_name(fr->module) : "?";
	char *s;

	fprintf(f, "#%zu ", no);
	xml(f, fr->function ? fr->function : "??", false);
	if (fr->file != NULL) {
		fputs(" at ", f);
		xml(f, fr->file, false);
		fprintf(f, ":%u", fr->line);
	}
	if (fr->inlined)
		fputs(" (inlined)", f);
	if (fr->function == NULL || fr->file == NULL)
		s = lsr_xasprintf(" [%s+0x%" PRIx64 "]", mod, fr->offset);
	else
		s = lsr_xasprintf(" [%s]", mod);
	xml(f, s, false);
	free(s);
	fputc('\n', f);
}

static void
failure(FILE *f, const struct lsr_finding *fi)
{
	char *line = lsr_finding_line(fi);
	size_t i;

	fputs("      <failure message=\"", f);
	xml(f, line, true);
	fprintf(f, "\" type=\"%s\">", lsr_kind_word(fi->kind));
	for (i = 0; i < fi->nframes; i++)
		frame(f, &fi->frames[i], i);
	if (fi->nframes == 0)
		fputs("(no stack)\n", f);
	if (fi->via != NULL) {
		fputs(fi->kind == LSR_K_THREAD ? "created by " :
		    "allocated by ", f);
		xml(f, fi->via, false);
		fputc('\n', f);
	}
	if (fi->retained_by != NULL) {
		fputs("retained by ", f);
		xml(f, fi->retained_by, false);
		fputc('\n', f);
	}
	if (fi->budget != NULL && fi->over_budget) {
		fprintf(f, "over its baseline budget of %" PRIu64 " bytes in %"
		    PRIu64 " blocks (", fi->budget->bytes, fi->budget->blocks);
		xml(f, fi->budget->where, false);
		fputs(")\n", f);
	}
	fputs("</failure>\n", f);
	free(line);
}

/*
 * The test case's standard output: where its data came from, what the
 * check set aside (suppressed, within the baseline), so that a reader of
 * the CI page sees why a dump with findings still passed.
 */
static void
system_out(FILE *f, const struct lsr_check *c, size_t di)
{
	const struct lsr_cdump *d = &c->dumps[di];
	size_t i, nsupp = 0, nbase = 0;
	char *line;

	fputs("      <system-out>", f);
	fputs("dump: ", f);
	xml(f, d->path, false);
	if (d->command != NULL) {
		fputs("\ncommand: ", f);
		xml(f, d->command, false);
	}
	if (d->note != NULL) {
		fputs("\nnote: ", f);
		xml(f, d->note, false);
	}
	for (i = 0; i < c->nfindings; i++) {
		const struct lsr_finding *fi = &c->findings[i];

		if (fi->dump != di || lsr_finding_fails(c, fi))
			continue;
		if (fi->rule != NULL)
			nsupp++;
		else if (fi->budget != NULL)
			nbase++;
	}
	fprintf(f, "\nfailing: %zu, suppressed: %zu, within the baseline: "
	    "%zu\n", d->nfindings, nsupp, nbase);
	for (i = 0; i < c->nfindings; i++) {
		const struct lsr_finding *fi = &c->findings[i];

		if (fi->dump != di || lsr_finding_fails(c, fi) ||
		    (fi->rule == NULL && fi->budget == NULL))
			continue;
		line = lsr_finding_line(fi);
		fputs(fi->rule ? "suppressed: " : "within the baseline: ", f);
		xml(f, line, false);
		fputs(fi->rule ? " by " : " (", f);
		xml(f, fi->rule ? fi->rule->text : fi->budget->where, false);
		if (fi->rule != NULL) {
			fputs(" (", f);
			xml(f, fi->rule->where, false);
		}
		fputs(")\n", f);
		free(line);
	}
	fputs("</system-out>\n", f);
}

static void
testcase(FILE *f, const struct lsr_check *c, size_t di)
{
	const struct lsr_cdump *d = &c->dumps[di];
	size_t i;

	fputs("    <testcase name=\"", f);
	xml(f, d->name ? d->name : "?", true);
	fprintf(f, " (pid %" PRIu64 ")\" classname=\"leakspy.", d->pid);
	xml(f, d->name ? d->name : "?", true);
	fprintf(f, "\" time=\"%.3f\">\n", isfinite(d->seconds) ?
	    d->seconds : 0.0);
	if (!d->verdict) {
		fputs("      <error message=\"", f);
		xml(f, d->why ? d->why : "no verdict", true);
		fputs("\" type=\"no-verdict\">", f);
		xml(f, d->why ? d->why : "no verdict", false);
		fputs("\n</error>\n", f);
	}
	for (i = 0; i < c->nfindings; i++) {
		if (c->findings[i].dump == di &&
		    lsr_finding_fails(c, &c->findings[i]))
			failure(f, &c->findings[i]);
	}
	system_out(f, c, di);
	fputs("    </testcase>\n", f);
}

/* Whether dump di has a finding that fails the check. */
static bool
dump_fails(const struct lsr_check *c, size_t di)
{
	size_t i;

	for (i = 0; i < c->nfindings; i++) {
		if (c->findings[i].dump == di &&
		    lsr_finding_fails(c, &c->findings[i]))
			return true;
	}
	return false;
}

/*
 * The counts are of test cases, as JUnit's schema has them: a dump with
 * no verdict is an error, else one with failing findings a failure,
 * however many <failure> elements it holds.
 */
void
lsr_check_junit(FILE *f, const struct lsr_check *c)
{
	size_t di, failures = 0, errors = 0;
	double time = 0;
	char counts[160];

	for (di = 0; di < c->ndumps; di++) {
		if (!c->dumps[di].verdict)
			errors++;
		else if (dump_fails(c, di))
			failures++;
		if (isfinite(c->dumps[di].seconds))
			time += c->dumps[di].seconds;
	}
	snprintf(counts, sizeof(counts), "tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"%zu\" skipped=\"0\" time=\"%.3f\"", c->ndumps, failures,
	    errors, time);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"leakspy\" %s>\n"
	    "  <testsuite name=\"leakspy\" %s>\n", counts, counts);
	for (di = 0; di < c->ndumps; di++)
		testcase(f, c, di);
	fputs("  </testsuite>\n</testsuites>\n", f);
}
