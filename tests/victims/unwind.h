/* SPDX-License-Identifier: MIT */
/* The unwind victim's functions, spread over objects built with frame
 * pointers (unwind_fp.c), without (unwind_nofp.c) and without unwind
 * tables (unwind_notab.c). */
#ifndef UNWIND_H
#define UNWIND_H

#include <stddef.h>

extern void *volatile unwind_keep[64];
void keep(void *p);

/* unwind_fp.c */
void fp_top(int depth);
void fp_alloca(size_t n);
void fp_bigframe(int i);
void fp_ends_in_noreturn(void);

/* unwind_nofp.c */
void nofp_mid(int depth);
void nofp_leaf(void);
void nofp_bigframe(int i);
__attribute__((noreturn)) void nofp_jump_out(void);

/* unwind_notab.c */
void notab_leaf(void);
#endif
