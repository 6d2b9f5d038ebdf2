/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 for dump records.  The table is built on first use without a
 * lock: every thread that races to build it stores the same values.
 */
#include "hash.h"

static uint32_t
crc_byte(uint32_t c)
{
	int k;

	for (k = 0; k < 8; k++)
		c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
	return c;
}

uint32_t
ls_crc32(uint32_t crc, const void *buf, size_t n)
{
	static uint32_t table[256];
	static int ready;	/* benign race: every writer stores the same */
	const unsigned char *p = buf;
	size_t i;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < 256; i++)
			table[i] = crc_byte((uint32_t)i);
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	crc = ~crc;
	for (i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}
