/* SPDX-License-Identifier: MIT */
/*
 * A strict JSON (RFC 8259) checker for the fuzz harness: is the report's
 * output one well-formed JSON value, in well-formed UTF-8?
 */
#ifndef LS_JSON_CHECK_H
#define LS_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether s[0..n-1] is exactly one JSON value with optional white space
 * around it: UTF-8 that is well formed (no overlong forms, surrogates or
 * code points above U+10FFFF), no raw control characters in strings, no
 * lone surrogate escapes, nesting at most 64 deep.  On false, *where is
 * the offset of the first bad byte and *why says what is wrong.
 */
bool lst_json_valid(const char *s, size_t n, size_t *where,
    const char **why);

#endif /* LS_JSON_CHECK_H */
