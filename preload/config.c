/* SPDX-License-Identifier: MIT */
/*
 * The shim's settings: every LEAKSPY_* variable read through the table
 * of src/settings.c, a value it cannot use said once on fd 2 and kept
 * for the dump's SETTING records.  Runs in lsp_boot() (possibly from
 * .preinit_array, before the C library is initialised), the SETTING
 * records in the writer under its lock.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"
#include "settings.h"
#include "lsp.h"

_Static_assert(LS_DEPTH_MAX + 8 <= LS_MAX_FRAMES,
    "LEAKSPY_DEPTH's maximum must fit the shim's frame arrays");

/* The most of a refused value that is kept and shown; longer ones are
 * cut, and end in "...". */
#define GIVEN_MAX	256

/* A refused setting, as the SETTING record gives it. */
struct refusal {
	unsigned id;			/* LS_SET_* */
	char given[GIVEN_MAX];
	char used[sizeof(((struct ls_parsed *)0)->used)];
	char reason[sizeof(((struct ls_parsed *)0)->reason)];
};

/* Written by lsp_config_read() at boot only, read by the writer after. */
static struct refusal refused[LS_SET_COUNT];
static unsigned nrefused;

/*
 * Expand %p, %e and %% of tmpl into out, made absolute against the
 * starting directory.  Returns false if the result does not fit.
 */
static bool
expand_path(const char *tmpl, char *out, size_t cap, bool absolute_only)
{
	struct ls_fmt f;
	const char *s;

	ls_fmt_init(&f, out, cap);
	if (tmpl[0] != '/') {
		char cwd[LSP_PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return false;
		ls_fmt_str(&f, cwd);
		if (strcmp(cwd, "/") != 0)
			ls_fmt_str(&f, "/");
	}
	if (absolute_only) {
		ls_fmt_str(&f, tmpl);
		return !f.overflow;
	}
	for (s = tmpl; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			ls_fmt_u64(&f, (uint64_t)getpid());
			s++;
		} else if (s[0] == '%' && s[1] == 'e') {
			ls_fmt_str(&f, lsp_name);
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			ls_fmt_mem(&f, "%", 1);
			s++;
		} else {
			ls_fmt_mem(&f, s, 1);
		}
	}
	return !f.overflow;
}

bool
lsp_config_repath(void)
{
	return expand_path(lsp_cfg.tmpl, lsp_cfg.path, sizeof(lsp_cfg.path),
	    false);
}

/* Keep the refusal of setting id's value s, and say it once:
 * "leakspy: LEAKSPY_DEPTH=500: want 1 to 248; using 248". */
static void
refuse(unsigned id, const char *s, const struct ls_parsed *p)
{
	struct refusal *r = &refused[nrefused++];
	char msg[512];
	struct ls_fmt f;

	r->id = id;
	ls_fmt_init(&f, r->given, sizeof(r->given) - 3);
	ls_fmt_str(&f, s);
	if (f.overflow)
		memcpy(r->given + f.len, "...", 4);
	memcpy(r->used, p->used, sizeof(r->used));
	memcpy(r->reason, p->reason, sizeof(r->reason));

	ls_fmt_init(&f, msg, sizeof(msg));
	ls_fmt_str(&f, ls_settings[id].name);
	ls_fmt_str(&f, "=");
	ls_fmt_str(&f, r->given);
	ls_fmt_str(&f, ": ");
	ls_fmt_str(&f, r->reason);
	ls_fmt_str(&f, "; using ");
	ls_fmt_str(&f, r->used);
	lsp_warn(msg, NULL);
}

/* Put the value of setting id into lsp_cfg. */
static void
apply(unsigned id, const struct ls_value *v)
{
	switch (id) {
	case LS_SET_OUTPUT:
		if (!expand_path(v->s, lsp_cfg.tmpl, sizeof(lsp_cfg.tmpl),
		    true) || !lsp_config_repath()) {
			lsp_warn("output path too long; not writing a dump",
			    v->s);
			lsp_cfg.path[0] = '\0';
		}
		break;
	case LS_SET_INTERVAL:
		lsp_cfg.interval_ms = (unsigned)v->n;
		break;
	case LS_SET_SIGNAL:
		lsp_cfg.signo = (int)v->n;
		break;
	case LS_SET_DEPTH:
		lsp_cfg.depth = (unsigned)v->n;
		break;
	case LS_SET_SAMPLE:
		lsp_cfg.sample = v->n;
		break;
	case LS_SET_FOLLOW_EXEC:
		lsp_cfg.follow_exec = v->n != 0;
		break;
	case LS_SET_UNWIND:
		/* The table's words are in LSP_UNWIND_* order. */
		lsp_cfg.unwind = (unsigned)v->n;
		break;
	case LS_SET_SCAN:
		lsp_cfg.scan_ms = (unsigned)v->n;
		break;
	case LS_SET_SCAN_GROWTH:
		lsp_cfg.scan_growth = (unsigned)v->n;
		break;
	}
}

void
lsp_config_read(void)
{
	struct ls_parsed p;
	unsigned id;

	nrefused = 0;	/* read again at a second attach */
	for (id = 0; id < LS_SET_COUNT; id++) {
		const struct ls_setting *st = &ls_settings[id];
		const char *s = lsp_env(st->name);

		/* Empty is unset: VAR= is how many tools clear a variable. */
		if (s == NULL || *s == '\0')
			p.v = ls_setting_default(st);
		else if (!ls_setting_parse(st, s, &p))
			refuse(id, s, &p);
		apply(id, &p.v);
	}
}

void
lsp_config_emit(struct ls_buf *b)
{
	unsigned i;

	for (i = 0; i < nrefused; i++) {
		const struct refusal *r = &refused[i];
		const char *name = ls_settings[r->id].name;
		size_t start = ls_rec_begin(b, LS_REC_SETTING);

		ls_buf_str(b, name, strlen(name));
		ls_buf_str(b, r->given, strlen(r->given));
		ls_buf_str(b, r->used, strlen(r->used));
		ls_buf_str(b, r->reason, strlen(r->reason));
		ls_rec_end(b, start);
	}
}
