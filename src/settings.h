/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the values of LEAKSPY_* settings (leakspy(7)).
 */
#ifndef LS_SETTINGS_H
#define LS_SETTINGS_H

#include <stdbool.h>

/* "12", "0.5": seconds into milliseconds; false if malformed or over
 * 4000000 seconds. */
bool ls_parse_millis(const char *s, unsigned *out);

/* Decimal digits only, at most max. */
bool ls_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* "524288", "512k", "2M", "1G": bytes (suffixes are powers of 1024, case
 * ignored); false if malformed or over 2^40. */
bool ls_parse_bytes(const char *s, unsigned long long *out);

/* "USR2", "SIGUSR2", "12", "RTMIN+3" or "RTMAX-1": the signal number, or
 * -1 for an unknown name or number. */
int ls_parse_signal(const char *s);

/* Why signo may not be the snapshot signal (a sentence fragment: "it
 * cannot be caught"), or NULL if it may. */
const char *ls_signal_refusal(int signo);

/* "1", "yes", "true", "on" / "0", "no", "false", "off"; false if none. */
bool ls_parse_bool(const char *s, bool *out);

/* Why the output template t is refused (empty, an unknown % escape, a
 * trailing /), or NULL if it is good.  Escapes: %p, %e, %%. */
const char *ls_check_template(const char *t);

#endif /* LS_SETTINGS_H */
