/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/: record encoding round trips, the crc, the header
 * check, the settings parsers, the arena and the fixed-buffer formatter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "arena.h"
#include "dump.h"
#include "fmt.h"
#include "hash.h"
#include "leb128.h"
#include "lst.h"
#include "settings.h"

int lst_failures;

static int
grow(struct ls_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 16;
	void *p;

	while (cap - b->len < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static void
test_crc(void)
{
	/* The standard check value of CRC-32/ISO-HDLC. */
	LST_EQ_U64(ls_crc32(0, "123456789", 9), 0xcbf43926u);
	LST_EQ_U64(ls_crc32(ls_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	LST_EQ_U64(ls_crc32(0, "", 0), 0);
}

/* The exact bytes of varints, and that a fixed buffer takes a value
 * that just fits and refuses one byte more. */
static void
test_varint_bytes(void)
{
	static const uint8_t want[] = {
		0x00, 0x7f, 0x80, 0x01, 0x80, 0x80, 0x01,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};
	uint8_t fixed[3];
	struct ls_buf b = { .grow_fn = grow };
	struct ls_buf f = { .p = fixed, .cap = sizeof(fixed) };

	ls_buf_uv(&b, 0);
	ls_buf_uv(&b, 127);
	ls_buf_uv(&b, 128);
	ls_buf_uv(&b, 16384);
	ls_buf_uv(&b, UINT64_MAX);
	LST_TRUE(!b.err);
	LST_EQ_U64(b.len, sizeof(want));
	LST_TRUE(memcmp(b.p, want, sizeof(want)) == 0);
	free(b.p);

	ls_buf_uv(&f, 16384);
	LST_TRUE(!f.err);
	LST_EQ_U64(f.len, 3);
	LST_TRUE(memcmp(fixed, want + 4, 3) == 0);
	ls_buf_uv(&f, 0);
	LST_TRUE(f.err);
	LST_EQ_U64(f.len, 3);
}

static void
test_roundtrip(void)
{
	static const uint64_t vals[] = {
		0, 1, 127, 128, 255, 16383, 16384, UINT32_MAX,
		(uint64_t)1 << 63, UINT64_MAX,
	};
	struct ls_buf b = { .grow_fn = grow };
	struct ls_rec rec;
	const char *why = NULL;
	size_t off, i, n;
	size_t r;
	const char *s;

	ls_dump_header(&b);
	r = ls_rec_begin(&b, LS_REC_NOTE);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ls_buf_uv(&b, vals[i]);
	ls_buf_str(&b, "hello", 5);
	ls_rec_end(&b, r);
	r = ls_rec_begin(&b, LS_REC_FINAL);
	ls_rec_end(&b, r);
	LST_TRUE(!b.err);

	off = ls_dump_check_header(b.p, b.len, &why);
	LST_EQ_U64(off, 15);
	LST_EQ_U64(ls_dump_next(b.p, b.len, &off, &rec, &why), 1);
	LST_EQ_U64(rec.type, LS_REC_NOTE);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		LST_EQ_U64(ls_cur_uv(&rec.body), vals[i]);
	s = ls_cur_str(&rec.body, &n);
	LST_EQ_U64(n, 5);
	LST_TRUE(s != NULL && memcmp(s, "hello", 5) == 0);
	LST_TRUE(!rec.body.err);
	ls_cur_uv(&rec.body);
	LST_TRUE(rec.body.err);		/* read past the end */
	LST_EQ_U64(ls_dump_next(b.p, b.len, &off, &rec, &why), 1);
	LST_EQ_U64(rec.type, LS_REC_FINAL);
	LST_EQ_U64(ls_dump_next(b.p, b.len, &off, &rec, &why), 0);

	/* Every cut inside the last record is reported, never read. */
	for (n = 15 + 1; n < b.len; n++) {
		size_t o = 15;
		int res;

		while ((res = ls_dump_next(b.p, n, &o, &rec, &why)) == 1)
			;
		LST_TRUE(res == -1 || o == n);
	}
	/* A flipped bit fails the crc. */
	b.p[15 + LS_REC_HDR + 2] ^= 4;	/* a payload byte */
	off = 15;
	LST_EQ_U64(ls_dump_next(b.p, b.len, &off, &rec, &why), (uint64_t)-1);
	LST_EQ_STR(why, "record checksum mismatch");
	free(b.p);
}

/* A counted record's count, filled in once its entries are written, reads
 * as any uv: small and large counts, and a large index before it. */
static void
test_counted(void)
{
	static const uint32_t counts[] = { 0, 1, 127, 128, 2048, UINT32_MAX };
	struct ls_buf b = { .grow_fn = grow };
	struct ls_rec rec;
	const char *why = NULL;
	size_t off, i, r;

	ls_dump_header(&b);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		r = ls_rec_begin_counted(&b, LS_REC_SITES, 300000 + i);
		ls_buf_uv(&b, 42);
		ls_rec_end_counted(&b, r, counts[i]);
	}
	LST_TRUE(!b.err);
	off = ls_dump_check_header(b.p, b.len, &why);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		LST_EQ_U64(ls_dump_next(b.p, b.len, &off, &rec, &why), 1);
		LST_EQ_U64(rec.type, LS_REC_SITES);
		LST_EQ_U64(ls_cur_uv(&rec.body), 300000 + i);
		LST_EQ_U64(ls_cur_uv(&rec.body), counts[i]);
		LST_EQ_U64(ls_cur_uv(&rec.body), 42);
		LST_TRUE(!rec.body.err && rec.body.p == rec.body.end);
	}
	free(b.p);
}

static void
test_header(void)
{
	const char *why = NULL;

	LST_EQ_U64(ls_dump_check_header("", 0, &why), 0);
	LST_EQ_STR(why, "empty file");
	LST_EQ_U64(ls_dump_check_header("leakspy-dump 2\n", 15, &why), 0);
	LST_EQ_STR(why, "unsupported dump version (this reader knows 1)");
	LST_EQ_U64(ls_dump_check_header("leakspy-dump 1", 14, &why), 0);
	LST_EQ_STR(why, "first line cut short");
	LST_EQ_U64(ls_dump_check_header("ELF\x7f", 4, &why), 0);
	LST_EQ_STR(why, "not a leakspy dump (bad first line)");
}

static void
test_uv_overflow(void)
{
	static const uint8_t eleven[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x01 };
	static const uint8_t big10[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x02 };
	struct ls_cur c = { eleven, eleven + sizeof(eleven), 0 };

	ls_cur_uv(&c);
	LST_TRUE(c.err);
	c = (struct ls_cur){ big10, big10 + sizeof(big10), 0 };
	ls_cur_uv(&c);
	LST_TRUE(c.err);
}

/* src/leb128.h beyond the dump's uv fields: every boundary value through
 * put, get, get_own and match; the padded form; zigzag; DWARF's sleb. */
static void
test_leb128(void)
{
	static const uint64_t vals[] = { 0, 1, 63, 64, 127, 128, 16383,
	    16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX };
	static const int64_t svals[] = { 0, 1, -1, 63, -64, 64, -65,
	    INT64_MAX, INT64_MIN };
	uint8_t buf[LS_UV_MAX + 1];
	const uint8_t *p;
	uint64_t v = 0;
	int64_t sv = 0;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		unsigned n = ls_uv_put(buf, vals[i]);

		LST_EQ_U64(n, ls_uv_len(vals[i]));
		p = buf;
		LST_TRUE(ls_uv_get(&p, buf + n, &v));
		LST_EQ_U64(v, vals[i]);
		LST_EQ_U64(p - buf, n);
		p = buf;
		LST_TRUE(!ls_uv_get(&p, buf + n - 1, &v));	/* cut short */
		LST_TRUE(p == buf);
		p = buf;
		LST_EQ_U64(ls_uv_get_own(&p), vals[i]);
		LST_EQ_U64(p - buf, n);
		p = buf;
		LST_TRUE(ls_uv_match(&p, vals[i]));
		LST_EQ_U64(p - buf, n);
		p = buf;
		LST_TRUE(!ls_uv_match(&p, vals[i] ^ 1));
		LST_TRUE(p == buf);
		LST_EQ_U64(ls_unzigzag(ls_zigzag(vals[i])), vals[i]);
	}
	LST_EQ_U64(ls_uv_len(UINT64_MAX), LS_UV_MAX);
	LST_EQ_U64(ls_zigzag(0), 0);
	LST_EQ_U64(ls_zigzag((uint64_t)-1), 1);
	LST_EQ_U64(ls_zigzag(1), 2);
	LST_EQ_U64(ls_zigzag((uint64_t)INT64_MIN), UINT64_MAX);

	/* Padded: 300 in 5 bytes reads as 300 and takes all 5. */
	ls_uv_put_padded(buf, 300, 5);
	LST_EQ_U64(buf[4] & 0x80, 0);
	p = buf;
	LST_TRUE(ls_uv_get(&p, buf + 5, &v));
	LST_EQ_U64(v, 300);
	LST_EQ_U64(p - buf, 5);

	for (i = 0; i < sizeof(svals) / sizeof(svals[0]); i++) {
		/* DWARF's sleb128 of svals[i], written here by its rule. */
		int64_t x = svals[i];
		size_t n = 0;
		bool more = true;

		while (more) {
			uint8_t byte = (uint8_t)(x & 0x7f);

			x >>= 7;	/* arithmetic with gcc and clang */
			more = !((x == 0 && !(byte & 0x40)) ||
			    (x == -1 && (byte & 0x40)));
			buf[n++] = (uint8_t)(byte | (more ? 0x80 : 0));
		}
		p = buf;
		LST_TRUE(ls_sv_get(&p, buf + n, &sv));
		LST_EQ_U64((uint64_t)sv, (uint64_t)svals[i]);
		LST_EQ_U64(p - buf, n);
		p = buf;
		LST_TRUE(!ls_sv_get(&p, buf + n - 1, &sv));
		LST_TRUE(p == buf);
	}
}

/* Parse s for setting id: whether it is used as given, the value used
 * as text, and the reason ("" when used). */
static void
setting_is(unsigned id, const char *s, bool ok, const char *used,
    const char *reason)
{
	const struct ls_setting *st = &ls_settings[id];
	struct ls_parsed p, back;

	if (ls_setting_parse(st, s, &p) != ok)
		LST_FAIL("%s=%s: %s, want %s", st->name, s, ok ? "refused" :
		    "taken", ok ? "taken" : "refused");
	LST_EQ_STR(p.used, used);
	LST_EQ_STR(p.reason, reason);
	/* What was used reads back as itself. */
	LST_TRUE(ls_setting_parse(st, p.used, &back));
	LST_EQ_U64(back.v.n, p.v.n);
	LST_EQ_STR(back.used, p.used);
}

static void
test_settings(void)
{
	const char *depth = "want 1 to 248";
	const char *secs = "want seconds: 0, or 0.01 to 4000000";
	const char *bytes = "want bytes (such as 524288, 512k or 2M): 0 to "
	    "1024G";
	const char *hup = "cannot be the snapshot signal: services and their "
	    "managers rely on it to stop or reload them";
	const char *yesno = "want yes or no (1 or 0, true or false, on or off)";
	struct ls_parsed p;
	unsigned i;

	setting_is(LS_SET_DEPTH, "64", true, "64", "");
	setting_is(LS_SET_DEPTH, "248", true, "248", "");
	setting_is(LS_SET_DEPTH, "1", true, "1", "");
	setting_is(LS_SET_DEPTH, "500", false, "248", depth);
	setting_is(LS_SET_DEPTH, "99999999999999999999999", false, "248",
	    depth);
	setting_is(LS_SET_DEPTH, "0", false, "64", depth);
	setting_is(LS_SET_DEPTH, "12x", false, "64", depth);
	setting_is(LS_SET_DEPTH, "-1", false, "64", depth);
	setting_is(LS_SET_DEPTH, "", false, "64", depth);
	setting_is(LS_SET_INTERVAL, "10", true, "10", "");
	setting_is(LS_SET_INTERVAL, "0", true, "0", "");
	setting_is(LS_SET_INTERVAL, "0.25", true, "0.25", "");
	setting_is(LS_SET_INTERVAL, ".5", true, "0.5", "");
	setting_is(LS_SET_INTERVAL, "1.0005", true, "1", "");
	setting_is(LS_SET_INTERVAL, "0.01", true, "0.01", "");
	setting_is(LS_SET_INTERVAL, "4000000", true, "4000000", "");
	setting_is(LS_SET_INTERVAL, "0.001", false, "0.01", secs);
	setting_is(LS_SET_INTERVAL, "0.0001", false, "0.01", secs);
	setting_is(LS_SET_INTERVAL, "4000000.5", false, "4000000", secs);
	setting_is(LS_SET_INTERVAL, "99999999999", false, "4000000", secs);
	setting_is(LS_SET_INTERVAL, "1s", false, "10", secs);
	setting_is(LS_SET_INTERVAL, "-1", false, "10", secs);
	setting_is(LS_SET_INTERVAL, ".", false, "10", secs);
	setting_is(LS_SET_SAMPLE, "0", true, "0", "");
	setting_is(LS_SET_SAMPLE, "524288", true, "512k", "");
	setting_is(LS_SET_SAMPLE, "1M", true, "1M", "");
	setting_is(LS_SET_SAMPLE, "4g", true, "4G", "");
	setting_is(LS_SET_SAMPLE, "1000", true, "1000", "");
	setting_is(LS_SET_SAMPLE, "1024G", true, "1024G", "");
	setting_is(LS_SET_SAMPLE, "1025G", false, "1024G", bytes);
	setting_is(LS_SET_SAMPLE, "99999999999999999999", false, "1024G",
	    bytes);
	setting_is(LS_SET_SAMPLE, "1.5M", false, "0", bytes);
	setting_is(LS_SET_SAMPLE, "1T", false, "0", bytes);
	setting_is(LS_SET_SAMPLE, "M", false, "0", bytes);
	setting_is(LS_SET_SIGNAL, "USR2", true, "USR2", "");
	setting_is(LS_SET_SIGNAL, "SIGUSR1", true, "USR1", "");
	setting_is(LS_SET_SIGNAL, "12", true, "USR2", "");
	setting_is(LS_SET_SIGNAL, "none", true, "none", "");
	setting_is(LS_SET_SIGNAL, "TERM", false, "none", hup);
	setting_is(LS_SET_SIGNAL, "1", false, "none", hup);
	setting_is(LS_SET_SIGNAL, "KILL", false, "none", "cannot be the "
	    "snapshot signal: it cannot be caught");
	setting_is(LS_SET_SIGNAL, "32", false, "none", "cannot be the "
	    "snapshot signal: the C library keeps it for its threads");
	setting_is(LS_SET_SIGNAL, "nonsense", false, "none", "unknown signal");
	setting_is(LS_SET_SIGNAL, "0", false, "none", "unknown signal");
	setting_is(LS_SET_SIGNAL, "65", false, "none", "unknown signal");
	setting_is(LS_SET_SIGNAL, "RTMIN+99", false, "none", "unknown signal");
	setting_is(LS_SET_FOLLOW_EXEC, "1", true, "yes", "");
	setting_is(LS_SET_FOLLOW_EXEC, "on", true, "yes", "");
	setting_is(LS_SET_FOLLOW_EXEC, "false", true, "no", "");
	setting_is(LS_SET_FOLLOW_EXEC, "maybe", false, "no", yesno);
	setting_is(LS_SET_UNWIND, "check", true, "check", "");
	setting_is(LS_SET_UNWIND, "slow", false, "fast", "want fast, "
	    "libunwind or check");
	setting_is(LS_SET_OUTPUT, "a%%b.%e.%p", true, "a%%b.%e.%p", "");
	setting_is(LS_SET_OUTPUT, "x.%q", false, "leakspy.%e.%p.lsd",
	    "an unknown % escape (known: %p, %e, %%)");
	setting_is(LS_SET_OUTPUT, "%", false, "leakspy.%e.%p.lsd",
	    "a % at the end (write %% for a percent sign)");
	setting_is(LS_SET_OUTPUT, "dir/", false, "leakspy.%e.%p.lsd",
	    "the template names a directory");
	setting_is(LS_SET_OUTPUT, "", false, "leakspy.%e.%p.lsd",
	    "the template is empty");

	/* Every entry: named, with an option; its default taken as it is
	 * shown. */
	for (i = 0; i < LS_SET_COUNT; i++) {
		const struct ls_setting *st = &ls_settings[i];
		struct ls_value def = ls_setting_default(st);
		char buf[64];
		struct ls_fmt f;

		LST_TRUE(strncmp(st->name, "LEAKSPY_", 8) == 0);
		LST_TRUE(st->opt != 0 && st->long_opt != NULL &&
		    st->help != NULL);
		ls_fmt_init(&f, buf, sizeof(buf));
		ls_setting_show(st, &def, &f);
		LST_TRUE(ls_setting_parse(st, buf, &p));
		LST_EQ_U64(p.v.n, def.n);
	}
	LST_EQ_U64(ls_parse_signal("USR2"), SIGUSR2);
	LST_EQ_U64(ls_parse_signal("SIGUSR1"), SIGUSR1);
	LST_EQ_U64(ls_parse_signal("12"), 12);
	LST_EQ_U64(ls_parse_signal("RTMIN+2"), SIGRTMIN + 2);
	LST_EQ_U64(ls_parse_signal("SIGRTMIN+3"), SIGRTMIN + 3);
	LST_EQ_U64(ls_parse_signal("RTMAX-1"), SIGRTMAX - 1);
	LST_EQ_U64(ls_parse_signal("TERM"), SIGTERM);
	LST_EQ_U64(ls_parse_signal("KILL"), SIGKILL);
	LST_EQ_U64(ls_parse_signal("0"), (uint64_t)-1);
	LST_EQ_U64(ls_parse_signal("65"), (uint64_t)-1);
	LST_EQ_U64(ls_parse_signal("nonsense"), (uint64_t)-1);
	LST_EQ_U64(ls_parse_signal("RTMIN+99"), (uint64_t)-1);
	/* Those a service relies on to stop, faults, job control, glibc's
	 * own: refused; the application signals: taken. */
	LST_TRUE(ls_signal_refusal(SIGTERM) != NULL);
	LST_TRUE(ls_signal_refusal(SIGINT) != NULL);
	LST_TRUE(ls_signal_refusal(SIGHUP) != NULL);
	LST_TRUE(ls_signal_refusal(SIGQUIT) != NULL);
	LST_TRUE(ls_signal_refusal(SIGKILL) != NULL);
	LST_TRUE(ls_signal_refusal(SIGSEGV) != NULL);
	LST_TRUE(ls_signal_refusal(SIGCHLD) != NULL);
	LST_TRUE(ls_signal_refusal(32) != NULL);
	LST_TRUE(ls_signal_refusal(SIGUSR2) == NULL);
	LST_TRUE(ls_signal_refusal(SIGUSR1) == NULL);
	LST_TRUE(ls_signal_refusal(SIGRTMIN + 3) == NULL);
	LST_TRUE(ls_signal_refusal(SIGWINCH) == NULL);
}

static void
test_arena(void)
{
	struct ls_arena a;
	char *p[1000];
	int i;

	ls_arena_init(&a, 4096);
	for (i = 0; i < 1000; i++) {
		p[i] = ls_arena_alloc(&a, (size_t)i * 7 + 1);
		LST_TRUE(p[i] != NULL && ((uintptr_t)p[i] & 15) == 0);
		memset(p[i], i & 0xff, (size_t)i * 7 + 1);
	}
	for (i = 0; i < 1000; i++)
		LST_TRUE(p[i][(size_t)i * 7] == (char)(i & 0xff));
	for (i = 0; i < 1000; i += 2)
		ls_arena_free(&a, p[i]);
	/* Freed blocks are reused by the same class. */
	LST_TRUE(ls_arena_alloc(&a, 7 * 998 + 1) == p[998]);
	p[0] = ls_arena_alloc(&a, 20u << 20);	/* direct mapping */
	LST_TRUE(p[0] != NULL);
	memset(p[0], 1, 20u << 20);
	ls_arena_free(&a, p[0]);
	ls_arena_fini(&a);
	LST_EQ_U64(a.chunks == NULL, 1);

	/* Carved blocks: 8-aligned, each right after the one before (size
	 * rounded to 8), a new chunk when one is full, none over 8 MiB. */
	ls_arena_init(&a, 4096);
	p[0] = ls_arena_carve(&a, 20);
	p[1] = ls_arena_carve(&a, 1);
	p[2] = ls_arena_carve(&a, 4050);
	LST_TRUE(p[0] != NULL && ((uintptr_t)p[0] & 7) == 0);
	LST_EQ_U64((uint64_t)(p[1] - p[0]), 24);
	LST_TRUE(p[2] != NULL && ((uintptr_t)p[2] & 7) == 0);
	LST_TRUE(p[2] != p[1] + 8);	/* 4,050 more did not fit: a new chunk */
	memset(p[2], 3, 4050);
	LST_EQ_U64(a.mapped, 2 * 4096);
	LST_TRUE(ls_arena_carve(&a, (8u << 20) + 1) == NULL);
	LST_TRUE(ls_arena_carve(&a, SIZE_MAX - 3) == NULL);
	ls_arena_fini(&a);
	LST_EQ_U64(a.chunks == NULL, 1);
}

static void
test_fmt(void)
{
	char buf[16];
	struct ls_fmt f;

	ls_fmt_init(&f, buf, sizeof(buf));
	ls_fmt_str(&f, "a=");
	ls_fmt_i64(&f, -42);
	ls_fmt_str(&f, " ");
	ls_fmt_hex(&f, 0xbeef);
	LST_EQ_STR(buf, "a=-42 0xbeef");
	LST_TRUE(!f.overflow);
	ls_fmt_u64(&f, 18446744073709551615ull);
	LST_TRUE(f.overflow);
	LST_EQ_U64(strlen(buf), 15);
}

int
main(void)
{
	test_crc();
	test_roundtrip();
	test_counted();
	test_varint_bytes();
	test_header();
	test_uv_overflow();
	test_leb128();
	test_settings();
	test_arena();
	test_fmt();
	return LST_DONE();
}
