/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the C tests: typed asserts that print both values.
 * Exit codes: 0 pass, 1 fail, 77 skip, 99 harness error.
 */
#ifndef LS_LST_H
#define LS_LST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int lst_failures;

#define LST_FAIL(...) do {						\
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	lst_failures++;							\
} while (0)

#define LST_EQ_U64(a, b) do {						\
	uint64_t lst_a = (uint64_t)(a), lst_b = (uint64_t)(b);		\
	if (lst_a != lst_b)						\
		LST_FAIL("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b,	\
		    lst_a, lst_b);					\
} while (0)

#define LST_EQ_STR(a, b) do {						\
	const char *lst_a = (a), *lst_b = (b);				\
	if (lst_a == NULL || lst_b == NULL || strcmp(lst_a, lst_b) != 0)\
		LST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,		\
		    lst_a ? lst_a : "(null)", lst_b ? lst_b : "(null)");\
} while (0)

#define LST_TRUE(c) do {						\
	if (!(c))							\
		LST_FAIL("expected %s", #c);				\
} while (0)

#define LST_DONE() (lst_failures ? 1 : 0)

#endif /* LS_LST_H */
