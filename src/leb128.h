/* SPDX-License-Identifier: MIT */
/*
 * The one LEB128 codec: the dump's "uv" fields, the shim's delta-coded
 * frames, the report's per-stack history and DWARF's uleb/sleb.  Header
 * only, no allocation, async-signal-safe.
 */
#ifndef LS_LEB128_H
#define LS_LEB128_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes a 64-bit value takes. */
#define LS_UV_MAX	10

/* How many bytes v takes: 7 bits a byte. */
static inline unsigned
ls_uv_len(uint64_t v)
{
	return v != 0 ? (unsigned)(70 - __builtin_clzll(v)) / 7 : 1;
}

/* Write v at out (ls_uv_len(v) bytes); returns the length. */
static inline unsigned
ls_uv_put(uint8_t *out, uint64_t v)
{
	unsigned n = ls_uv_len(v), i;

	for (i = 0; i + 1 < n; i++, v >>= 7)
		out[i] = (uint8_t)(v | 0x80);
	out[i] = (uint8_t)v;
	return n;
}

/*
 * Write v in exactly n bytes (n >= ls_uv_len(v)), continuation bits set on
 * all but the last: a placeholder filled in later without moving what
 * follows.  Readers see the same value as from ls_uv_put().
 */
static inline void
ls_uv_put_padded(uint8_t *out, uint64_t v, unsigned n)
{
	unsigned i;

	for (i = 0; i + 1 < n; i++, v >>= 7)
		out[i] = (uint8_t)(0x80 | (v & 0x7f));
	out[i] = (uint8_t)(v & 0x7f);
}

/*
 * Read a value from *p, not past end, and move *p past it.  False, with *p
 * left where it was, if the bytes end first or the value needs more than
 * 64 bits.
 */
static inline bool
ls_uv_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	const uint8_t *c = *p;
	uint64_t v = 0;
	unsigned shift = 0;

	while (c < end) {
		uint8_t byte = *c++;

		if (shift == 63 && (byte & 0x7e) != 0)
			return false;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*p = c;
			*out = v;
			return true;
		}
		shift += 7;
		if (shift > 63)
			return false;
	}
	return false;
}

/*
 * Read a value leakspy wrote itself into its own memory (no bound: the
 * code is known to be well formed), moving *p past it.  Hot path.
 */
static inline uint64_t
ls_uv_get_own(const uint8_t **p)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		byte = *(*p)++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	return v;
}

/*
 * Is the value coded at *p equal to v?  Compares byte by byte with the
 * code v would have, without decoding (a value under 128 is a one-byte
 * compare), and moves *p past the code when it is.  Hot path.
 */
static inline bool
ls_uv_match(const uint8_t **p, uint64_t v)
{
	const uint8_t *c = *p;

	for (; v > 0x7f; v >>= 7)
		if (*c++ != (uint8_t)(v | 0x80))
			return false;
	if (*c++ != (uint8_t)v)
		return false;
	*p = c;
	return true;
}

/* A signed difference as an unsigned code, small magnitudes small:
 * 0, -1, 1, -2 ... as 0, 1, 2, 3 ... */
static inline uint64_t
ls_zigzag(uint64_t d)
{
	return d << 1 ^ (0 - (d >> 63));
}

/* The difference ls_zigzag() coded, as the two's complement it was. */
static inline uint64_t
ls_unzigzag(uint64_t z)
{
	return (z >> 1) ^ (0 - (z & 1));
}

/*
 * DWARF's signed LEB128: read from *p, not past end, sign-extended from
 * the last byte's bit 6.  False, *p left where it was, as ls_uv_get().
 */
static inline bool
ls_sv_get(const uint8_t **p, const uint8_t *end, int64_t *out)
{
	const uint8_t *c = *p;
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		if (c >= end || shift > 63)
			return false;
		byte = *c++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	if (shift < 64 && (byte & 0x40))
		v |= ~(uint64_t)0 << shift;
	*p = c;
	*out = (int64_t)v;
	return true;
}

#endif /* LS_LEB128_H */
