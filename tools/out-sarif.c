/* SPDX-License-Identifier: MIT */
/*
 * --check's SARIF 2.1.0 log (leakspy-report(1), CI FORMATS), for code
 * scanning services: a rule per kind of finding, a result per finding
 * judged, placed at the first frame in the project's own code, with its
 * whole stack as a stack and as a code flow (GitHub shows only the
 * latter).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "lsr.h"
#include "xalloc.h"

/* meson gives leakspy-report the version; the builds of its sources
 * for the reader test and the fuzzer have none, and write no SARIF
 * that anyone reads. */
#ifndef LS_MANPAGE_URI
#define LS_MANPAGE_URI "file:///usr/local/share/man/man1/leakspy-report.1"
#endif
#ifndef LS_VERSION
#define LS_VERSION "unknown"
#endif

#define SARIF_SCHEMA	"https://json.schemastore.org/sarif-2.1.0.json"

/* GitHub rejects a run of more results, and keeps no more than 1,000
 * locations of a thread flow; past these the log says what it left
 * out. */
#define MAX_RESULTS	25000
#define MAX_FRAMES	1000

/*
 * The rules, indexed by kind: their ids and names are a contract with
 * the services that keep alerts across runs (an alert is matched by
 * rule id), so they never change and new kinds get new ids.
 */
static const struct rule {
	const char *id, *name, *level, *precision;
	const char *brief, *full, *help;
} rules[LSR_K_COUNT] = {
	[LSR_K_DEFINITE] = { "LSK001", "DefiniteLeak", "error", "high",
		"Memory definitely lost at exit.",
		"Blocks allocated here were live when the program exited and "
		"no pointer anywhere in the process pointed to them: nothing "
		"could have freed them.",
		"Free the blocks on every path that drops the last pointer to "
		"them. If the leak is known and accepted, suppress it (--supp) "
		"or record it in a baseline (--baseline)." },
	[LSR_K_INDIRECT] = { "LSK002", "IndirectLeak", "warning", "high",
		"Memory lost only through lost blocks.",
		"Blocks allocated here were reachable at exit only from blocks "
		"that were themselves lost: they are freed once those are.",
		"Fix the definite leak that holds these blocks (often a "
		"container whose elements these are); this finding then goes "
		"away." },
	[LSR_K_POSSIBLE] = { "LSK003", "PossibleLeak", "warning", "medium",
		"Memory held only by interior pointers at exit.",
		"Blocks allocated here were pointed to at exit only from "
		"inside, not at their start: either a program keeps such "
		"pointers on purpose or the blocks are lost.",
		"Check whether the program still uses these blocks through a "
		"pointer into their middle; if not, free them." },
	[LSR_K_THREAD] = { "LSK004", "ThreadLeak", "warning", "high",
		"A thread neither joined nor detached.",
		"A thread created here ended without being joined, or was "
		"still running, neither joined nor detached, when the program "
		"exited: its stack and descriptor are never released.",
		"Join the thread with pthread_join, or detach it with "
		"pthread_detach when nobody waits for it." },
	[LSR_K_GROWTH] = { "LSK005", "MemoryGrowth", "error", "medium",
		"Live memory that keeps growing.",
		"The live bytes allocated here grew steadily while the "
		"program ran, past the limit of --max-growth: memory kept "
		"beyond its use, even if it is freed at exit.",
		"Find what keeps these blocks (the finding says what retains "
		"them when a heap scan knows) and release them when they are "
		"no longer needed, or bound the structure that holds them." },
};

/* FNV-1a, 64 bits, over s and then one separator byte. */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= '\n';
	return h * 0x100000001b3ULL;
}

/*
 * The fingerprint of a finding: its kind and the functions of its stack
 * (a frame without one by its module's name), not its lines, so that an
 * alert survives edits above it and a rebuild.
 */
static uint64_t
fingerprint(const struct lsr_finding *fi)
{
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, rules[fi->kind].name);
	size_t i;

	for (i = 0; i < fi->nframes; i++) {
		const struct lsr_cframe *fr = &fi->frames[i];

		h = fnv1a(h, fr->function ? fr->function : fr->module ?
		    lsr_base_name(fr->module) : "?");
	}
	return h;
}

/* path as a URI path: every byte but unreserved ones and '/'
 * percent-encoded (RFC 3986), so any file name makes a valid URI. */
static void
uri_path(FILE *f, const char *path)
{
	const unsigned char *p = (const unsigned char *)path;

	for (; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

/* The source root: absolute, without a trailing '/' ("" for "/"). */
static char *
source_root(const struct lsr_check *c)
{
	const char *r = c->o.source_root;
	char *cwd = getcwd(NULL, 0), *s;
	size_t n;

	if (cwd == NULL)
		cwd = lsr_xstrdup("/");
	if (r == NULL || r[0] == '\0')
		s = lsr_xstrdup(cwd);
	else if (r[0] == '/')
		s = lsr_xstrdup(r);
	else
		s = lsr_xasprintf("%s/%s", strcmp(cwd, "/") ? cwd : "", r);
	free(cwd);
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	if (n > 2 && strcmp(s + n - 2, "/.") == 0)
		s[n - 2] = '\0';
	return s;
}

/* file's name relative to root, or NULL when it is not under it.  A
 * relative name (DWARF's, from the compilation directory) is taken as
 * relative to the root already, unless it climbs out with "..". */
static const char *
under_root(const char *root, const char *file)
{
	size_t n = strlen(root);

	if (file[0] != '/') {
		while (strncmp(file, "./", 2) == 0)
			file += 2;
		return strncmp(file, "../", 3) ? file : NULL;
	}
	if (strncmp(file, root, n) || file[n] != '/')
		return NULL;
	return file + n + 1;
}

/* Whether a frame is in the C or C++ runtime, the loader or leakspy:
 * never the place to fix a leak. */
static bool
system_frame(const struct lsr_cframe *fr)
{
	static const char *const libs[] = {
		"libc.so", "libc-", "libm.so", "libpthread.so", "libdl.so",
		"libstdc++.so", "libgcc_s.so", "ld-linux", "ld.so",
		"ld64.so", "libleakspy.so",
	};
	const char *b;
	size_t i;

	if (fr->module == NULL)
		return false;
	b = lsr_base_name(fr->module);
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (strncmp(b, libs[i], strlen(libs[i])) == 0)
			return true;
	}
	return false;
}

/* "physicalLocation" of a frame with a file. */
static void
physical(FILE *f, const char *root, const struct lsr_cframe *fr)
{
	const char *rel = under_root(root, fr->file);

	fputs("\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"", f);
	if (rel != NULL) {
		uri_path(f, rel);
		fputs("\", \"uriBaseId\": \"%SRCROOT%\"}", f);
	} else {
		fputs("file://", f);
		uri_path(f, fr->file);
		fputs("\"}", f);
	}
	if (fr->line > 0)
		fprintf(f, ", \"region\": {\"startLine\": %u}", fr->line);
	fputc('}', f);
}

/* "logicalLocations" of a frame: its function, else its module and
 * offset. */
static void
logical(FILE *f, const struct lsr_cframe *fr)
{
	char *s;

	fputs("\"logicalLocations\": [{\"fullyQualifiedName\": ", f);
	if (fr->function != NULL) {
		lsr_json_str(f, fr->function);
		fputs(", \"kind\": \"function\"}]", f);
		return;
	}
	s = lsr_xasprintf("%s+0x%" PRIx64, fr->module ? lsr_base_name(fr->module) :
	    "?", fr->offset);
	lsr_json_str(f, s);
	free(s);
	fputs(", \"kind\": \"module\"}]", f);
}

/* Whether a frame's file can be given as a URI: under the root, or
 * absolute.  A relative name that climbs out of the root is not. */
static bool
placeable(const char *root, const struct lsr_cframe *fr)
{
	return fr->file != NULL && (fr->file[0] == '/' ||
	    under_root(root, fr->file) != NULL);
}

/* A location object for a frame, with what is known of it; a file that
 * cannot be placed is named in its message. */
static void
location(FILE *f, const char *root, const struct lsr_cframe *fr)
{
	char *s;

	fputc('{', f);
	if (placeable(root, fr)) {
		physical(f, root, fr);
		fputs(", ", f);
	} else if (fr->file != NULL) {
		s = lsr_xasprintf("%s:%u", fr->file, fr->line);
		fputs("\"message\": {\"text\": ", f);
		lsr_json_str(f, s);
		fputs("}, ", f);
		free(s);
	}
	logical(f, fr);
	fputc('}', f);
}

/*
 * The frame a result is placed at: the first (innermost) frame in the
 * project's own code, under the source root; else the first with a file
 * outside the runtime and leakspy; else none (SIZE_MAX), and the result
 * has a logical location only.
 */
static size_t
primary_frame(const char *root, const struct lsr_finding *fi)
{
	size_t i;

	for (i = 0; i < fi->nframes; i++) {
		const struct lsr_cframe *fr = &fi->frames[i];

		if (fr->file != NULL && !system_frame(fr) &&
		    under_root(root, fr->file) != NULL)
			return i;
	}
	for (i = 0; i < fi->nframes; i++) {
		if (placeable(root, &fi->frames[i]) &&
		    !system_frame(&fi->frames[i]))
			return i;
	}
	return SIZE_MAX;
}

/* The result's message: the finding, in which program, where. */
static char *
message(const struct lsr_check *c, const char *root,
    const struct lsr_finding *fi)
{
	const struct lsr_cdump *d = &c->dumps[fi->dump];
	size_t k = primary_frame(root, fi);
	const char *fn = k != SIZE_MAX ? fi->frames[k].function : NULL;
	char *what = lsr_finding_line(fi), *s;

	s = lsr_xasprintf("%s: %s%s%s%s%s%s%s%s.", d->name ? d->name : "?", what,
	    fi->via ? fi->kind == LSR_K_THREAD ? ", created by " :
	    ", allocated by " : "", fi->via ? fi->via : "",
	    fn ? ", in " : "", fn ? fn : "",
	    fi->retained_by ? ", retained by " : "",
	    fi->retained_by ? fi->retained_by : "",
	    fi->over_budget ? ", over its baseline budget" : "");
	free(what);
	return s;
}

/* "stacks" and "codeFlows": the same frames, innermost first. */
static void
stack(FILE *f, const char *root, const struct lsr_finding *fi)
{
	size_t i, n = fi->nframes < MAX_FRAMES ? fi->nframes : MAX_FRAMES;

	fputs(",\n     \"stacks\": [{\"message\": {\"text\": \"", f);
	fputs(fi->kind == LSR_K_THREAD ? "Where the thread was created." :
	    "Where the blocks were allocated.", f);
	fputs("\"}, \"frames\": [", f);
	for (i = 0; i < n; i++) {
		const struct lsr_cframe *fr = &fi->frames[i];

		fprintf(f, "%s\n       {\"location\": ", i ? "," : "");
		location(f, root, fr);
		if (fr->module != NULL) {
			fputs(", \"module\": ", f);
			lsr_json_str(f, fr->module);
		}
		fputc('}', f);
	}
	fputs("]}],\n     \"codeFlows\": [{\"threadFlows\": [{\"locations\": [",
	    f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s\n       {\"location\": ", i ? "," : "");
		location(f, root, &fi->frames[i]);
		fputc('}', f);
	}
	fputs("]}]}]", f);
}

/* "suppressions" of a suppressed finding, "baselineState" when a
 * baseline was given. */
static void
judgement(FILE *f, const struct lsr_check *c, const struct lsr_finding *fi)
{
	char *s;

	if (fi->rule != NULL) {
		s = lsr_xasprintf("%s (%s)", fi->rule->text, fi->rule->where);
		fputs(",\n     \"suppressions\": [{\"kind\": \"external\", "
		    "\"status\": \"accepted\", \"justification\": ", f);
		lsr_json_str(f, s);
		fputs("}]", f);
		free(s);
	}
	if (c->nbudgets > 0)
		fprintf(f, ",\n     \"baselineState\": \"%s\"", fi->budget ==
		    NULL ? "new" : fi->over_budget ? "updated" : "unchanged");
}

static void
result(FILE *f, const struct lsr_check *c, const char *root,
    const struct lsr_finding *fi, bool first)
{
	const struct rule *r = &rules[fi->kind];
	const struct lsr_cdump *d = &c->dumps[fi->dump];
	size_t k = primary_frame(root, fi);
	char *msg = message(c, root, fi);

	fprintf(f, "%s\n    {\"ruleId\": \"%s\", \"ruleIndex\": %u, "
	    "\"level\": \"%s\",\n     \"message\": {\"text\": ",
	    first ? "" : ",", r->id, fi->kind, r->level);
	lsr_json_str(f, msg);
	free(msg);
	fputs("},\n     \"locations\": [", f);
	if (k != SIZE_MAX)
		location(f, root, &fi->frames[k]);
	else if (fi->nframes > 0)
		location(f, root, &fi->frames[0]);
	else
		fputs("{\"logicalLocations\": [{\"fullyQualifiedName\": \"?\", "
		    "\"kind\": \"function\"}]}", f);
	fprintf(f, "],\n     \"partialFingerprints\": {\"leakspyStack/v1\": "
	    "\"%016" PRIx64 "\"}", fingerprint(fi));
	stack(f, root, fi);
	judgement(f, c, fi);
	fprintf(f, ",\n     \"properties\": {\"kind\": \"%s\", \"bytes\": %"
	    PRIu64 ", \"blocks\": %" PRIu64 ", \"pid\": %" PRIu64
	    ", \"program\": ", r->name, fi->amount.bytes, fi->amount.blocks,
	    d->pid);
	lsr_json_str(f, d->name);
	fputs(", \"dump\": ", f);
	lsr_json_str(f, d->path);
	fputs("}}", f);
}

static void
driver(FILE *f)
{
	unsigned k;

	fputs("  \"tool\": {\"driver\": {\"name\": \"leakspy\", "
	    "\"version\": \"" LS_VERSION "\", \"semanticVersion\": \""
	    LS_VERSION "\",\n    \"informationUri\": \"" LS_MANPAGE_URI
	    "\",\n    \"rules\": [", f);
	for (k = 0; k < LSR_K_COUNT; k++) {
		const struct rule *r = &rules[k];

		fprintf(f, "%s\n     {\"id\": \"%s\", \"name\": \"%s\", "
		    "\"shortDescription\": {\"text\": \"%s\"},\n      "
		    "\"fullDescription\": {\"text\": \"%s\"},\n      "
		    "\"help\": {\"text\": \"%s\"},\n      "
		    "\"defaultConfiguration\": {\"level\": \"%s\"},\n      "
		    "\"properties\": {\"precision\": \"%s\", \"tags\": "
		    "[\"memory\", \"reliability\"%s]}}", k ? "," : "", r->id,
		    r->name, r->brief, r->full, r->help, r->level,
		    r->precision, k == LSR_K_THREAD ? ", \"thread\"" :
		    ", \"leak\"");
	}
	fputs("]}},\n", f);
}

/* A notification of the invocation: a dump without a verdict (error),
 * what a dump left unjudged (warning), results left out (warning). */
static void
notification(FILE *f, bool *first, const char *level, const char *text)
{
	fprintf(f, "%s\n      {\"level\": \"%s\", \"message\": {\"text\": ",
	    *first ? "" : ",", level);
	lsr_json_str(f, text);
	fputs("}}", f);
	*first = false;
}

static void
invocation(FILE *f, const struct lsr_check *c, size_t left_out)
{
	bool first = true, judged = c->exit_status != LSR_EXIT_USAGE;
	size_t i;
	char *s;

	for (i = 0; i < c->ndumps; i++)
		judged &= c->dumps[i].verdict;
	fprintf(f, "  \"invocations\": [{\"executionSuccessful\": %s, "
	    "\"exitCode\": %d,\n    \"toolExecutionNotifications\": [",
	    judged ? "true" : "false", c->exit_status);
	for (i = 0; i < c->ndumps; i++) {
		const struct lsr_cdump *d = &c->dumps[i];

		if (!d->verdict) {
			s = lsr_xasprintf("%s (pid %" PRIu64 "): no verdict: %s.",
			    d->name ? d->name : "?", d->pid,
			    d->why ? d->why : "unknown");
			notification(f, &first, "error", s);
			free(s);
		}
		if (d->note != NULL) {
			s = lsr_xasprintf("%s (pid %" PRIu64 "): %s.",
			    d->name ? d->name : "?", d->pid, d->note);
			notification(f, &first, "warning", s);
			free(s);
		}
	}
	if (left_out > 0) {
		s = lsr_xasprintf("%zu results left out: a run holds at most %d.",
		    left_out, MAX_RESULTS);
		notification(f, &first, "warning", s);
		free(s);
	}
	fputs("]}],\n", f);
}

/* Whether the log shows a finding: it fails, or it would have but was
 * suppressed or is within the baseline.  Kinds not failed on are not
 * judged, so not shown. */
static bool
shown(const struct lsr_check *c, const struct lsr_finding *fi)
{
	return fi->kind < LSR_K_COUNT && (c->o.fail_on & LSR_K_BIT(fi->kind));
}

void
lsr_check_sarif(FILE *f, const struct lsr_check *c)
{
	char *root = source_root(c);
	size_t i, n = 0, left_out = 0;

	fputs("{\n\"$schema\": \"" SARIF_SCHEMA "\",\n"
	    "\"version\": \"2.1.0\",\n\"runs\": [{\n", f);
	driver(f);
	fputs("  \"originalUriBaseIds\": {\"%SRCROOT%\": {\"uri\": \"file://",
	    f);
	uri_path(f, root);
	fputs("/\"}},\n", f);
	for (i = 0; i < c->nfindings; i++) {
		if (shown(c, &c->findings[i]) && n++ >= MAX_RESULTS)
			left_out++;
	}
	invocation(f, c, left_out);
	fputs("  \"results\": [", f);
	for (i = 0, n = 0; i < c->nfindings && n < MAX_RESULTS; i++) {
		if (!shown(c, &c->findings[i]))
			continue;
		result(f, c, root, &c->findings[i], n++ == 0);
	}
	fputs(n ? "\n  ]\n}]\n}\n" : "]\n}]\n}\n", f);
	free(root);
}
