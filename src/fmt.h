/* SPDX-License-Identifier: MIT */
/*
 * Text into fixed buffers and a complete write(2), for code that may not
 * use stdio or malloc (the shim).  Async-signal-safe.
 */
#ifndef LS_FMT_H
#define LS_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Invariant: buf[len] == '\0' and len < cap; output past cap is dropped
 * and sets overflow. */
struct ls_fmt {
	char *buf;
	size_t cap;
	size_t len;
	int overflow;
};

void ls_fmt_init(struct ls_fmt *f, char *buf, size_t cap);
void ls_fmt_str(struct ls_fmt *f, const char *s);
void ls_fmt_mem(struct ls_fmt *f, const char *s, size_t n);
void ls_fmt_u64(struct ls_fmt *f, uint64_t v);
void ls_fmt_i64(struct ls_fmt *f, int64_t v);
void ls_fmt_hex(struct ls_fmt *f, uint64_t v);

/*
 * Write all n bytes to fd, retrying on EINTR and short writes.  Returns 0
 * or -errno.  Async-signal-safe.
 */
int ls_write_all(int fd, const void *buf, size_t n);

#endif /* LS_FMT_H */
