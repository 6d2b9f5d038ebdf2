/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report --check: the gate's options, and the run: load the
 * rules and the baseline, read each dump's findings, judge, write the
 * baseline if asked, print in the format asked.
 */
#define _GNU_SOURCE
#include <err.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "cli.h"
#include "lsr.h"

bool
lsr_gate_fail_on(const char *arg, unsigned *bits)
{
	const char *w = arg;
	unsigned set = 0, k;

	for (;;) {
		size_t n = strcspn(w, ",");
		bool known = false;

		for (k = 0; k < LSR_K_COUNT; k++)
			if (strlen(lsr_kind_word(k)) == n &&
			    strncmp(w, lsr_kind_word(k), n) == 0) {
				set |= LSR_K_BIT(k);
				known = true;
			}
		if (n == 4 && strncmp(w, "lost", 4) == 0) {
			set |= LSR_K_BIT(LSR_K_DEFINITE) |
			    LSR_K_BIT(LSR_K_INDIRECT);
			known = true;
		} else if (n == 3 && strncmp(w, "all", 3) == 0) {
			set |= (1u << LSR_K_COUNT) - 1;
			known = true;
		}
		if (!known)
			return false;
		if (w[n] == '\0')
			break;
		w += n + 1;
	}
	*bits = set;
	return true;
}

/* A size: a number and a unit of powers of 1024 (B, KiB, MiB, GiB, TiB;
 * K, KB, M, MB, G, GB, T, TB alike), into *bytes; *rest is what
 * follows. */
static bool
parse_size(const char *s, double *bytes, const char **rest)
{
	static const struct {
		const char *unit;
		double mul;
	} units[] = {
		{ "TiB", 1099511627776.0 }, { "GiB", 1073741824.0 },
		{ "MiB", 1048576.0 }, { "KiB", 1024.0 },
		{ "TB", 1099511627776.0 }, { "GB", 1073741824.0 },
		{ "MB", 1048576.0 }, { "KB", 1024.0 }, { "kB", 1024.0 },
		{ "T", 1099511627776.0 }, { "G", 1073741824.0 },
		{ "M", 1048576.0 }, { "K", 1024.0 }, { "k", 1024.0 },
		{ "B", 1 },
	};
	char *end;
	double v = strtod(s, &end);
	size_t i;

	if (end == s || !isfinite(v) || v < 0 || s[0] == '-' || s[0] == '+')
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].unit);

		if (strncmp(end, units[i].unit, n) == 0) {
			v *= units[i].mul;
			end += n;
			break;
		}
	}
	if (!isfinite(v) || v >= 1.8e19)
		return false;
	*bytes = v;
	*rest = end;
	return true;
}

bool
lsr_gate_max_growth(const char *arg, struct lsr_check_opts *o)
{
	static const struct {
		const char *unit;
		double seconds;
	} per[] = {
		{ "s", 1 }, { "sec", 1 }, { "m", 60 }, { "min", 60 },
		{ "h", 3600 }, { "hour", 3600 }, { "d", 86400 },
		{ "day", 86400 },
	};
	const char *rest;
	double bytes;
	size_t i;

	if (!parse_size(arg, &bytes, &rest))
		return false;
	if (*rest == '\0') {
		o->max_total = (uint64_t)bytes;
		return true;
	}
	if (*rest != '/')
		return false;
	for (i = 0; i < sizeof(per) / sizeof(per[0]); i++)
		if (strcmp(rest + 1, per[i].unit) == 0) {
			o->max_rate = bytes / per[i].seconds;
			return true;
		}
	return false;
}

bool
lsr_gate_format(const char *word, unsigned *format)
{
	static const char *const words[] = {
		[LSR_CF_TEXT] = "text", [LSR_CF_JSON] = "json",
		[LSR_CF_JUNIT] = "junit", [LSR_CF_SARIF] = "sarif",
		[LSR_CF_LSAN] = "lsan", [LSR_CF_HTML] = "html",
	};
	unsigned i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(word, words[i]) == 0) {
			*format = i;
			return true;
		}
	return false;
}

/* Write a new baseline of c, then judge c against it: what it recorded
 * no longer fails.  False if it could not be written or read back (c's
 * old baseline then stays). */
static bool
write_baseline(struct lsr_check *c, const char *path)
{
	struct lsr_check fresh = { 0 };
	size_t i;

	if (!lsr_baseline_write(c, path))
		return false;
	if (!lsr_baseline_load(&fresh, path)) {
		lsr_check_fini(&fresh);
		return false;
	}
	for (i = 0; i < c->nfindings; i++)
		c->findings[i].budget = NULL;
	for (i = 0; i < c->nbudgets; i++) {
		free(c->budgets[i].key);
		free(c->budgets[i].where);
	}
	free(c->budgets);
	c->budgets = fresh.budgets;
	c->nbudgets = fresh.nbudgets;
	c->cap_budgets = fresh.cap_budgets;
	fresh.budgets = NULL;
	fresh.nbudgets = 0;
	lsr_check_fini(&fresh);
	lsr_check_judge(c);
	return true;
}

int
lsr_gate_run(const struct lsr_gate *g, char **files, int n)
{
	struct lsr_check c = { 0 };
	int i, status = 0;
	size_t k;

	c.o = g->o;
	for (k = 0; k < g->nsupp; k++)
		if (!lsr_rules_load(&c, g->supp[k]))
			exit(LSR_EXIT_USAGE);
	if (g->o.builtin)
		lsr_rules_builtin(&c);
	if (g->baseline != NULL && !lsr_baseline_load(&c, g->baseline))
		exit(LSR_EXIT_USAGE);
	for (i = 0; i < n; i++)
		if (lsr_check_dump(&c, files[i]) != 0)
			status = LSR_EXIT_USAGE;
	lsr_check_judge(&c);
	if (g->write_baseline != NULL && !write_baseline(&c, g->write_baseline))
		status = LSR_EXIT_USAGE;
	/* What the outputs give as the exit status is the exit status. */
	if (status != 0)
		c.exit_status = status;
	switch (g->format) {
	case LSR_CF_JSON:
		lsr_check_json(stdout, &c);
		break;
	case LSR_CF_JUNIT:
		lsr_check_junit(stdout, &c);
		break;
	case LSR_CF_SARIF:
		lsr_check_sarif(stdout, &c);
		break;
	case LSR_CF_LSAN:
		lsr_check_lsan(stdout, &c);
		break;
	case LSR_CF_HTML:
		if (lsr_check_html(stdout, &c, files[0]) != 0)
			c.exit_status = LSR_EXIT_USAGE;
		break;
	default:
		lsr_check_text(stdout, &c);
		break;
	}
	if (g->gen) {
		FILE *f = g->format == LSR_CF_TEXT ? stdout : stderr;

		if (f == stdout)
			fputs("\n# Suppressions for the findings that fail:\n",
			    f);
		for (k = 0; k < c.nfindings; k++)
			if (lsr_finding_fails(&c, &c.findings[k]))
				lsr_rules_generate(f, &c, &c.findings[k]);
	}
	status = c.exit_status;
	lsr_check_fini(&c);
	return status;
}
