/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of preload/cfi.c, the DWARF call frame interpreter of the
 * fast stack walk: the rule (lsp.h: CFA = rsp or rbp + off, rbp's save
 * slot, or none) that lsp_rule_lookup() derives for a return address from
 * .eh_frame_hdr and .eh_frame entries built here byte by byte, for
 * functions that exist only as addresses in code[].
 *
 * cfi.c finds the unwind tables of an address with _dl_find_object(); the
 * one stand-in this test needs is that function, defined below: for an
 * address in code[] it hands over the tables built here, for any other it
 * asks the C library's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "leb128.h"
#include "lsp.h"
#include "lst.h"

int lst_failures;

/* DWARF call frame instructions, as far as these tests use them. */
#define ADV(d)		(0x40 | (d))	/* advance_loc, d < 64 */
#define ADV1		0x02
#define ADV2		0x03
#define ADV4		0x04
#define OFFSET(r)	(0x80 | (r))	/* then uleb n: at CFA + n * data_align */
#define RESTORE(r)	(0xc0 | (r))
#define NOP		0x00
#define SET_LOC		0x01
#define OFFSET_EXT	0x05
#define RESTORE_EXT	0x06
#define UNDEFINED	0x07
#define SAME_VALUE	0x08
#define REGISTER	0x09
#define REMEMBER	0x0a
#define RESTORE_STATE	0x0b
#define DEF_CFA		0x0c
#define DEF_CFA_REG	0x0d
#define DEF_CFA_OFF	0x0e
#define DEF_CFA_EXPR	0x0f
#define OFFSET_EXT_SF	0x11
#define DEF_CFA_SF	0x12
#define DEF_CFA_OFF_SF	0x13
#define VAL_OFFSET	0x14
#define ARGS_SIZE	0x2e

/* x86-64 DWARF registers. */
#define RBX	3
#define RBP	6
#define RSP	7
#define RA	16

/* The rules lsp_rule_lookup() gives. */
#define R_RSP(off, k)	lsp_rule_make(LSP_RULE_RSP, (off), (k))
#define R_RBP(off, k)	lsp_rule_make(LSP_RULE_RBP, (off), (k))
#define R_SLOW		LSP_RULE_SLOW
#define R_END		LSP_RULE_END

/* The state of a function at entry, as every x86-64 CIE gives it. */
static const uint8_t entry_state[] = { DEF_CFA, RSP, 8, OFFSET(RA), 1 };

/*
 * The fake object: .eh_frame_hdr at obj[0] (its table after it), the
 * .eh_frame at obj[EH_AT]; its code is code[], addresses never run.
 */
#define EH_AT	1024
#define MAX_FDE	64

static uint8_t obj[1 << 15] __attribute__((aligned(8)));
static uint8_t code[1 << 14];
static uint8_t *at;
static struct {
	const uint8_t *start, *fde;
} fdes[MAX_FDE];
static unsigned nfde;

int
_dl_find_object(void *pc, struct dl_find_object *res)
{
	static int (*next)(void *, struct dl_find_object *);

	if ((uint8_t *)pc >= code && (uint8_t *)pc < code + sizeof(code)) {
		memset(res, 0, sizeof(*res));
		res->dlfo_map_start = code;
		res->dlfo_map_end = code + sizeof(code);
		res->dlfo_eh_frame = obj;
		return 0;
	}
	if (next == NULL)
		next = (int (*)(void *, struct dl_find_object *))dlsym(
		    RTLD_NEXT, "_dl_find_object");
	return next != NULL ? next(pc, res) : -1;
}

static void
reset(void)
{
	memset(obj, 0, sizeof(obj));
	at = obj + EH_AT;
	nfde = 0;
}

static void
put1(unsigned v)
{
	*at++ = (uint8_t)v;
}

static void
put4(uint32_t v)
{
	memcpy(at, &v, 4);
	at += 4;
}

static void
put_bytes(const uint8_t *p, size_t n)
{
	if (n)
		memcpy(at, p, n);
	at += n;
}

static void
uleb(uint64_t v)
{
	at += ls_uv_put(at, v);
}

static void
sleb(int64_t v)
{
	for (;;) {
		uint8_t b = (uint8_t)(v & 0x7f);

		v >>= 7;	/* arithmetic: gcc and clang */
		if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
			put1(b);
			return;
		}
		put1(b | 0x80);
	}
}

/* An entry's length field: the bytes after it. */
static void
set_len(uint8_t *entry, uint32_t len)
{
	memcpy(entry, &len, 4);
}

static uint32_t
get_len(const uint8_t *entry)
{
	uint32_t len;

	memcpy(&len, entry, 4);
	return len;
}

/* A CIE; zero fields take the usual values (version 1, "zR" with
 * pc-relative 4-byte pointers, code and data alignment 1 and -8, the
 * return address in column 16, the state at a function's entry). */
struct cie_opt {
	unsigned version;
	const char *aug;
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra;
	const uint8_t *augdata;
	size_t naugdata;
	const uint8_t *insns;
	size_t ninsns;
};

static uint8_t *
cie(const struct cie_opt *o)
{
	static const struct cie_opt dflt;
	static const uint8_t zr[] = { 0x1b };	/* 'R': pcrel | sdata4 */
	uint8_t *c = at;
	const char *aug;

	if (o == NULL)
		o = &dflt;
	aug = o->aug ? o->aug : "zR";
	put4(0);			/* length, below */
	put4(0);			/* CIE id */
	put1(o->version ? o->version : 1);
	put_bytes((const uint8_t *)aug, strlen(aug) + 1);
	uleb(o->code_align ? o->code_align : 1);
	sleb(o->data_align ? o->data_align : -8);
	if ((o->version ? o->version : 1) == 1)
		put1((unsigned)(o->ra ? o->ra : RA));
	else
		uleb(o->ra ? o->ra : RA);
	if (aug[0] == 'z') {
		const uint8_t *d = o->augdata ? o->augdata : zr;
		size_t n = o->augdata ? o->naugdata : sizeof(zr);

		uleb(n);
		put_bytes(d, n);
	}
	if (o->insns)
		put_bytes(o->insns, o->ninsns);
	else
		put_bytes(entry_state, sizeof(entry_state));
	set_len(c, (uint32_t)(at - c - 4));
	return c;
}

/* An FDE of CIE c for the function at code[start], len bytes long, with
 * the nlsda bytes at lsda as its augmentation data (if c has any) and
 * insns. */
static uint8_t *
fde_lsda(const uint8_t *c, unsigned start, unsigned len, const uint8_t *lsda,
    size_t nlsda, const uint8_t *insns, size_t n)
{
	uint8_t *f = at;
	bool z = c[9] == 'z';		/* its augmentation string */

	put4(0);
	put4((uint32_t)(at - c));	/* CIE pointer: back to c */
	if (z) {
		put4((uint32_t)(code + start - at));	/* pcrel | sdata4 */
		put4(len);
		uleb(nlsda);
		put_bytes(lsda, nlsda);
	} else {
		uint64_t abs = (uint64_t)(uintptr_t)(code + start);

		put4((uint32_t)abs);			/* absptr: 8 bytes */
		put4((uint32_t)(abs >> 32));
		put4(len);
		put4(0);
	}
	put_bytes(insns, n);
	set_len(f, (uint32_t)(at - f - 4));
	fdes[nfde].start = code + start;
	fdes[nfde++].fde = f;
	return f;
}

static uint8_t *
fde(const uint8_t *c, unsigned start, unsigned len, const uint8_t *insns,
    size_t n)
{
	return fde_lsda(c, start, len, NULL, 0, insns, n);
}

#define FDE(c, start, len, ...) ({					\
	static const uint8_t insns_[] = { __VA_ARGS__ };		\
	fde((c), (start), (len), insns_, sizeof(insns_));		\
})

/* .eh_frame_hdr as the linker writes it: version 1, the .eh_frame
 * pointer pcrel | sdata4, the count udata4, the table datarel | sdata4
 * sorted by address. */
static void
publish(void)
{
	unsigned i, j;
	int32_t v;

	for (i = 1; i < nfde; i++)
		for (j = i; j > 0 && fdes[j - 1].start > fdes[j].start; j--) {
			__typeof__(fdes[0]) t = fdes[j];

			fdes[j] = fdes[j - 1];
			fdes[j - 1] = t;
		}
	put4(0);			/* the .eh_frame terminator */
	obj[0] = 1;
	obj[1] = 0x1b;
	obj[2] = 0x03;
	obj[3] = 0x3b;
	v = (int32_t)(obj + EH_AT - (obj + 4));
	memcpy(obj + 4, &v, 4);
	memcpy(obj + 8, &nfde, 4);
	for (i = 0; i < nfde; i++) {
		v = (int32_t)(fdes[i].start - obj);
		memcpy(obj + 12 + 8 * i, &v, 4);
		v = (int32_t)(fdes[i].fde - obj);
		memcpy(obj + 16 + 8 * i, &v, 4);
	}
}

/* The rule for a call at code[pc]: its return address is the next byte
 * (cfi.c looks up the instruction before the return address). */
static uint32_t
rule_at(unsigned pc)
{
	return lsp_rule_lookup((uintptr_t)(code + pc) + 1);
}

static const char *
show(uint32_t r, char *buf, size_t n)
{
	static const char *kind[] = { "slow", "rsp", "rbp", "end" };
	unsigned k = lsp_rule_kind(r);

	if (k == LSP_RULE_SLOW || k == LSP_RULE_END)
		snprintf(buf, n, "%s (0x%x)", kind[k], r);
	else if (lsp_rule_rbp(r))
		snprintf(buf, n, "CFA = %s + %u, rbp at CFA - 8 * %u", kind[k],
		    lsp_rule_off(r), lsp_rule_rbp(r));
	else
		snprintf(buf, n, "CFA = %s + %u, rbp unchanged", kind[k],
		    lsp_rule_off(r));
	return buf;
}

#define RULE_EQ(got, want) do {						\
	uint32_t g_ = (got), w_ = (want);				\
	char gb_[64], wb_[64];						\
	if (g_ != w_)							\
		LST_FAIL("%s: %s, want %s", #got, show(g_, gb_, 64),	\
		    show(w_, wb_, 64));					\
} while (0)

/* The rule for every pc in [from, to) is want. */
#define RULES_EQ(from, to, want) do {					\
	unsigned pc_;							\
	for (pc_ = (from); pc_ < (to); pc_++)				\
		if (rule_at(pc_) != (want)) {				\
			RULE_EQ(rule_at(pc_), (want));			\
			fprintf(stderr, "  at pc %u\n", pc_);		\
			break;						\
		}							\
} while (0)

/*
 * A function built with frame pointers, as gcc -O2 -fno-omit-frame-pointer
 * writes it: push %rbp; mov %rsp,%rbp; ...; leave; ret.  Then one without
 * any instructions of its own (a leaf), and the lookups between and after
 * them.
 */
static void
test_frame_pointer(void)
{
	uint8_t *c;

	reset();
	c = cie(NULL);
	FDE(c, 0x100, 0x46,
	    ADV(1), DEF_CFA_OFF, 16, OFFSET(RBP), 2,	/* push %rbp */
	    ADV(3), DEF_CFA_REG, RBP,			/* mov %rsp,%rbp */
	    ADV1, 0x40, DEF_CFA, RSP, 8);		/* leave */
	FDE(c, 0x200, 0x10);
	publish();
	RULE_EQ(rule_at(0x100), R_RSP(8, 0));		/* at entry */
	RULES_EQ(0x101, 0x104, R_RSP(16, 2));		/* after the push */
	RULES_EQ(0x104, 0x144, R_RBP(16, 2));		/* the body */
	RULES_EQ(0x144, 0x146, R_RSP(8, 2));		/* after leave */
	RULES_EQ(0x200, 0x210, R_RSP(8, 0));		/* a leaf */
	/* Outside both: before the first, in the gap, after the last. */
	RULES_EQ(0, 0x100, R_SLOW);
	RULES_EQ(0x146, 0x200, R_SLOW);
	RULES_EQ(0x210, 0x300, R_SLOW);
}

/*
 * Without frame pointers: push %rbx; sub $0x20,%rsp; the body (long
 * enough for advance_loc2 and advance_loc4); an epilogue between
 * remember_state and restore_state; code after its ret.  rbp stays
 * unchanged throughout.
 */
static void
test_no_frame_pointer(void)
{
	reset();
	FDE(cie(NULL), 0x10, 0x3000,
	    ADV(1), DEF_CFA_OFF, 16, OFFSET(RBX), 2,	/* push %rbx */
	    ADV(4), DEF_CFA_OFF, 48,			/* sub $0x20,%rsp */
	    ADV2, 0x00, 0x10,				/* 0x1005 */
	    ARGS_SIZE, 16, NOP,
	    ADV4, 0x00, 0x10, 0x00, 0x00,		/* 0x2005 */
	    REMEMBER,
	    DEF_CFA_OFF, 16,				/* add $0x20,%rsp */
	    ADV(4), DEF_CFA_OFF, 8,			/* pop %rbx */
	    ADV(1), RESTORE_STATE,			/* after ret */
	    ADV(2), DEF_CFA_OFF, 56);
	publish();
	RULE_EQ(rule_at(0x10), R_RSP(8, 0));
	RULES_EQ(0x11, 0x15, R_RSP(16, 0));
	RULE_EQ(rule_at(0x15), R_RSP(48, 0));
	RULE_EQ(rule_at(0x1014), R_RSP(48, 0));
	RULE_EQ(rule_at(0x1015), R_RSP(48, 0));		/* args_size, nop */
	RULE_EQ(rule_at(0x2014), R_RSP(48, 0));
	RULES_EQ(0x2015, 0x2019, R_RSP(16, 0));
	RULE_EQ(rule_at(0x2019), R_RSP(8, 0));
	RULES_EQ(0x201a, 0x201c, R_RSP(48, 0));		/* restored */
	RULE_EQ(rule_at(0x201c), R_RSP(56, 0));
	RULE_EQ(rule_at(0x300f), R_RSP(56, 0));
	RULE_EQ(rule_at(0x3010), R_SLOW);
}

/*
 * Factored operands: a code alignment of 4 multiplies the advances, a
 * data alignment of -4 the offsets; the _sf forms and offset_extended;
 * a version 3 CIE (its return address column a uleb); a CIE without
 * augmentation (absolute pointers in its FDEs); "zPLR", whose FDEs carry
 * an LSDA pointer.
 */
static void
test_factored(void)
{
	static const uint8_t plr[] = { 0x9b, 0, 0, 0, 0, 0x1b, 0x1b };
	/* An LSDA pointer that reads as def_cfa_offset 40 if not skipped. */
	static const uint8_t lsda[] = { DEF_CFA_OFF, 40, 0, 0 };
	uint8_t *c;

	reset();
	c = cie(&(struct cie_opt){ .code_align = 4, .data_align = -4,
	    .insns = (const uint8_t[]){ DEF_CFA, RSP, 8, OFFSET(RA), 2 },
	    .ninsns = 5 });
	FDE(c, 0x100, 0x40,
	    ADV(1), DEF_CFA_OFF_SF, 0x7c,		/* -4 * -4 = 16 */
	    OFFSET_EXT, RBP, 4,				/* CFA - 16 */
	    ADV(2), DEF_CFA_SF, RBP, 0x7c);		/* rbp + 16 */
	c = cie(&(struct cie_opt){ .version = 3 });
	FDE(c, 0x200, 0x20, ADV(8), OFFSET_EXT_SF, RBP, 2,	/* 2 * -8 */
	    DEF_CFA_OFF, 16);
	c = cie(&(struct cie_opt){ .aug = "" });
	FDE(c, 0x300, 0x20, ADV(1), DEF_CFA_OFF, 24);
	c = cie(&(struct cie_opt){ .aug = "zPLR", .augdata = plr,
	    .naugdata = sizeof(plr) });
	{
		static const uint8_t insns[] = { ADV(1), DEF_CFA_OFF, 32 };

		fde_lsda(c, 0x400, 0x20, lsda, sizeof(lsda), insns,
		    sizeof(insns));
	}
	publish();
	RULES_EQ(0x100, 0x104, R_RSP(8, 0));
	RULES_EQ(0x104, 0x10c, R_RSP(16, 2));
	RULES_EQ(0x10c, 0x140, R_RBP(16, 2));
	RULES_EQ(0x200, 0x208, R_RSP(8, 0));
	RULE_EQ(rule_at(0x208), R_RSP(16, 2));
	RULE_EQ(rule_at(0x300), R_RSP(8, 0));
	RULE_EQ(rule_at(0x31f), R_RSP(24, 0));
	RULE_EQ(rule_at(0x400), R_RSP(8, 0));
	RULE_EQ(rule_at(0x41f), R_RSP(32, 0));
}

/* One FDE at code[0x100] with insns, after an advance of 1: the rule
 * before them and after. */
static uint32_t
after(const uint8_t *insns, size_t n)
{
	uint8_t prog[64] = { ADV(1) };

	reset();
	memcpy(prog + 1, insns, n);
	fde(cie(NULL), 0x100, 0x10, prog, n + 1);
	publish();
	RULE_EQ(rule_at(0x100), R_RSP(8, 0));
	return rule_at(0x101);
}

#define AFTER(...) ({							\
	static const uint8_t i_[] = { __VA_ARGS__ };			\
	after(i_, sizeof(i_));						\
})

/* What each register rule makes of rbp and the return address, and the
 * limits of what a rule can hold. */
static void
test_register_rules(void)
{
	/* rbp saved, then restored to the CIE's rule (unchanged). */
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 2), R_RSP(16, 2));
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 2, RESTORE(RBP)),
	    R_RSP(16, 0));
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 2, RESTORE_EXT, RBP),
	    R_RSP(16, 0));
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 2, SAME_VALUE, RBP),
	    R_RSP(16, 0));
	/* rbp where the walk cannot follow it. */
	RULE_EQ(AFTER(REGISTER, RBP, RBX), R_SLOW);
	RULE_EQ(AFTER(UNDEFINED, RBP), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET_EXT_SF, RBP, 0x7f), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET_EXT_SF, RBP, 0), R_SLOW);
	/* rbp at CFA - 12: not a whole slot (data alignment -4). */
	reset();
	FDE(cie(&(struct cie_opt){ .data_align = -4,
	    .insns = (const uint8_t[]){ DEF_CFA, RSP, 8, OFFSET(RA), 2 },
	    .ninsns = 5 }), 0x100, 0x10, ADV(1), OFFSET(RBP), 3);
	publish();
	RULE_EQ(rule_at(0x101), R_SLOW);
	/* Its slot as far as a rule reaches: CFA - 8 * 63, not 64. */
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 63), R_RSP(16, 63));
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 64), R_SLOW);
	/* The return address: undefined ends the stack; anywhere but at
	 * CFA - 8 is not modelled. */
	RULE_EQ(AFTER(UNDEFINED, RA), R_END);
	RULE_EQ(AFTER(OFFSET(RA), 2), R_SLOW);
	RULE_EQ(AFTER(VAL_OFFSET, RA, 1), R_SLOW);
	RULE_EQ(AFTER(REGISTER, RA, RBX), R_SLOW);
	RULE_EQ(AFTER(OFFSET(RA), 2, RESTORE(RA)), R_RSP(8, 0));
	/* The CFA: from rsp or rbp only, by an offset in (0, 2^24). */
	RULE_EQ(AFTER(DEF_CFA, RBX, 16), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_EXPR, 2, 0x77, 0x08), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_EXPR, 2, 0x77, 0x08, DEF_CFA, RSP, 16),
	    R_RSP(16, 0));
	RULE_EQ(AFTER(DEF_CFA_EXPR, 2, 0x77, 0x08, DEF_CFA_REG, RBP),
	    R_RBP(8, 0));
	RULE_EQ(AFTER(DEF_CFA_OFF, 0), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_OFF_SF, 1), R_SLOW);	/* 1 * -8 */
	RULE_EQ(AFTER(DEF_CFA_OFF, 0xff, 0xff, 0xff, 0x07),
	    R_RSP((1u << 24) - 1, 0));
	RULE_EQ(AFTER(DEF_CFA_OFF, 0x80, 0x80, 0x80, 0x08), R_SLOW);
	/* A register the walk does not track: no change. */
	RULE_EQ(AFTER(OFFSET(RBX), 3, UNDEFINED, 12, REGISTER, 13, 14),
	    R_RSP(8, 0));
	/* A signal frame ("S"): libunwind's. */
	reset();
	FDE(cie(&(struct cie_opt){ .aug = "zRS" }), 0x100, 0x10);
	publish();
	RULE_EQ(rule_at(0x100), R_SLOW);
}

/* remember_state and restore_state nest, 8 deep at most; a restore
 * with nothing remembered is malformed. */
static void
test_state_stack(void)
{
	uint8_t prog[64], *p = prog;
	unsigned i;

	for (i = 0; i < 8; i++) {
		*p++ = REMEMBER;
		*p++ = DEF_CFA_OFF;
		*p++ = (uint8_t)(16 + 8 * i);
	}
	for (i = 0; i < 7; i++)
		*p++ = RESTORE_STATE;
	RULE_EQ(after(prog, (size_t)(p - prog)), R_RSP(16, 0));
	/* A ninth remember_state: too deep for the walk. */
	prog[24] = REMEMBER;
	RULE_EQ(after(prog, 25), R_SLOW);
	RULE_EQ(AFTER(RESTORE_STATE), R_SLOW);
	RULE_EQ(AFTER(REMEMBER, RESTORE_STATE, RESTORE_STATE), R_SLOW);
	/* The saved rows include rbp's rule. */
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBP), 2, REMEMBER, DEF_CFA_OFF,
	    8, RESTORE(RBP), RESTORE_STATE), R_RSP(16, 2));
}

/* Addresses no FDE covers, or no object: no rule. */
static void
test_outside(void)
{
	int local;

	reset();
	FDE(cie(NULL), 0x100, 0x10);
	publish();
	RULE_EQ(rule_at(0x100), R_RSP(8, 0));
	RULE_EQ(rule_at(0xff), R_SLOW);
	RULE_EQ(rule_at(0x110), R_SLOW);
	RULE_EQ(lsp_rule_lookup((uintptr_t)&local), R_SLOW);
	RULE_EQ(lsp_rule_lookup((uintptr_t)obj + 1), R_SLOW);
	RULE_EQ(lsp_rule_lookup(0), R_SLOW);
	RULE_EQ(lsp_rule_lookup(1), R_SLOW);
	/* An empty table. */
	reset();
	publish();
	RULE_EQ(rule_at(0x100), R_SLOW);
}

/* One FDE of CIE c at code[0x100] with no instructions of its own; the
 * rule at its start. */
static uint32_t
entry_rule(const uint8_t *c)
{
	FDE(c, 0x100, 0x10);
	publish();
	return rule_at(0x100);
}

/* Damaged tables give no rule, and read nothing outside their entries
 * (obj around them is zeros, and this runs under ASan when asked). */
static void
test_malformed(void)
{
	uint8_t *c, *f;
	uint32_t len, cut;

	/* The CIE cut short at every length: no rule, whatever the cut
	 * leaves (the entry state is its last field). */
	reset();
	c = cie(NULL);
	len = get_len(c);
	RULE_EQ(entry_rule(c), R_RSP(8, 0));
	for (cut = 1; cut < len; cut++) {
		set_len(c, cut);
		if (rule_at(0x100) != R_SLOW) {
			RULE_EQ(rule_at(0x100), R_SLOW);
			fprintf(stderr, "  CIE of %u bytes cut to %u\n", len, cut);
		}
	}
	/* Its length 0 (a terminator) or 0xffffffff (64-bit DWARF). */
	set_len(c, 0);
	RULE_EQ(rule_at(0x100), R_SLOW);
	set_len(c, 0xffffffffu);
	RULE_EQ(rule_at(0x100), R_SLOW);
	/* The FDE cut inside its address, its range and its augmentation
	 * data length. */
	reset();
	f = FDE(cie(NULL), 0x100, 0x10, DEF_CFA_OFF, 16);
	publish();
	len = get_len(f);
	for (cut = 1; cut < 13; cut++) {
		set_len(f, cut);
		if (rule_at(0x100) != R_SLOW) {
			RULE_EQ(rule_at(0x100), R_SLOW);
			fprintf(stderr, "  FDE cut to %u\n", cut);
		}
	}
	/* ... and inside an operand. */
	set_len(f, len - 1);
	RULE_EQ(rule_at(0x100), R_SLOW);
	set_len(f, len);
	RULE_EQ(rule_at(0x100), R_RSP(16, 0));
	RULE_EQ(AFTER(DEF_CFA_OFF, 0x90), R_SLOW);	/* a uleb unfinished */
	RULE_EQ(AFTER(DEF_CFA_EXPR, 9, 0x77), R_SLOW);	/* a block too long */
	/* ... also after rules that would do. */
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, ARGS_SIZE), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, ADV4, 1, 0), R_SLOW);
	RULE_EQ(AFTER(DEF_CFA_OFF, 16, OFFSET(RBX)), R_SLOW);
	/* Instructions the walk does not know, or that do not belong. */
	RULE_EQ(AFTER(SET_LOC, 0, 0, 0, 0, 0, 0, 0, 0), R_SLOW);
	RULE_EQ(AFTER(0x3f), R_SLOW);
	RULE_EQ(AFTER(0x1d), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .insns = (const uint8_t[]){
	    DEF_CFA, RSP, 8, ADV(1), OFFSET(RA), 1 }, .ninsns = 6 })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .insns = (const uint8_t[]){
	    DEF_CFA, RSP, 8, OFFSET(RA), 1, RESTORE(RBP) }, .ninsns = 6 })),
	    R_SLOW);
	/* Augmentations: unknown letters, old forms, data longer than the
	 * CIE, an 'R' without its byte, indirect and unknown encodings. */
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .aug = "zRX" })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .aug = "eh" })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .augdata =
	    (const uint8_t[]){ 0x1b }, .naugdata = 1, .insns =
	    (const uint8_t[]){ 0 }, .ninsns = 0 })), R_SLOW);
	reset();
	c = cie(NULL);
	c[15] = 0x7f;			/* augmentation data length */
	RULE_EQ(entry_rule(c), R_SLOW);
	reset();
	c = cie(&(struct cie_opt){ .augdata = (const uint8_t[]){ 0 },
	    .naugdata = 0 });
	RULE_EQ(entry_rule(c), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .augdata =
	    (const uint8_t[]){ 0x9b }, .naugdata = 1 })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .augdata =
	    (const uint8_t[]){ 0x1f }, .naugdata = 1 })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .aug = "zPR", .augdata =
	    (const uint8_t[]){ 0x05, 0x1b }, .naugdata = 2 })), R_SLOW);
	/* Versions other than 1 and 3, another return address column. */
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .version = 2 })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .version = 4 })), R_SLOW);
	reset();
	RULE_EQ(entry_rule(cie(&(struct cie_opt){ .ra = 15 })), R_SLOW);
	/* The CIE pointer: to an FDE, or 0. */
	reset();
	c = cie(NULL);
	f = FDE(c, 0x200, 0x10);
	{
		uint8_t *g = FDE(c, 0x100, 0x10);
		uint32_t back = (uint32_t)(g + 4 - f);

		publish();
		RULE_EQ(rule_at(0x100), R_RSP(8, 0));
		memcpy(g + 4, &back, 4);
		RULE_EQ(rule_at(0x100), R_SLOW);
		back = 0;
		memcpy(g + 4, &back, 4);
		RULE_EQ(rule_at(0x100), R_SLOW);
	}
	/* The header: another version, another table encoding, no count. */
	reset();
	FDE(cie(NULL), 0x100, 0x10);
	publish();
	obj[0] = 2;
	RULE_EQ(rule_at(0x100), R_SLOW);
	obj[0] = 1;
	obj[3] = 0x1b;
	RULE_EQ(rule_at(0x100), R_SLOW);
	obj[3] = 0x3b;
	obj[2] = 0xff;
	RULE_EQ(rule_at(0x100), R_SLOW);
	obj[2] = 0x03;
	RULE_EQ(rule_at(0x100), R_RSP(8, 0));
}

/*
 * The table: a rule read once is kept (a change to the tables is not
 * seen) until lsp_cfi_flush(); it grows past 3/4 of its 4,096 slots and
 * keeps what it had.
 */
static void
test_table(void)
{
	unsigned pc, bad = 0;
	uint8_t *f;

	reset();
	f = FDE(cie(NULL), 0, 0x2000, DEF_CFA_OFF, 16);
	publish();
	lsp_cfi_init();
	RULE_EQ(rule_at(0x10), R_RSP(16, 0));
	f[get_len(f) + 3] = 24;		/* the operand, its last byte */
	RULE_EQ(rule_at(0x10), R_RSP(16, 0));
	RULE_EQ(rule_at(0x11), R_RSP(24, 0));
	lsp_cfi_flush();
	RULE_EQ(rule_at(0x10), R_RSP(24, 0));
	for (pc = 0; pc < 0x2000; pc++)
		bad += rule_at(pc) != R_RSP(24, 0);
	for (pc = 0; pc < 0x2000; pc++)
		bad += rule_at(pc) != R_RSP(24, 0);
	LST_EQ_U64(bad, 0);
	f[get_len(f) + 3] = 32;
	bad = 0;
	for (pc = 0; pc < 0x2000; pc++)
		bad += rule_at(pc) != R_RSP(24, 0);
	LST_EQ_U64(bad, 0);
	lsp_cfi_flush();
	RULE_EQ(rule_at(0x1fff), R_RSP(32, 0));
}

/* A real frame of this program, built with frame pointers, through the C
 * library's _dl_find_object and the linker's tables. */
static LS_NOINLINE uintptr_t
return_address(void)
{
	uintptr_t ip = (uintptr_t)__builtin_return_address(0);

	__asm__ volatile("" : "+r"(ip));
	return ip;
}

static LS_NOINLINE uint32_t
real_rule(void)
{
	uintptr_t ip = return_address();

	__asm__ volatile("" : "+r"(ip));
	return lsp_rule_lookup(ip);
}

static void
test_real_frame(void)
{
	RULE_EQ(real_rule(), R_RBP(16, 2));
}

int
main(void)
{
	test_frame_pointer();
	test_no_frame_pointer();
	test_factored();
	test_register_rules();
	test_state_stack();
	test_outside();
	test_malformed();
	test_real_frame();
	test_table();
	return LST_DONE();
}
