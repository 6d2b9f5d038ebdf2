/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for leakspy-report: parse a dump, group one of its
 * snapshots (with or without --diff and --by-thread, as the input's
 * checksum picks), render it as text and as JSON into memory, and abort
 * if the JSON is not one valid value.  Symbolization is left out: every
 * module is marked unavailable, so nothing named in the input is opened.
 *
 * The custom mutator works on records: it mutates one record's payload
 * (bytes, or one varint set to a value that tests bounds), or copies,
 * drops, swaps or retypes whole records, and repairs the lengths and
 * CRCs it touched, so that mutations reach the payload parsers instead
 * of dying at the checksum.  One mutation in eight is libFuzzer's own,
 * unrepaired, to test the framing itself.  Build with -Dfuzz=true and
 * clang.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hash.h"
#include "json_check.h"
#include "lsr.h"
#include "out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned seed);

#define HEAD		15	/* "leakspy-dump 1\n" */
#define MAX_RECS	4096
#define MAX_UVS		512
#define REC_MIN		(LS_REC_HDR + LS_REC_TRAILER)

/* Set the length and CRC of the record at rec with payload length n. */
static void
seal(uint8_t *rec, uint32_t n)
{
	ls_put32(rec + 4, n);
	ls_put32(rec + LS_REC_HDR + n, ls_crc32(0, rec, LS_REC_HDR + n));
}

/* xorshift32: the mutator's choices, from libFuzzer's seed. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Offsets of the whole records of data (at most max); how many. */
static size_t
records(const uint8_t *data, size_t size, size_t *off, size_t max)
{
	size_t o = HEAD, n = 0;

	while (n < max && size - o >= REC_MIN &&
	    ls_get32(data + o + 4) <= size - o - REC_MIN) {
		off[n++] = o;
		o += REC_MIN + ls_get32(data + o + 4);
	}
	return n;
}

/*
 * Give the record at off the payload np[0..nn-1], moving what follows.
 * Returns the new size, or 0 if it would not fit in max.
 */
static size_t
set_payload(uint8_t *data, size_t size, size_t max, size_t off,
    const uint8_t *np, size_t nn)
{
	size_t old_end = off + REC_MIN + ls_get32(data + off + 4);
	size_t new_end = off + REC_MIN + nn;

	if (nn > UINT32_MAX || size - old_end + new_end > max)
		return 0;
	memmove(data + new_end, data + old_end, size - old_end);
	memcpy(data + off + LS_REC_HDR, np, nn);
	seal(data + off, (uint32_t)nn);
	return size - old_end + new_end;
}

/* A value that tests a bound: of counts, ids, lengths, enums. */
static uint64_t
interesting(uint32_t *s, uint64_t was)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 63, 64, 65, 127, 128, 255,
		256, 4095, 4096, 4097, 0xffff, 0x10000, 0x7fffffff,
		0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
		0x8000000000000000ull, 0xffffffffffffffffull,
	};
	uint32_t r = rnd(s) % (sizeof(v) / sizeof(v[0]) + 4);

	switch ((int)r - (int)(sizeof(v) / sizeof(v[0]))) {
	case 0:
		return was + 1;
	case 1:
		return was - 1;
	case 2:
		return was * 2;
	case 3:
		return was ^ (1ull << (rnd(s) % 64));
	}
	return v[r];
}

/* Set one varint of payload p[0..n-1] to an interesting value; the new
 * payload goes to out (n + 10 bytes at most).  Returns its length. */
static size_t
mutate_uv(const uint8_t *p, size_t n, uint8_t *out, uint32_t *s)
{
	size_t at[MAX_UVS], len[MAX_UVS], k = 0, i = 0, o, pick;
	uint64_t v = 0;
	unsigned shift;

	while (i < n && k < MAX_UVS) {
		at[k] = i;
		for (v = 0, shift = 0; i < n; i++, shift += 7) {
			if (shift < 64)
				v |= (uint64_t)(p[i] & 0x7f) << shift;
			if (!(p[i] & 0x80)) {
				i++;
				break;
			}
		}
		len[k] = i - at[k];
		k++;
	}
	if (k == 0)
		return 0;
	pick = rnd(s) % k;
	/* Decode the picked one again for its value. */
	for (v = 0, shift = 0, i = at[pick]; i < at[pick] + len[pick];
	    i++, shift += 7)
		if (shift < 64)
			v |= (uint64_t)(p[i] & 0x7f) << shift;
	v = interesting(s, v);
	memcpy(out, p, at[pick]);
	o = at[pick];
	do {
		out[o++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	memcpy(out + o, p + at[pick] + len[pick], n - at[pick] - len[pick]);
	return o + n - at[pick] - len[pick];
}

/* Copy, drop, swap or retype whole records.  Returns the new size, or
 * 0 if nothing was done. */
static size_t
mutate_records(uint8_t *data, size_t size, size_t max, const size_t *off,
    size_t n, uint32_t *s)
{
	static const uint16_t types[] = {
		LS_REC_PROCESS, LS_REC_MODULE, LS_REC_MODULE_GONE,
		LS_REC_STACKS, LS_REC_SNAPSHOT, LS_REC_SITES,
		LS_REC_SNAPSHOT_END, LS_REC_FINAL, LS_REC_AGES, LS_REC_NOTE,
		LS_REC_THREADS, LS_REC_STACK_THREADS, LS_REC_LOST, 0x8077,
	};
	size_t k = rnd(s) % n, a = off[k];
	size_t len = REC_MIN + ls_get32(data + a + 4), next;
	uint16_t type;
	uint8_t *tmp;

	switch (rnd(s) % 4) {
	case 0:	/* copy the record after itself */
		if (size + len > max)
			return 0;
		memmove(data + a + len, data + a, size - a);
		return size + len;
	case 1:	/* drop it */
		memmove(data + a, data + a + len, size - a - len);
		return size - len;
	case 2:	/* swap it with the next */
		if (k + 1 >= n)
			return 0;
		next = REC_MIN + ls_get32(data + off[k + 1] + 4);
		tmp = malloc(len);
		if (tmp == NULL)
			return 0;
		memcpy(tmp, data + a, len);
		memmove(data + a, data + a + len, next);
		memcpy(data + a + next, tmp, len);
		free(tmp);
		return size;
	default:	/* give it another type */
		type = types[rnd(s) % (sizeof(types) / sizeof(types[0]))];
		data[a] = (uint8_t)type;
		data[a + 1] = (uint8_t)(type >> 8);
		seal(data + a, ls_get32(data + a + 4));
		return size;
	}
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned seed)
{
	static size_t off[MAX_RECS];
	uint32_t s = seed | 1;
	size_t n, k, plen, r, nn, room;
	uint8_t *buf;

	n = size >= HEAD + REC_MIN ? records(data, size, off, MAX_RECS) : 0;
	if (n == 0 || rnd(&s) % 8 == 0)
		return LLVMFuzzerMutate(data, size, max);
	r = rnd(&s) % 8;
	if (r == 0) {
		nn = mutate_records(data, size, max, off, n, &s);
		return nn ? nn : LLVMFuzzerMutate(data, size, max);
	}
	k = rnd(&s) % n;
	plen = ls_get32(data + off[k] + 4);
	/* The most the payload may grow to. */
	room = max - (size - plen - REC_MIN) - REC_MIN;
	buf = malloc(plen + room + 16);
	if (buf == NULL)
		return size;
	if (r < 4 || plen == 0) {
		/* libFuzzer's byte mutations, inside one payload. */
		memcpy(buf, data + off[k] + LS_REC_HDR, plen);
		nn = LLVMFuzzerMutate(buf, plen, room);
	} else {
		nn = mutate_uv(data + off[k] + LS_REC_HDR, plen, buf, &s);
	}
	nn = set_payload(data, size, max, off[k], buf, nn);
	free(buf);
	return nn ? nn : size;
}

/* Render with out into memory (malloc'd, *len bytes); abort if the
 * stream fails. */
static char *
render(void (*out)(FILE *, struct lsr_report *, const struct lsr_out_opts *),
    struct lsr_report *r, const struct lsr_out_opts *o, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f == NULL)
		abort();
	out(f, r, o);
	if (fclose(f) != 0)
		abort();
	return buf;
}

/* Render as JSON into memory; abort unless it is one valid value. */
static void
check_json(struct lsr_report *r, const struct lsr_out_opts *o)
{
	size_t len, where;
	const char *why;
	char *out = render(lsr_out_json, r, o, &len);

	if (!lst_json_valid(out, len, &where, &why)) {
		fprintf(stderr, "invalid JSON at byte %zu: %s\n%.*s\n", where,
		    why, (int)(len - where < 200 ? len - where : 200),
		    out + where);
		abort();
	}
	free(out);
}

static void
render_text(struct lsr_report *r, const struct lsr_out_opts *o)
{
	size_t len;

	free(render(lsr_out_text, r, o, &len));
}

/* The HTML page: its data is valid JSON with no '<' in it, so that
 * nothing in a dump can end the script element or open another. */
static void
check_html(struct lsr_report *r, const struct lsr_out_opts *o,
    const struct lsr_check *c)
{
	static const char open[] = "<script type=\"application/json\" "
	    "id=\"lsp-data\">\n", close[] = "\n</script>";
	size_t len, where;
	const char *why;
	char *out = NULL, *a, *b;
	FILE *f = open_memstream(&out, &len);

	lsr_html_page(f, r, o, c);
	fclose(f);
	a = strstr(out, open);
	if (a == NULL || (b = strstr(a += strlen(open), close)) == NULL ||
	    memchr(a, '<', (size_t)(b - a)) != NULL)
		abort();
	if (!lst_json_valid(a, (size_t)(b - a), &where, &why)) {
		fprintf(stderr, "invalid page JSON at byte %zu: %s\n", where,
		    why);
		abort();
	}
	free(out);
}

/* The leak gate on d, with every kind looked for, a rule and a budget
 * that may match, and each format; its JSON must be valid. */
static void
check_gate(struct lsr_dump *d, uint32_t h)
{
	static void (*const outs[])(FILE *, const struct lsr_check *) = {
		lsr_check_text, lsr_check_junit, lsr_check_lsan,
	};
	struct lsr_check c = { 0 };
	struct lsr_out_opts o = { 0, LSR_W_BYTES };
	struct lsr_report r;
	size_t len, where, i;
	const char *why;
	char *out;
	FILE *f;

	c.o.fail_on = (1u << LSR_K_COUNT) - 1;
	c.o.max_rate = (h >> 4) & 1 ? 0 : 100;
	lsr_rules_builtin(&c);
	lsr_check_parsed(&c, d);
	lsr_check_judge(&c);
	for (i = 0; i < c.nfindings; i++)
		if (lsr_finding_fails(&c, &c.findings[i])) {
			f = open_memstream(&out, &len);
			lsr_rules_generate(f, &c, &c.findings[i]);
			fclose(f);
			free(out);
		}
	for (i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		f = open_memstream(&out, &len);
		outs[i](f, &c);
		fclose(f);
		free(out);
	}
	f = open_memstream(&out, &len);
	lsr_check_json(f, &c);
	fclose(f);
	if (!lst_json_valid(out, len, &where, &why)) {
		fprintf(stderr, "invalid check JSON at byte %zu: %s\n", where,
		    why);
		abort();
	}
	free(out);
	f = open_memstream(&out, &len);
	lsr_check_sarif(f, &c);
	fclose(f);
	if (!lst_json_valid(out, len, &where, &why)) {
		fprintf(stderr, "invalid SARIF at byte %zu: %s\n", where, why);
		abort();
	}
	free(out);
	lsr_group(d, d->nsnaps ? d->nsnaps - 1 : SIZE_MAX, SIZE_MAX, 0, &r);
	check_html(&r, &o, &c);
	lsr_report_fini(&r);
	lsr_check_fini(&c);
}

/* Each line's counts: digits after its last spaces, counts of them. */
static bool
counts_end(const char *ln, const char *end, unsigned counts)
{
	while (counts-- > 0) {
		const char *p = end;

		while (p > ln && p[-1] >= '0' && p[-1] <= '9')
			p--;
		if (p == end || p == ln || p[-1] != ' ')
			return false;
		end = p - 1;
	}
	return end > ln;
}

/* Folded stacks: names without ';' runs, then one or two counts; brief
 * lines: bytes, a space, file:line:function. */
static void
check_lines(struct lsr_report *r, const struct lsr_out_opts *o)
{
	unsigned counts = r->from != SIZE_MAX && o->weight != LSR_W_WINDOW ?
	    2 : 1;
	size_t len;
	char *out = render(lsr_out_collapsed, r, o, &len), *ln, *nl;

	for (ln = out; *ln != '\0'; ln = nl + 1) {
		if ((nl = strchr(ln, '\n')) == NULL || *ln == ';' ||
		    memmem(ln, (size_t)(nl - ln), ";;", 2) != NULL ||
		    !counts_end(ln, nl, counts))
			abort();
	}
	free(out);
	out = render(lsr_out_brief, r, o, &len);
	for (ln = out; *ln != '\0'; ln = nl + 1)
		if ((nl = strchr(ln, '\n')) == NULL || *ln < '1' || *ln > '9' ||
		    memchr(ln, ' ', (size_t)(nl - ln)) == NULL)
			abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t tops[] = { 0, 1, 2, 20 };
	struct lsr_out_opts o;
	struct lsr_dump d;
	struct lsr_report r;
	uint32_t h = ls_crc32(0, data, size);
	size_t i, k = SIZE_MAX, from = SIZE_MAX, len;

	memset(&d, 0, sizeof(d));
	d.path = "fuzz";
	lsr_parse(data, size, &d);
	for (i = 0; i < d.nmodules; i++)
		d.modules[i].sym_state = -1;	/* never touch the disk */
	/* Mostly the last snapshot, as by default; a diff one time in
	 * four, as with --diff A..B. */
	if (d.nsnaps > 0) {
		k = h & 1 ? d.nsnaps - 1 : (h >> 1) % d.nsnaps;
		if (k > 0 && ((h >> 8) & 3) == 0)
			from = (h >> 10) % k;
	}
	o.top = tops[(h >> 20) & 3];
	o.weight = (h >> 12) % (from != SIZE_MAX ? 3 : 2);
	lsr_group(&d, k, from, ((h >> 24) & 1 ? LSR_BY_THREAD : 0) |
	    ((h >> 25) & 1 ? LSR_KEEP_LIVE : 0), &r);
	render_text(&r, &o);
	check_json(&r, &o);
	check_lines(&r, &o);
	free(render(lsr_out_pprof, &r, &o, &len));
	check_html(&r, &o, NULL);
	if (d.incomplete && strlen(lsr_incomplete_why(&d)) == 0)
		abort();
	lsr_report_fini(&r);
	/* The gate one time in four. */
	if (((h >> 28) & 3) == 0)
		check_gate(&d, h);
	lsr_symbolize_fini(&d);
	lsr_dump_fini(&d);
	return 0;
}
