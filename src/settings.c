/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the LEAKSPY_* settings, shared by the shim (which may not
 * use strtol's locale or allocate) and the launcher.  Async-signal-safe.
 */
#include <signal.h>
#include <string.h>

#include "compiler.h"
#include "settings.h"

/* Parse a decimal with an optional fraction into thousandths. */
bool
ls_parse_millis(const char *s, unsigned *out)
{
	unsigned long v = 0, frac = 0, scale = 1000;

	if (*s == '\0')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 4000000)	/* 46 days; keeps the result in 32 bits */
			return false;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (scale > 1) {
				scale /= 10;
				frac += (unsigned long)(*s - '0') * scale;
			}
		}
	}
	if (*s != '\0')
		return false;
	*out = (unsigned)(v * 1000 + frac);
	return true;
}

bool
ls_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (*s == '\0')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
	}
	if (*s != '\0')
		return false;
	*out = v;
	return true;
}

/* Signal by number, or by name with or without "SIG". */
int
ls_parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int signo;
	} names[] = {
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },
		{ "URG", SIGURG }, { "WINCH", SIGWINCH }, { "PROF", SIGPROF },
		{ "VTALRM", SIGVTALRM }, { "PWR", SIGPWR },
	};
	unsigned long v;
	size_t i;

	if (ls_parse_uint(s, 64, &v))
		return v >= 1 && (int)v <= SIGRTMAX && v != SIGKILL &&
		    v != SIGSTOP ? (int)v : -1;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < LS_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].signo;
	if (strncmp(s, "RTMIN+", 6) == 0 && ls_parse_uint(s + 6, 64, &v) &&
	    SIGRTMIN + (int)v <= SIGRTMAX)
		return SIGRTMIN + (int)v;
	return -1;
}

bool
ls_parse_bytes(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > (1ull << 40))
			return false;
	}
	switch (*s) {
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	}
	if (*s != '\0' || v > (1ull << 40) >> shift)
		return false;
	*out = v << shift;
	return true;
}
