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

/* "USR2", "SIGUSR2", "12" or "RTMIN+3": the signal number, or -1 for an
 * unknown name, SIGKILL or SIGSTOP. */
int ls_parse_signal(const char *s);

#endif /* LS_SETTINGS_H */
