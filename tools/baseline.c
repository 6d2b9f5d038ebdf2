/* SPDX-License-Identifier: MIT */
/*
 * Baselines: the findings a project lives with, each with a budget of
 * bytes and blocks, in a text file that can be edited by hand:
 *
 *	# leakspy baseline 1
 *	definite 40 1
 *	    make_node (leak.c)
 *	    main (leak.c)
 *
 * A finding is keyed by its kind and its frames' functions and source
 * files' base names, not by addresses or line numbers, so that the key
 * survives a rebuild and an edit elsewhere in the file.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lsr.h"
#include "xalloc.h"

#define MAGIC		"# leakspy baseline 1"

/* A frame's name in a key and in the file: its function, else its
 * module's base name in brackets, else "??". */
static const char *
frame_name(const struct lsr_cframe *fr, char *buf, size_t n)
{
	if (fr->function != NULL)
		return fr->function;
	if (fr->module != NULL) {
		snprintf(buf, n, "[%s]", lsr_base_name(fr->module));
		return buf;
	}
	return "??";
}

char *
lsr_finding_key(const struct lsr_finding *f)
{
	char *buf = NULL, mod[300];
	size_t len = 0, i;
	FILE *m = open_memstream(&buf, &len);

	if (m == NULL)
		lsr_nomem();
	for (i = 0; i < f->nframes; i++) {
		const struct lsr_cframe *fr = &f->frames[i];
		const char *name = frame_name(fr, mod, sizeof(mod));
		size_t k;

		/* One line a frame: no newline inside a name. */
		for (k = 0; name[k]; k++)
			fputc(name[k] == '\n' ? ' ' : name[k], m);
		name = fr->file && *lsr_base_name(fr->file) ?
		    lsr_base_name(fr->file) : "?";
		fputs(" (", m);
		for (k = 0; name[k]; k++)
			fputc(name[k] == '\n' ? ' ' : name[k], m);
		fputs(")\n", m);
	}
	if (fclose(m) != 0)
		lsr_nomem();
	return buf;
}

static bool
kind_of(const char *word, size_t n, unsigned *kind)
{
	unsigned k;

	for (k = 0; k < LSR_K_COUNT; k++)
		if (strlen(lsr_kind_word(k)) == n &&
		    strncmp(word, lsr_kind_word(k), n) == 0) {
			*kind = k;
			return true;
		}
	return false;
}

static struct lsr_budget *
add_budget(struct lsr_check *c)
{
	struct lsr_budget *b;

	c->budgets = lsr_xgrow(c->budgets, &c->cap_budgets, c->nbudgets + 1,
	    sizeof(*c->budgets));
	b = &c->budgets[c->nbudgets++];
	memset(b, 0, sizeof(*b));
	return b;
}

/* An entry's first line, "definite 40 1", into b; false if it is not
 * one. */
static bool
parse_head(const char *s, struct lsr_budget *b)
{
	const char *sp = strchr(s, ' ');
	uint64_t v[2];
	unsigned i;
	char *end;

	if (sp == NULL || !kind_of(s, (size_t)(sp - s), &b->kind))
		return false;
	for (i = 0; i < 2; i++) {
		while (*sp == ' ' || *sp == '\t')
			sp++;
		if (*sp < '0' || *sp > '9')
			return false;
		errno = 0;
		v[i] = strtoull(sp, &end, 10);
		if (errno != 0 || (*end != '\0' && *end != ' ' &&
		    *end != '\t'))
			return false;
		sp = end;
	}
	while (*sp == ' ' || *sp == '\t')
		sp++;
	if (*sp != '\0')
		return false;
	b->bytes = v[0];
	b->blocks = v[1];
	return true;
}

/* Append frame line s, "main (leak.c)", to key *k; false if it is
 * not one. */
static bool
add_frame(char **k, const char *s)
{
	size_t n = strlen(s), old = *k ? strlen(*k) : 0;
	const char *open = NULL, *p;

	if (n < 4 || s[n - 1] != ')')
		return false;
	for (p = s; (p = strstr(p, " (")) != NULL; p++)
		open = p;
	if (open == NULL || open == s || open + 3 > s + n - 1)
		return false;
	*k = lsr_xrealloc(*k, old + n + 2, 1);
	memcpy(*k + old, s, n);
	(*k)[old + n] = '\n';
	(*k)[old + n + 1] = '\0';
	return true;
}

/* A frame line's canonical form: the file part cut to its base name, so
 * that a hand-written "main (src/leak.c)" matches. */
static void
canonical_frame(char *s)
{
	size_t n = strlen(s);
	char *open = NULL, *p, *slash;

	for (p = s; (p = strstr(p, " (")) != NULL; p++)
		open = p;
	if (open == NULL)
		return;
	slash = memrchr(open + 2, '/', (size_t)(s + n - 1 - (open + 2)));
	if (slash != NULL)
		memmove(open + 2, slash + 1, strlen(slash + 1) + 1);
}

bool
lsr_baseline_load(struct lsr_check *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, no = 0;
	struct lsr_budget *b = NULL;
	ssize_t n;
	bool ok = true, magic = false;

	if (f == NULL) {
		warn("%s", path);
		return false;
	}
	while (ok && (n = getline(&line, &cap, f)) >= 0) {
		bool indented = line[0] == ' ' || line[0] == '\t';
		bool nul = memchr(line, '\0', (size_t)n) != NULL;
		char *s = lsr_line_trim(line, (size_t)n);

		no++;
		if (!magic) {
			magic = !nul && strcmp(s, MAGIC) == 0;
			if (!magic) {
				warnx("%s: not a leakspy baseline (it does not "
				    "start with '%s')", path, MAGIC);
				ok = false;
			}
			continue;
		}
		if (!nul && *s == '#')
			continue;
		if (!nul && *s == '\0') {
			b = NULL;
			continue;
		}
		if (nul) {
			ok = false;
		} else if (!indented) {
			b = add_budget(c);
			b->where = lsr_xasprintf("%s:%zu", path, no);
			ok = parse_head(s, b);
		} else if (b != NULL) {
			canonical_frame(s);
			ok = add_frame(&b->key, s);
		} else {
			ok = false;
		}
		if (!ok)
			warnx("%s:%zu: not a baseline line: '%s' (want 'KIND "
			    "BYTES BLOCKS', then its frames indented, "
			    "'function (file)')", path, no, s);
	}
	if (ok && ferror(f)) {
		warn("%s", path);
		ok = false;
	}
	if (ok && !magic) {
		warnx("%s: not a leakspy baseline (it is empty)", path);
		ok = false;
	}
	for (size_t i = 0; ok && i < c->nbudgets; i++)
		if (c->budgets[i].key == NULL)
			c->budgets[i].key = lsr_xstrdup("");
	free(line);
	fclose(f);
	return ok;
}

struct lsr_budget *
lsr_baseline_match(struct lsr_check *c, const struct lsr_finding *f)
{
	size_t i;

	for (i = 0; i < c->nbudgets; i++)
		if (c->budgets[i].kind == f->kind && f->key != NULL &&
		    strcmp(c->budgets[i].key, f->key) == 0)
			return &c->budgets[i];
	return NULL;
}

static int
by_kind_key(const void *pa, const void *pb)
{
	const struct lsr_finding *a = *(const struct lsr_finding *const *)pa;
	const struct lsr_finding *b = *(const struct lsr_finding *const *)pb;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* Whether path may be replaced: it does not exist, or its first line
 * is a baseline's, as lsr_baseline_load reads it. */
static bool
replaceable(const char *path)
{
	char head[sizeof(MAGIC) + 64];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return errno == ENOENT;
	n = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[n] = '\0';
	head[strcspn(head, "\n")] = '\0';
	n = strlen(head);
	while (n > 0 && (head[n - 1] == ' ' || head[n - 1] == '\t' ||
	    head[n - 1] == '\r'))
		head[--n] = '\0';
	return strcmp(head + strspn(head, " \t"), MAGIC) == 0;
}

/* Write the entries of c to f: the findings not suppressed, one entry a
 * kind and key, with the most bytes and blocks any of them held. */
static void
write_entries(FILE *f, const struct lsr_check *c)
{
	const struct lsr_finding **v = lsr_xcalloc(c->nfindings + 1,
	    sizeof(*v));
	size_t n = 0, i, j;

	for (i = 0; i < c->nfindings; i++)
		if (c->findings[i].rule == NULL && c->findings[i].key != NULL)
			v[n++] = &c->findings[i];
	if (n > 0)
		qsort(v, n, sizeof(*v), by_kind_key);
	for (i = 0; i < n; i = j) {
		uint64_t bytes = 0, blocks = 0;
		const char *k;

		for (j = i; j < n && by_kind_key(&v[i], &v[j]) == 0; j++) {
			if (v[j]->amount.bytes > bytes)
				bytes = v[j]->amount.bytes;
			if (v[j]->amount.blocks > blocks)
				blocks = v[j]->amount.blocks;
		}
		fprintf(f, "\n%s %" PRIu64 " %" PRIu64 "\n",
		    lsr_kind_word(v[i]->kind), bytes, blocks);
		for (k = v[i]->key; *k;) {
			const char *nl = strchr(k, '\n');
			size_t len = nl ? (size_t)(nl - k) : strlen(k);

			fprintf(f, "    %.*s\n", (int)len, k);
			k += len + (nl != NULL);
		}
	}
	free(v);
}

bool
lsr_baseline_write(const struct lsr_check *c, const char *path)
{
	char *tmp;
	FILE *f;
	int fd;

	if (!replaceable(path)) {
		warnx("%s: exists and is not a leakspy baseline: not "
		    "replaced", path);
		return false;
	}
	tmp = lsr_xasprintf("%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		warn("%s", path);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return false;
	}
	{
		/* mkstemp's file is 0600; a baseline is shared as the
		 * files around it. */
		mode_t mask = umask(022);

		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	fprintf(f, "%s\n# Written by leakspy-report --write-baseline.  Each "
	    "entry: a kind, the bytes and\n# blocks a finding of its stack "
	    "may hold, then the stack, one frame a\n# line.  Raise the "
	    "figures to allow more; delete an entry to fail on it.\n",
	    MAGIC);
	write_entries(f, c);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0 ||
	    fclose(f) != 0) {
		warn("%s", tmp);
		unlink(tmp);
		free(tmp);
		return false;
	}
	if (rename(tmp, path) != 0) {
		warn("%s", path);
		unlink(tmp);
		free(tmp);
		return false;
	}
	free(tmp);
	return true;
}
