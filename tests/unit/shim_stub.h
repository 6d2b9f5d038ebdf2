/* SPDX-License-Identifier: MIT */
/*
 * The shim around its tables, stubbed for the unit tests that link
 * sites.c and blocks.c (test_tables.c, test_scan.c): lsp_unwind() returns
 * the stack a test sets in stub_stack, so each recorded block lands at a
 * site the test chose; lsp_modgen() returns STUB_MODGEN.  Include once,
 * in the test's one file.
 */
#ifndef LS_SHIM_STUB_H
#define LS_SHIM_STUB_H

#include <string.h>

#include "lsp.h"

#ifndef STUB_MODGEN
#define STUB_MODGEN	1
#endif

__thread int lsp_guard __attribute__((tls_model("initial-exec")));
__thread const uint16_t *lsp_name_ref
    __attribute__((tls_model("initial-exec")));
__thread uint16_t lsp_unreg_name __attribute__((tls_model("initial-exec")));
struct lsp_config lsp_cfg;
unsigned long lsp_counters[LS_CNT_COUNT];
bool lsp_sandboxed;

static uintptr_t stack[LS_MAX_FRAMES];
static unsigned stack_n;
static bool stack_truncated;

unsigned
lsp_unwind(uintptr_t *f, bool *truncated)
{
	memcpy(f, stack, stack_n * sizeof(*f));
	*truncated = stack_truncated;
	return stack_n;
}

unsigned
lsp_modgen(void)
{
	return STUB_MODGEN;
}

#endif /* LS_SHIM_STUB_H */
