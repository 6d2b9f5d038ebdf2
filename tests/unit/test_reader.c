/* SPDX-License-Identifier: MIT */
/*
 * The reader against damaged dumps: a real dump cut at every offset and
 * with every bit flipped in turn (up to a bound).  Each must parse without
 * a crash (this test is built with ASan and UBSan), and none may pass for
 * a complete dump.  Then every bit of every record's payload is flipped
 * with the record's CRC made right again, so that the field checks see
 * it: such a dump may well be whole, but it must be read, grouped and
 * rendered as text and JSON without a crash.  Usage: test_reader DUMP
 */
#define _GNU_SOURCE
#include <err.h>
#include <stdlib.h>

#include "hash.h"
#include "lsr.h"
#include "lst.h"

int lst_failures;

#define MAX_FLIP_BYTES 8192
#define MAX_PAYLOAD_FLIPS 2048	/* bytes: each costs 8 renders */
#define MAGIC_LEN 15	/* "leakspy-dump 1\n" */

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

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Render r as text and JSON into memory; return the bytes written. */
static size_t
render(struct lsr_report *r)
{
	struct lsr_out_opts o = { .top = 0 };
	char *out = NULL;
	size_t len = 0, total = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		err(99, "open_memstream");
	lsr_out_text(f, r, &o);
	fflush(f);
	total += len;
	lsr_out_json(f, r, &o);
	if (fclose(f) != 0)
		err(99, "fclose");
	total += len;
	free(out);
	return total;
}

/* Parse, group the last snapshot (and a diff from the first) and render,
 * without symbolization (modules are marked unavailable). */
static size_t
parse_render(const uint8_t *data, size_t n)
{
	struct lsr_dump d;
	struct lsr_report r;
	size_t k, total = 0;

	memset(&d, 0, sizeof(d));
	d.path = "test";
	lsr_parse(data, n, &d);
	for (k = 0; k < d.nmodules; k++)
		d.modules[k].sym_state = -1;
	k = d.nsnaps ? d.nsnaps - 1 : SIZE_MAX;
	lsr_group(&d, k, SIZE_MAX, 0, &r);
	total += render(&r);
	lsr_report_fini(&r);
	if (d.nsnaps > 1) {
		lsr_group(&d, k, 0, LSR_BY_THREAD, &r);
		total += render(&r);
		lsr_report_fini(&r);
	}
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return total;
}

/* Flip every bit of every payload byte (up to max bytes), each time with
 * the record's CRC made right.  Returns how many bytes. */
static size_t
flip_payloads(const uint8_t *data, size_t n, size_t max)
{
	uint8_t *copy = malloc(n);
	size_t off = MAGIC_LEN, done = 0, i, out = 0;
	unsigned bit;

	if (copy == NULL)
		err(99, "malloc");
	while (off + 12 <= n && done < max) {
		uint32_t len = get32(data + off + 4), crc;

		if (len > n - off - 12)
			break;
		for (i = 0; i < len && done < max; i++, done++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(copy, data, n);
				copy[off + 8 + i] ^= (uint8_t)(1u << bit);
				crc = ls_crc32(0, copy + off, 8 + len);
				memcpy(copy + off + 8 + len, &crc, 4);
				out += parse_render(copy, n);
			}
		}
		off += 12 + len;
	}
	free(copy);
	if (out == 0)
		LST_FAIL("nothing rendered");
	return done;
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
	LST_TRUE(parse_render(data, n) > 0);
	i = flip_payloads(data, n, MAX_PAYLOAD_FLIPS);
	free(data);
	printf("%zu cuts, %zu bytes with every bit flipped, %zu payload bytes "
	    "with every bit flipped and the CRC right\n", cuts,
	    n < MAX_FLIP_BYTES ? n : (size_t)MAX_FLIP_BYTES, i);
	return LST_DONE();
}
