/* SPDX-License-Identifier: MIT */
/*
 * The reader against damaged dumps: a real dump cut at every offset and
 * with every bit flipped in turn (up to a bound).  Each must parse without
 * a crash (this test is built with ASan and UBSan), and none may pass for
 * a complete dump.  Usage: test_reader DUMP
 */
#define _GNU_SOURCE
#include <err.h>
#include <stdlib.h>

#include "lsr.h"
#include "lst.h"

int lst_failures;

#define MAX_FLIP_BYTES 8192

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
		err(99, "%s", path);
	rewind(f);
	p = malloc((size_t)len + 1);
	if (p == NULL || fread(p, 1, (size_t)len, f) != (size_t)len)
		err(99, "%s", path);
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* Parse and use everything parsed, so nothing can be optimized away. */
static bool
parse_complete(const uint8_t *data, size_t n, size_t *nsnaps)
{
	struct lsr_dump d;
	struct lsr_vals *v;
	uint64_t sum = 0;
	bool complete;
	size_t k;

	memset(&d, 0, sizeof(d));
	d.path = "test";
	lsr_parse(data, n, &d);
	complete = d.error == NULL && !d.incomplete;
	*nsnaps = d.nsnaps;
	if (d.nsnaps > 0) {
		v = lsr_state_at(&d, d.nsnaps - 1);
		for (k = 0; k < d.nstacks; k++)
			sum += v[k].live_bytes + d.stacks[k].nframes;
		free(v);
	}
	for (k = 0; k < d.nmodules; k++)
		sum += strlen(d.modules[k].path);
	if (sum == 1)
		fprintf(stderr, "?");
	lsr_dump_fini(&d);
	return complete;
}

int
main(int argc, char **argv)
{
	size_t n, i, snaps, full_snaps, cuts = 0;
	uint8_t *data, *copy;
	unsigned bit;

	if (argc != 2)
		errx(99, "usage: test_reader DUMP");
	data = slurp(argv[1], &n);
	LST_TRUE(parse_complete(data, n, &full_snaps));
	LST_TRUE(full_snaps >= 2);

	for (i = 0; i < n; i++) {
		copy = malloc(i ? i : 1);
		memcpy(copy, data, i);
		if (parse_complete(copy, i, &snaps))
			LST_FAIL("a dump cut at %zu of %zu passed as complete",
			    i, n);
		if (snaps > full_snaps)
			LST_FAIL("cut at %zu: more snapshots than the whole",
			    i);
		cuts++;
		free(copy);
	}
	copy = malloc(n);
	for (i = 0; i < n && i < MAX_FLIP_BYTES; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(copy, data, n);
			copy[i] ^= (uint8_t)(1u << bit);
			if (parse_complete(copy, n, &snaps))
				LST_FAIL("bit %u of byte %zu flipped: passed "
				    "as complete", bit, i);
		}
	}
	free(copy);
	free(data);
	printf("%zu cuts, %zu bytes with every bit flipped\n", cuts,
	    n < MAX_FLIP_BYTES ? n : (size_t)MAX_FLIP_BYTES);
	return LST_DONE();
}
