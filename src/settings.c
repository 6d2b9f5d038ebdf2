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

/*
 * Signal by number, or by name with or without "SIG": the standard names
 * and RTMIN+n / RTMAX-n.  Which of them may be the snapshot signal is
 * ls_signal_refusal()'s business.
 */
int
ls_parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int signo;
	} names[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
		{ "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
		{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
		{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT },
		{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
		{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
		{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
		{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
		{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "POLL", SIGPOLL },
		{ "PWR", SIGPWR }, { "SYS", SIGSYS },
	};
	unsigned long v;
	size_t i;

	if (ls_parse_uint(s, 64, &v))
		return v >= 1 && (int)v <= SIGRTMAX ? (int)v : -1;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < LS_ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].signo;
	if (strcmp(s, "RTMIN") == 0)
		return SIGRTMIN;
	if (strcmp(s, "RTMAX") == 0)
		return SIGRTMAX;
	if (strncmp(s, "RTMIN+", 6) == 0 && ls_parse_uint(s + 6, 64, &v) &&
	    SIGRTMIN + (int)v <= SIGRTMAX)
		return SIGRTMIN + (int)v;
	if (strncmp(s, "RTMAX-", 6) == 0 && ls_parse_uint(s + 6, 64, &v) &&
	    SIGRTMAX - (int)v >= SIGRTMIN)
		return SIGRTMAX - (int)v;
	return -1;
}

const char *
ls_signal_refusal(int signo)
{
	switch (signo) {
	case SIGHUP: case SIGINT: case SIGQUIT: case SIGTERM:
		return "services and their managers rely on it to stop or "
		    "reload them";
	case SIGKILL: case SIGSTOP:
		return "it cannot be caught";
	case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGSYS: case SIGXCPU: case SIGXFSZ:
		return "the kernel or the C library sends it on a fault or a "
		    "limit, and the program must die of it";
	case SIGPIPE: case SIGALRM: case SIGCHLD: case SIGCONT:
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return "the kernel and shells send it with a meaning of their "
		    "own";
	}
	if (signo < 1 || signo > SIGRTMAX)
		return "no such signal";
	if (signo > SIGSYS && signo < SIGRTMIN)
		return "the C library keeps it for its threads";
	return NULL;
}

bool
ls_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < LS_ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* %p, %e and %% are the escapes; any other % is an error. */
const char *
ls_check_template(const char *t)
{
	const char *s;

	if (*t == '\0')
		return "the template is empty";
	for (s = t; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		if (s[1] != 'p' && s[1] != 'e' && s[1] != '%')
			return s[1] == '\0' ? "a % at the end (write %% for a "
			    "percent sign)" : "an unknown % escape (known: %p, "
			    "%e, %%)";
		s++;
	}
	if (s[-1] == '/')
		return "the template names a directory";
	return NULL;
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
