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
 * LeakSanitizer's template match of pattern against name: the runs of
 * literal text between '*'s are found in name in turn, each at its first
 * place after the one before; a leading '^' ties the first run to the
 * start of name, a '$' ends the pattern at the end of name (or anywhere,
 * right after a '*').  An empty pattern matches every name.
 */
static bool
template_match(const char *pattern, const char *name)
{
	const char *p = pattern, *s = name;
	bool start = false, star = false;

	if (name == NULL || *name == '\0')
		return false;
	if (*p == '^') {
		start = true;
		p++;
	}
	while (*p != '\0') {
		const char *found;
		size_t n;

		if (*p == '*') {
			p++;
			start = false;
			star = true;
			continue;
		}
		if (*p == '$')
			return *s == '\0' || star;
		if (*s == '\0')
			return false;
		n = strcspn(p, "*$");
		found = memmem(s, strlen(s), p, n);
		if (found == NULL || (start && found != s))
			return false;
		s = found + n;
		p += n;
		start = star = false;
	}
	return true;
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

		if (!(r->kinds & LSR_K_BIT(f->kind)))
			continue;
		/* As LeakSanitizer, every frame from the allocation call
		 * up; the built-in rules the allocator's own only. */
		for (j = 0; j < f->nalloc; j++)
			if (frame_matches(r->pattern, &f->alloc[j]))
				return r;
		if (r->alloc_only)
			continue;
		/* LeakSanitizer's frame #0: the allocation function. */
		if (f->kind != LSR_K_THREAD && f->kind != LSR_K_GROWTH &&
		    template_match(r->pattern, f->via))
			return r;
		if (f->kind == LSR_K_THREAD &&
		    template_match(r->pattern, f->thread_start))
			return r;
		for (j = 0; j < f->nframes; j++)
			if (frame_matches(r->pattern, &f->frames[j]))
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

	if (colon == NULL)
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

char *
lsr_line_trim(char *line, size_t n)
{
	char *s = line, *e = line + n;

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
	    e[-1] == '\t'))
		*--e = '\0';
	return s;
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
		bool nul = memchr(line, '\0', (size_t)n) != NULL;
		char *s = lsr_line_trim(line, (size_t)n), *where;

		no++;
		if (!nul && (*s == '\0' || *s == '#'))
			continue;
		where = lsr_xasprintf("%s:%zu", path, no);
		if (nul || !parse_rule(c, s, where)) {
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
	for (; *s; s++)
		fputc(*s == '\n' ? ' ' : *s, out);
}

/* Whether finding g has a frame whose function pattern matches. */
static bool
names_function(const struct lsr_finding *g, const char *pattern)
{
	size_t j;

	for (j = 0; j < g->nframes; j++)
		if (template_match(pattern, g->frames[j].function))
			return true;
	return false;
}

void
lsr_rules_generate(FILE *out, const struct lsr_check *c,
    const struct lsr_finding *f)
{
	const struct lsr_cdump *d = &c->dumps[f->dump];
	const char *word = f->kind == LSR_K_GROWTH ? "growth" :
	    f->kind == LSR_K_THREAD ? "thread" : "leak";
	unsigned kinds = f->kind == LSR_K_GROWTH || f->kind == LSR_K_THREAD ?
	    LSR_K_BIT(f->kind) : LEAK_KINDS;
	size_t i, k, others = 0;

	fprintf(out, "# %s: %" PRIu64 " bytes in %" PRIu64 " %s, %s (pid %"
	    PRIu64 ")\n", lsr_kind_word(f->kind), f->amount.bytes,
	    f->amount.blocks, f->kind == LSR_K_THREAD ? "threads" : "blocks",
	    d->name ? d->name : "?", d->pid);
	/* The innermost function that names this finding alone: a rule
	 * on main would hide every leak of the program. */
	for (i = 0; i < f->nframes; i++) {
		char *pattern;

		if (f->frames[i].function == NULL)
			continue;
		pattern = lsr_xasprintf("^%s$", f->frames[i].function);
		for (k = 0, others = 0; k < c->nfindings; k++) {
			const struct lsr_finding *g = &c->findings[k];

			others += g != f && (kinds & LSR_K_BIT(g->kind)) &&
			    names_function(g, pattern);
		}
		if (others == 0) {
			fprintf(out, "%s:", word);
			print_literal(out, pattern);
			fputc('\n', out);
			free(pattern);
			return;
		}
		free(pattern);
	}
	fprintf(out, "# No function of its stack is its own: a rule would "
	    "also hide other\n# findings.  Its innermost: %s:^%s$\n", word,
	    f->nframes && f->frames[0].function ? f->frames[0].function :
	    "??");
}
