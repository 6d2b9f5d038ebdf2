/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the dump reader: parse, group the last snapshot
 * (without symbolization: every module is marked unavailable), build each
 * site's series and ages, and fold everything into a checksum so that no
 * read can be optimized away.  Build with -Dfuzz=true and clang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "lsr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned seed);

/*
 * Mutate, then make every record's length fit and its CRC right again,
 * so that mutations reach the payload parsers instead of dying at the
 * checksum.  (Plain mutations, kept by libFuzzer too, test the checksum.)
 */
size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned seed)
{
	size_t off = 15;

	size = LLVMFuzzerMutate(data, size, max);
	if ((seed & 7) == 0 || size < off)
		return size;
	while (off + LS_REC_HDR + LS_REC_TRAILER <= size) {
		uint32_t len = (uint32_t)data[off + 4] |
		    (uint32_t)data[off + 5] << 8 |
		    (uint32_t)data[off + 6] << 16 |
		    (uint32_t)data[off + 7] << 24, crc;
		size_t room = size - off - LS_REC_HDR - LS_REC_TRAILER;

		if (len > room) {
			len = (uint32_t)room;
			data[off + 4] = (uint8_t)len;
			data[off + 5] = (uint8_t)(len >> 8);
			data[off + 6] = (uint8_t)(len >> 16);
			data[off + 7] = (uint8_t)(len >> 24);
		}
		data[off + 2] = data[off + 3] = 0;
		crc = ls_crc32(0, data + off, LS_REC_HDR + len);
		off += LS_REC_HDR + len;
		data[off] = (uint8_t)crc;
		data[off + 1] = (uint8_t)(crc >> 8);
		data[off + 2] = (uint8_t)(crc >> 16);
		data[off + 3] = (uint8_t)(crc >> 24);
		off += LS_REC_TRAILER;
	}
	return size;
}

static volatile uint64_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lsr_dump d;
	struct lsr_report r;
	uint64_t sum = 0;
	size_t i, k;

	memset(&d, 0, sizeof(d));
	d.path = "fuzz";
	lsr_parse(data, size, &d);
	for (i = 0; i < d.nmodules; i++)
		d.modules[i].sym_state = -1;	/* never touch the disk */
	if (d.nsnaps > 0) {
		size_t from = d.nsnaps > 1 ? 0 : SIZE_MAX;

		lsr_group(&d, d.nsnaps - 1, from, size & 1 ? LSR_BY_THREAD : 0,
		    &r);
		for (i = 0; i < r.nsites; i++) {
			struct lsr_point *p = calloc(r.snap + 1, sizeof(*p));
			struct lsr_epoch_live *v;
			size_t n;

			if (p == NULL)
				abort();
			lsr_site_series(&r, &r.sites[i], p);
			for (k = 0; k <= r.snap; k++)
				sum += p[k].bytes + p[k].blocks;
			free(p);
			lsr_site_age_profile(&r, &r.sites[i]);
			n = lsr_site_ages(&r, &r.sites[i], r.snap, &v);
			for (k = 0; k < n; k++)
				sum += v[k].blocks ^ v[k].bytes;
			free(v);
			sum += r.sites[i].growth.verdict + r.sites[i].v.live_bytes;
		}
		sum += r.totals.live_bytes + r.new_bytes;
		lsr_report_fini(&r);
	}
	sink = sum;
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return 0;
}
