/* SPDX-License-Identifier: MIT */
/*
 * Encoding and decoding of dump records (format in dump.h).  No
 * allocation: writers bring a buffer with a grow function, readers a
 * mapped file.
 */
#include <string.h>

#include "dump.h"
#include "hash.h"
#include "leb128.h"

static int
reserve(struct ls_buf *b, size_t n)
{
	if (b->err)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	if (b->grow_fn == NULL || b->grow_fn(b, n) != 0 ||
	    b->cap - b->len < n) {
		b->err = 1;
		return -1;
	}
	return 0;
}

void
ls_buf_bytes(struct ls_buf *b, const void *p, size_t n)
{
	if (reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
ls_buf_uv(struct ls_buf *b, uint64_t v)
{
	if (reserve(b, ls_uv_len(v)) != 0)
		return;
	b->len += ls_uv_put(b->p + b->len, v);
}

void
ls_buf_str(struct ls_buf *b, const void *s, size_t n)
{
	ls_buf_uv(b, n);
	ls_buf_bytes(b, s, n);
}

void
ls_dump_header(struct ls_buf *b)
{
	static const char line[] = LS_DUMP_MAGIC "1\n";

	ls_buf_bytes(b, line, sizeof(line) - 1);
}

size_t
ls_rec_begin(struct ls_buf *b, unsigned type)
{
	uint8_t hdr[LS_REC_HDR] = { (uint8_t)type, (uint8_t)(type >> 8) };
	size_t start = b->len;

	ls_buf_bytes(b, hdr, sizeof(hdr));
	return start;
}

void
ls_rec_end(struct ls_buf *b, size_t start)
{
	uint8_t crc[LS_REC_TRAILER];
	size_t plen;

	if (b->err)
		return;
	plen = b->len - start - LS_REC_HDR;
	ls_put32(b->p + start + 4, (uint32_t)plen);
	ls_put32(crc, ls_crc32(0, b->p + start, b->len - start));
	ls_buf_bytes(b, crc, sizeof(crc));
}

/* The count's placeholder: a LEB128 of 5 bytes, the most 32 bits take. */
#define COUNT_BYTES	5

size_t
ls_rec_begin_counted(struct ls_buf *b, unsigned type, uint64_t index)
{
	uint8_t zero[COUNT_BYTES];
	size_t start = ls_rec_begin(b, type);

	ls_buf_uv(b, index);
	ls_uv_put_padded(zero, 0, COUNT_BYTES);
	ls_buf_bytes(b, zero, sizeof(zero));
	return start;
}

void
ls_buf_uv_padded(struct ls_buf *b, uint64_t v)
{
	uint8_t out[LS_UV_PADDED];

	ls_uv_put_padded(out, v, LS_UV_PADDED);
	ls_buf_bytes(b, out, sizeof(out));
}

int
ls_recs_reindex(uint8_t *p, size_t len, uint64_t index)
{
	size_t o = 0;

	while (o < len) {
		uint32_t plen;

		if (len - o < LS_REC_HDR + LS_REC_TRAILER)
			return -1;
		plen = ls_get32(p + o + 4);
		if (plen < LS_UV_PADDED ||
		    len - o - LS_REC_HDR - LS_REC_TRAILER < plen)
			return -1;
		ls_uv_put_padded(p + o + LS_REC_HDR, index, LS_UV_PADDED);
		ls_put32(p + o + LS_REC_HDR + plen, ls_crc32(0, p + o,
		    LS_REC_HDR + plen));
		o += LS_REC_HDR + plen + LS_REC_TRAILER;
	}
	return 0;
}

void
ls_rec_end_counted(struct ls_buf *b, size_t start, uint32_t count)
{
	if (!b->err) {
		const uint8_t *c = b->p + start + LS_REC_HDR;
		uint64_t index;

		(void)ls_uv_get(&c, b->p + b->len, &index);
		ls_uv_put_padded(b->p + (c - b->p), count, COUNT_BYTES);
	}
	ls_rec_end(b, start);
}

uint64_t
ls_cur_uv(struct ls_cur *c)
{
	uint64_t v;

	if (ls_uv_get(&c->p, c->end, &v))
		return v;
	c->err = 1;
	c->p = c->end;
	return 0;
}

const char *
ls_cur_str(struct ls_cur *c, size_t *n)
{
	uint64_t len = ls_cur_uv(c);
	const char *s;

	if (c->err || len > (uint64_t)(c->end - c->p)) {
		c->err = 1;
		c->p = c->end;
		*n = 0;
		return NULL;
	}
	s = (const char *)c->p;
	c->p += len;
	*n = (size_t)len;
	return s;
}

size_t
ls_dump_check_header(const void *data, size_t size, const char **why)
{
	const char *d = data;
	size_t mlen = sizeof(LS_DUMP_MAGIC) - 1;
	size_t i;
	unsigned long version = 0;

	if (size == 0) {
		*why = "empty file";
		return 0;
	}
	if (size < mlen || memcmp(d, LS_DUMP_MAGIC, mlen) != 0) {
		*why = "not a leakspy dump (bad first line)";
		return 0;
	}
	for (i = mlen; i < size && i < mlen + 8 && d[i] >= '0' && d[i] <= '9';
	    i++)
		version = version * 10 + (unsigned long)(d[i] - '0');
	if (i == size) {
		*why = "first line cut short";
		return 0;
	}
	if (i == mlen || d[i] != '\n') {
		*why = "malformed version line";
		return 0;
	}
	if (version != LS_DUMP_VERSION) {
		*why = "unsupported dump version (this reader knows 1)";
		return 0;
	}
	return i + 1;
}

int
ls_dump_next(const void *data, size_t size, size_t *off, struct ls_rec *rec,
    const char **why)
{
	const uint8_t *d = data;
	size_t o = *off;
	uint32_t plen, crc;

	if (o >= size)
		return 0;
	if (size - o < LS_REC_HDR + LS_REC_TRAILER) {
		*why = "record cut short (header)";
		return -1;
	}
	plen = ls_get32(d + o + 4);
	if (plen > LS_DUMP_MAX_RECORD) {
		*why = "record length out of range";
		return -1;
	}
	if (size - o - LS_REC_HDR - LS_REC_TRAILER < plen) {
		*why = "record cut short";
		return -1;
	}
	crc = ls_get32(d + o + LS_REC_HDR + plen);
	if (crc != ls_crc32(0, d + o, LS_REC_HDR + plen)) {
		*why = "record checksum mismatch";
		return -1;
	}
	if (d[o + 2] != 0 || d[o + 3] != 0) {
		*why = "record flags not zero";
		return -1;
	}
	rec->type = (unsigned)d[o] | (unsigned)d[o + 1] << 8;
	rec->offset = o;
	rec->body.p = d + o + LS_REC_HDR;
	rec->body.end = rec->body.p + plen;
	rec->body.err = 0;
	*off = o + LS_REC_HDR + plen + LS_REC_TRAILER;
	return 1;
}
