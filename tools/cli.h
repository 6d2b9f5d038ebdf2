/* SPDX-License-Identifier: MIT */
/*
 * What leakspy-report and the launcher share on their command lines: the
 * usage exit status, and leaving after --help or --version only once
 * what they printed is out.
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Usage errors (leakspy(1), leakspy-report(1), EXIT STATUS). */
#define LSR_EXIT_USAGE	2

/* Exit 0 once standard output is written, or LSR_EXIT_USAGE with a
 * message if it could not be (a full device, a closed pipe). */
static inline void __attribute__((noreturn))
lsr_exit_printed(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		errx(LSR_EXIT_USAGE, "write error on standard output");
	exit(0);
}

/* --watch's seconds, 0.05 to 3600, both tools'; exits LSR_EXIT_USAGE
 * with a message on anything else. */
static inline double
lsr_watch_seconds(const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end != '\0' || errno != 0 ||
	    !(v >= 0.05 && v <= 3600))
		errx(LSR_EXIT_USAGE, "--watch wants seconds from 0.05 to "
		    "3600, not '%s'", arg);
	return v;
}

#endif /* LS_CLI_H */
