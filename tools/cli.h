/* SPDX-License-Identifier: MIT */
/*
 * What leakspy-report and the launcher share on their command lines: the
 * usage exit status, and leaving after --help or --version only once
 * what they printed is out.
 */
#ifndef LS_CLI_H
#define LS_CLI_H

#include <err.h>
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

#endif /* LS_CLI_H */
