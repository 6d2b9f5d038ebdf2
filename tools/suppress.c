/* SPDX-License-Identifier: MIT */
/*
 * Suppression rules in LeakSanitizer's syntax: a line "leak:PATTERN"
 * hides the memory lost at exit of every stack that has a frame whose
 * function, source file or module PATTERN matches; "growth:" and
 * "thread:" do the same for growing sites and thread leaks.  As in
 * LeakSanitizer, '*' matches any run of characters, a leading '^' and a
 * trailing '$' anchor the pattern, and without them it may match
 * anywhere in the name.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lsr.h"
#include "xalloc.h"

#define LEAK_KINDS	(LSR_K_BIT(LSR_K_DEFINITE) | \
    LSR_K_BIT(LSR_K_INDIRECT) | LSR_K_BIT(LSR_K_POSSIBLE))

static const struct {
	const char *word;
	unsigned kinds;
} rule_kinds[] = {
	{ "leak", LEAK_KINDS },
	{ "growth", LSR_K_BIT(LSR_K_GROWTH) },
	{ "thread", LSR_K_BIT(LSR_K_THREAD) },
};

/*
 * Whether s[0..sn) matches glob p[0..pn) as a whole, '*' matching any
 * run: the usual walk that, on a mismatch, lets the last star take one
 * more character.
 */
static bool
glob(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t i = 0, j = 0, star = SIZE_MAX, mark = 0;

	while (j < sn) {
		if (i < pn && p[i] == '*') {
			star = i++;
			mark = j;
		} else if (i < pn && p[i] == s[j]) {
			i++;
			j++;
		} else if (star != SIZE_MAX) {
			i = star + 1;
			j = ++mark;
		} else {
			return false;
		}
	}
	while (i < pn && p[i] == '*')
		i++;
	return i == pn;
}

/* LeakSanitizer's template match of pattern against name: unanchored
 * ends match anywhere, as if they were '*'. */
static bool
template_match(const char *pattern, const char *name)
{
	size_t pn = strlen(pattern), n = 0;
	bool start = pattern[0] == '^', end, ok;
	char *p;

	if (name == NULL || pn == 0)
		return false;
	if (start) {
		pattern++;
		pn--;
	}
	end = pn > 0 && pattern[pn - 1] == '$';
	if (end)
		pn--;
	p = lsr_xcalloc(pn + 3, 1);
	if (!start)
		p[n++] = '*';
	memcpy(p + n, pattern, pn);
	n += pn;
	if (!end)
		p[n++] = '*';
	ok = glob(p, n, name, strlen(name));
	free(p);
	return ok;
}

static bool
frame_matches(const char *pattern, const struct lsr_cframe *fr)
{
	return template_match(pattern, fr->function) ||
	    template_match(pattern, fr->file) ||
	    template_match(pattern, fr->module);
}

struct lsr_rule *
lsr_rules_match(struct lsr_check *c, const struct lsr_finding *f)
{
	size_t i, j;

	for (i = 0; i < c->nrules; i++) {
		struct lsr_rule *r = &c->rules[i];
		const struct lsr_cframe *v = r->alloc_only ? f->alloc :
		    f->frames;
		size_t n = r->alloc_only ? f->nalloc : f->nframes;

		if (!(r->kinds & LSR_K_BIT(f->kind)))
			continue;
		if (f->kind == LSR_K_THREAD && !r->alloc_only &&
		    template_match(r->pattern, f->thread_start))
			return r;
		for (j = 0; j < n; j++)
			if (frame_matches(r->pattern, &v[j]))
				return r;
	}
	return NULL;
}

static void
add_rule(struct lsr_check *c, unsigned kinds, const char *text,
    const char *pattern, char *where, bool builtin, bool alloc_only)
{
	struct lsr_rule *r;

	c->rules = lsr_xgrow(c->rules, &c->cap_rules, c->nrules + 1,
	    sizeof(*c->rules));
	r = &c->rules[c->nrules++];
	memset(r, 0, sizeof(*r));
	r->kinds = kinds;
	r->text = lsr_xstrdup(text);
	r->pattern = lsr_xstrdup(pattern);
	r->where = where;
	r->builtin = builtin;
	r->alloc_only = alloc_only;
}

/* Line as a rule into c; false if it is not one. */
static bool
parse_rule(struct lsr_check *c, char *line, char *where)
{
	char *colon = strchr(line, ':');
	size_t i;

	if (colon == NULL || colon[1] == '\0')
		return false;
	for (i = 0; i < sizeof(rule_kinds) / sizeof(rule_kinds[0]); i++) {
		if ((size_t)(colon - line) == strlen(rule_kinds[i].word) &&
		    strncmp(line, rule_kinds[i].word, (size_t)(colon - line))
		    == 0) {
			add_rule(c, rule_kinds[i].kinds, line, colon + 1, where,
			    false, false);
			return true;
		}
	}
	return false;
}

bool
lsr_rules_load(struct lsr_check *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, no = 0;
	ssize_t n;
	bool ok = true;

	if (f == NULL) {
		warn("%s", path);
		return false;
	}
	while (ok && (n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e = line + n, *where;

		no++;
		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' ||
		    e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		where = lsr_xstrdup(path);
		where = lsr_xrealloc(where, strlen(path) + 24, 1);
		snprintf(where + strlen(path), 24, ":%zu", no);
		if (memchr(s, '\0', (size_t)(e - s)) != NULL ||
		    !parse_rule(c, s, where)) {
			warnx("%s: not a suppression rule: '%s' (want leak:, "
			    "growth: or thread: and a pattern)", where, s);
			free(where);
			ok = false;
		}
	}
	if (ok && ferror(f)) {
		warn("%s", path);
		ok = false;
	}
	free(line);
	fclose(f);
	return ok;
}

/*
 * The built-in rules, for what the dynamic loader and the C library
 * allocate for themselves and keep where no scan of the heap finds it
 * (leakspy-report(1), SUPPRESSIONS).  They match the allocator's own
 * frames only, the frames stripped from the top of a stack: a function
 * of ld.so or libc that called malloc.  A program's own leak has its own
 * code as the caller, so none of them hides it.
 */
static const struct {
	unsigned kinds;
	const char *pattern;
} builtin[] = {
	/* Dynamic TLS blocks: held by the thread's DTV, which ld.so's own
	 * allocator made for the main thread (glibc bug 12650). */
	{ LEAK_KINDS, "^tls_get_addr_tail$" },
	{ LEAK_KINDS, "^_dl_allocate_tls*" },
	/* A thread's DTV, held by an interior pointer in its descriptor. */
	{ LEAK_KINDS, "^allocate_dtv$" },
	/* dlopen's scope lists and dependency arrays, held by link maps
	 * that ld.so allocated at startup. */
	{ LEAK_KINDS, "^add_to_global_resize$" },
	{ LEAK_KINDS, "^_dl_map_object_deps$" },
	{ LEAK_KINDS, "^_dl_new_object$" },
	{ LEAK_KINDS, "^_dl_find_object_update$" },
	/* setenv's copies of the strings, kept in a tree whose pointers
	 * carry a colour bit. */
	{ LEAK_KINDS, "^__add_to_environ$" },
	{ LEAK_KINDS, "^add_to_environ$" },
};

void
lsr_rules_builtin(struct lsr_check *c)
{
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "%s:%s", builtin[i].kinds ==
		    LEAK_KINDS ? "leak" : builtin[i].kinds ==
		    LSR_K_BIT(LSR_K_GROWTH) ? "growth" : "thread",
		    builtin[i].pattern);
		add_rule(c, builtin[i].kinds, text, builtin[i].pattern,
		    lsr_xstrdup("built-in"), true, true);
	}
}

/* Name s in a rule, on one line. */
static void
print_literal(FILE *out, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i < n; i++)
		fputc(s[i] == '\n' ? ' ' : s[i], out);
}

void
lsr_rules_generate(FILE *out, const struct lsr_check *c,
    const struct lsr_finding *f)
{
	const struct lsr_cdump *d = &c->dumps[f->dump];
	const char *word = f->kind == LSR_K_GROWTH ? "growth" :
	    f->kind == LSR_K_THREAD ? "thread" : "leak";
	size_t i;

	fprintf(out, "# %s: %" PRIu64 " bytes in %" PRIu64 " %s, %s (pid %"
	    PRIu64 ")\n", lsr_kind_word(f->kind), f->amount.bytes,
	    f->amount.blocks, f->kind == LSR_K_THREAD ? "threads" : "blocks",
	    d->name ? d->name : "?", d->pid);
	for (i = 0; i < f->nframes; i++) {
		const struct lsr_cframe *fr = &f->frames[i];

		if (fr->function != NULL) {
			fprintf(out, "%s:^", word);
			print_literal(out, fr->function);
			fputs("$\n", out);
			return;
		}
		if (fr->module != NULL) {
			fprintf(out, "%s:", word);
			print_literal(out, lsr_base_name(fr->module));
			fputc('\n', out);
			return;
		}
	}
	fprintf(out, "# (no frame to name: no rule)\n");
}
