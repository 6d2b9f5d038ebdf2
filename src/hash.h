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

/* 64-bit hash of a frame array plus a tag.  Hot path. */
static inline uint64_t
ls_hash_frames(const uintptr_t *f, unsigned n, uint64_t tag)
{
	/* Two lanes, the even frames and the odd, so that the multiplies
	 * of one frame do not wait for those of the frame before. */
	uint64_t a = 0x9e3779b97f4a7c15ull ^ (tag * 0xff51afd7ed558ccdull) ^ n;
	uint64_t b = 0xc2b2ae3d27d4eb4full;
	unsigned i;

	for (i = 0; i + 1 < n; i += 2) {
		a = (a ^ (uint64_t)f[i]) * 0xc4ceb9fe1a85ec53ull;
		b = (b ^ (uint64_t)f[i + 1]) * 0x9e3779b97f4a7c15ull;
		a ^= a >> 29;
		b ^= b >> 31;
	}
	if (i < n)
		a = (a ^ (uint64_t)f[i]) * 0xc4ceb9fe1a85ec53ull;
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
