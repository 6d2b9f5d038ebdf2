/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by the core, the shim and the tools.
 */
#ifndef LS_COMPILER_H
#define LS_COMPILER_H

#define LS_LIKELY(x)	__builtin_expect(!!(x), 1)
#define LS_UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define LS_NOINLINE	__attribute__((noinline))
#define LS_COLD		__attribute__((cold))
#define LS_EXPORT	__attribute__((visibility("default")))
#define LS_UNUSED	__attribute__((unused))
#define LS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LS_CACHELINE	64

#endif /* LS_COMPILER_H */
