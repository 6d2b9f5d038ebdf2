/* SPDX-License-Identifier: MIT */
/*
 * Fixed-buffer formatting and a write(2) loop, used where stdio is banned.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fmt.h"

void
ls_fmt_init(struct ls_fmt *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	f->len = 0;
	f->overflow = 0;
	if (cap > 0)
		buf[0] = '\0';
}

void
ls_fmt_mem(struct ls_fmt *f, const char *s, size_t n)
{
	if (f->cap == 0) {
		f->overflow = 1;
		return;
	}
	if (n > f->cap - 1 - f->len) {
		n = f->cap - 1 - f->len;
		f->overflow = 1;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
}

void
ls_fmt_str(struct ls_fmt *f, const char *s)
{
	ls_fmt_mem(f, s, strlen(s));
}

void
ls_fmt_u64(struct ls_fmt *f, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	ls_fmt_mem(f, tmp + i, sizeof(tmp) - (size_t)i);
}

void
ls_fmt_i64(struct ls_fmt *f, int64_t v)
{
	if (v < 0) {
		ls_fmt_mem(f, "-", 1);
		ls_fmt_u64(f, (uint64_t)0 - (uint64_t)v);
	} else {
		ls_fmt_u64(f, (uint64_t)v);
	}
}

void
ls_fmt_hex(struct ls_fmt *f, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18];
	int i = sizeof(tmp);

	do {
		tmp[--i] = digits[v & 15];
		v >>= 4;
	} while (v != 0);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	ls_fmt_mem(f, tmp + i, sizeof(tmp) - (size_t)i);
}

int
ls_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
