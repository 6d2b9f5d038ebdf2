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

/* Slicing-by-8: table[j][b] is the crc of byte b followed by j zeros. */
static uint32_t table[8][256];
static int ready;	/* benign race: every writer stores the same */

static void
build(void)
{
	unsigned i, j;

	for (i = 0; i < 256; i++)
		table[0][i] = crc_byte(i);
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			table[j][i] = (table[j - 1][i] >> 8) ^
			    table[0][table[j - 1][i] & 0xff];
	__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
}

uint32_t
ls_crc32(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
		build();
	crc = ~crc;
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);

		crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^
		    table[0][p[7]];
	}
	while (n-- > 0)
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
