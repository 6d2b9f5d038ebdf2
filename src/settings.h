/* SPDX-License-Identifier: MIT */
/*
 * The LEAKSPY_* settings (leakspy(7)): one table of them, shared by the
 * shim (which reads the environment through it), the launcher (whose
 * options and --help come from it), and the parser of their values.
 */
#ifndef LS_SETTINGS_H
#define LS_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "fmt.h"

/* The settings, in the order of ls_settings[] (and of --help). */
enum {
	LS_SET_OUTPUT,
	LS_SET_INTERVAL,
	LS_SET_SIGNAL,
	LS_SET_DEPTH,
	LS_SET_SAMPLE,
	LS_SET_FOLLOW_EXEC,
	LS_SET_UNWIND,
	LS_SET_SCAN,
	LS_SET_SCAN_GROWTH,
	LS_SET_COUNT
};

/* Kinds of value, and what ls_value.n holds for each. */
enum {
	LS_VT_UINT,	/* a decimal number */
	LS_VT_SECONDS,	/* seconds, maybe with a fraction: milliseconds */
	LS_VT_BYTES,	/* bytes, with an optional k, M or G (1024s) */
	LS_VT_SIGNAL,	/* a signal, by name or number: its number, or 0 */
	LS_VT_BOOL,	/* yes or no: 1 or 0 */
	LS_VT_WORD,	/* one of the entry's words: its index */
	LS_VT_TEMPLATE,	/* an output path template: ls_value.s */
};

/* Entry flags: what a number outside [min, max] becomes.  Without the
 * flag it becomes the default, as a malformed value does. */
#define LS_SF_CLAMP_LOW		0x1	/* below min: min */
#define LS_SF_CLAMP_HIGH	0x2	/* above max: max */
#define LS_SF_ZERO		0x4	/* 0 is good too, whatever min */

/* The deepest stack the shim keeps (its frame arrays hold 8 more). */
#define LS_DEPTH_MAX	248

/*
 * A setting.  Numbers (min, max, def) are in the unit of ls_value.n:
 * frames, milliseconds, bytes, a signal number, 0/1, a word's index.
 */
struct ls_setting {
	const char *name;		/* the variable: "LEAKSPY_DEPTH" */
	unsigned type;			/* LS_VT_* */
	unsigned flags;			/* LS_SF_* */
	uint64_t min, max;		/* LS_VT_UINT, _SECONDS, _BYTES */
	uint64_t def;			/* the default (not templates) */
	const char *def_str;		/* LS_VT_TEMPLATE: the default */
	const char *const *words;	/* LS_VT_WORD: by index, NULL-ended */
	char opt;			/* the launcher's short option */
	const char *long_opt;		/* and its long one */
	const char *arg;		/* its argument's name; NULL: a flag,
					 * which sets the variable to "1" */
	const char *help;		/* the launcher's --help text; the
					 * argument's name is in capitals */
};

/* The table.  Read-only; indexed by LS_SET_*. */
extern const struct ls_setting ls_settings[LS_SET_COUNT];

/* A setting's value. */
struct ls_value {
	uint64_t n;		/* see LS_VT_*; 0 for templates */
	const char *s;		/* LS_VT_TEMPLATE: the template */
};

/* What ls_setting_parse() made of a value. */
struct ls_parsed {
	struct ls_value v;	/* the value to use */
	char reason[224];	/* "" when the value is used as given, else
				 * why not: "want 1 to 248" */
	char used[64];		/* v as ls_setting_show() writes it */
};

/*
 * Parse s as a value of setting st into *p.  Returns true when s is used
 * as given.  Otherwise returns false with p->reason set, and p->v the
 * value to use instead: the nearer bound for a number out of range where
 * the entry's flags say so, else the default.  An empty s is malformed
 * (the shim takes an empty variable for an unset one).  A template's
 * p->v.s points into s or to the default.  Async-signal-safe; no
 * allocation, locale or other C library state, so the shim may call it
 * before the C library is initialised.
 */
bool ls_setting_parse(const struct ls_setting *st, const char *s,
    struct ls_parsed *p);

/* The default of st. */
struct ls_value ls_setting_default(const struct ls_setting *st);

/* Append v as text that ls_setting_parse() reads back as v: "248",
 * "0.01", "512k", "USR2", "none", "yes", "fast", the template.
 * Async-signal-safe. */
void ls_setting_show(const struct ls_setting *st, const struct ls_value *v,
    struct ls_fmt *f);

/* Append the values st takes, as messages and --help say them: "1 to
 * 248", "0, or 0.01 to 4000000", "fast, libunwind or check"; nothing for
 * signals and templates, whose refusals have reasons of their own.
 * Async-signal-safe. */
void ls_setting_range(const struct ls_setting *st, struct ls_fmt *f);

/* "USR2", "SIGUSR2", "12", "RTMIN+3" or "RTMAX-1": the signal number, or
 * -1 for an unknown name or number. */
int ls_parse_signal(const char *s);

/* Why signo may not be the snapshot signal (a sentence fragment: "it
 * cannot be caught"), or NULL if it may. */
const char *ls_signal_refusal(int signo);

/* Why the output template t is refused (empty, an unknown % escape, a
 * trailing /), or NULL if it is good.  Escapes: %p, %e, %%. */
const char *ls_check_template(const char *t);

#endif /* LS_SETTINGS_H */
