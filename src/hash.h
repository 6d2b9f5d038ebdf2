/* SPDX-License-Identifier: MIT */
/*
 * Hashing: CRC-32 for dump records, a fast mix for stacks and pointers.
 */
#ifndef LS_HASH_H
#define LS_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32 (IEEE 802.3, reflected, as zlib's crc32()) of n bytes, continuing
 * from crc (0 to start).  Async-signal-safe.
 */
uint32_t ls_crc32(uint32_t crc, const void *buf, size_t n);

/* 64-bit hash of n 8-byte words at p (a stack's code, padded with
 * zeros) plus a tag, in two lanes, so that one word's multiply does not
 * wait for the last one's.  Hot path. */
static inline uint64_t
ls_hash_words(const uint8_t *p, size_t n, uint64_t tag)
{
	uint64_t a = 0x9e3779b97f4a7c15ull ^ (tag * 0xff51afd7ed558ccdull) ^ n;
	uint64_t b = 0xc2b2ae3d27d4eb4full, w, x;
	size_t i;

	for (i = 0; i + 2 <= n; i += 2) {
		__builtin_memcpy(&w, p + 8 * i, 8);
		__builtin_memcpy(&x, p + 8 * i + 8, 8);
		a = (a ^ w) * 0xc4ceb9fe1a85ec53ull;
		b = (b ^ x) * 0x9e3779b97f4a7c15ull;
		a ^= a >> 29;
		b ^= b >> 31;
	}
	if (i < n) {
		__builtin_memcpy(&w, p + 8 * i, 8);
		a = (a ^ w) * 0xc4ceb9fe1a85ec53ull;
		a ^= a >> 29;
	}
	a ^= b * 0xff51afd7ed558ccdull;
	a ^= a >> 32;
	return a;
}

/* Hash of a block address; heap addresses are 16-byte aligned.  Hot path. */
static inline uint64_t
ls_hash_ptr(uintptr_t p)
{
	uint64_t h = (uint64_t)p >> 4;

	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

#endif /* LS_HASH_H */
