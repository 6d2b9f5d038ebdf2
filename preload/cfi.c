/* SPDX-License-Identifier: MIT */
/*
 * Unwind rules for the fast stack walk (host threads, hot path).
 *
 * For each return address: how to find the caller's frame.  The rule is
 * read once from the object's DWARF call frame information (.eh_frame,
 * found through .eh_frame_hdr, which _dl_find_object hands over without a
 * lock) and kept in a lock-free table.  Code built with frame pointers has
 * CFA = rbp + 16 with the caller's rbp at CFA - 16; code built without has
 * CFA = rsp + N.  Both are walked here.  Whatever the walk does not model
 * (signal frames, CFA expressions, a return address not at CFA - 8, rbp
 * kept in another register, code without unwind tables, such as a JIT's)
 * is LSP_RULE_SLOW, and libunwind takes the whole stack.  The rules are the
 * same facts libunwind reads, so the walk never yields a stack libunwind
 * would not.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "lsp.h"

/* DWARF register numbers on x86-64. */
#define REG_RBP		6
#define REG_RSP		7
#define REG_RA		16

/* Pointer encodings (DW_EH_PE_*). */
#define PE_ABSPTR	0x00
#define PE_ULEB		0x01
#define PE_UDATA2	0x02
#define PE_UDATA4	0x03
#define PE_UDATA8	0x04
#define PE_SLEB		0x09
#define PE_SDATA2	0x0a
#define PE_SDATA4	0x0b
#define PE_SDATA8	0x0c
#define PE_PCREL	0x10
#define PE_DATAREL	0x30
#define PE_INDIRECT	0x80
#define PE_OMIT		0xff

/* How a register was saved, as far as the walk cares. */
enum { SAVED_SAME, SAVED_AT, SAVED_UNDEF, SAVED_OTHER };

struct saved {
	uint8_t how;
	int64_t off;		/* SAVED_AT: CFA + off */
};

struct row {
	unsigned cfa_reg;
	int64_t cfa_off;
	bool cfa_expr;
	struct saved rbp, ra;
};

struct cie {
	const uint8_t *insns, *end;
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	bool signal;
	bool has_aug;		/* "z": FDEs carry augmentation data */
};

/* A byte reader over [p, end); any overrun sets bad. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t
rd_u(struct rd *r, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

/* DWARF's ULEB128 and SLEB128 (src/leb128.h); a bad one sets r->bad. */
static uint64_t
rd_uleb(struct rd *r)
{
	uint64_t v;

	if (ls_uv_get(&r->p, r->end, &v))
		return v;
	r->bad = true;
	return 0;
}

static int64_t
rd_sleb(struct rd *r)
{
	int64_t v;

	if (ls_sv_get(&r->p, r->end, &v))
		return v;
	r->bad = true;
	return 0;
}

/* Skip a block: its length (ULEB128), then that many bytes; false if it
 * runs past the end. */
static bool
rd_skip_block(struct rd *r)
{
	uint64_t n = rd_uleb(r);

	if (n > (uint64_t)(r->end - r->p))
		return false;
	r->p += n;
	return true;
}

/* An encoded pointer; only absolute, pc-relative and data-relative ones,
 * never indirect (the walk needs none of the others). */
static uintptr_t
rd_enc(struct rd *r, uint8_t enc, uintptr_t datarel)
{
	uintptr_t at = (uintptr_t)r->p;
	uint64_t v;

	switch (enc & 0x0f) {
	case PE_ABSPTR:	v = rd_u(r, 8); break;
	case PE_ULEB:	v = rd_uleb(r); break;
	case PE_UDATA2:	v = rd_u(r, 2); break;
	case PE_UDATA4:	v = rd_u(r, 4); break;
	case PE_UDATA8:	v = rd_u(r, 8); break;
	case PE_SLEB:	v = (uint64_t)rd_sleb(r); break;
	case PE_SDATA2:	v = (uint64_t)(int64_t)(int16_t)rd_u(r, 2); break;
	case PE_SDATA4:	v = (uint64_t)(int64_t)(int32_t)rd_u(r, 4); break;
	case PE_SDATA8:	v = rd_u(r, 8); break;
	default:
		r->bad = true;
		return 0;
	}
	switch (enc & 0x70) {
	case 0:
		break;
	case PE_PCREL:
		v += at;
		break;
	case PE_DATAREL:
		v += datarel;
		break;
	default:
		r->bad = true;
	}
	if (enc & PE_INDIRECT)
		r->bad = true;
	return (uintptr_t)v;
}

/* Skips an encoded value whose meaning does not matter (a personality
 * routine's address). */
static void
skip_enc(struct rd *r, uint8_t enc)
{
	switch (enc & 0x0f) {
	case PE_ABSPTR: case PE_UDATA8: case PE_SDATA8: rd_u(r, 8); break;
	case PE_UDATA4: case PE_SDATA4: rd_u(r, 4); break;
	case PE_UDATA2: case PE_SDATA2: rd_u(r, 2); break;
	case PE_ULEB: rd_uleb(r); break;
	case PE_SLEB: rd_sleb(r); break;
	default: r->bad = true;
	}
}

/* An .eh_frame entry's extent: its length field is at p.  32-bit DWARF
 * only; 64-bit entries do not occur in .eh_frame in practice. */
static bool
entry_bounds(const uint8_t *p, const uint8_t **body, const uint8_t **end)
{
	uint32_t len;

	memcpy(&len, p, 4);
	if (len == 0 || len == 0xffffffffu)
		return false;
	*body = p + 4;
	*end = p + 4 + len;
	return true;
}

static bool
parse_cie(const uint8_t *p, struct cie *c)
{
	const uint8_t *body, *end, *aug_end = NULL;
	const char *aug;
	struct rd r;
	uint8_t version;
	uint32_t id;

	if (!entry_bounds(p, &body, &end))
		return false;
	r = (struct rd){ body, end, false };
	id = (uint32_t)rd_u(&r, 4);
	version = (uint8_t)rd_u(&r, 1);
	if (r.bad || id != 0 || (version != 1 && version != 3))
		return false;
	aug = (const char *)r.p;
	while (r.p < r.end && *r.p != 0)
		r.p++;
	if (r.p >= r.end)
		return false;
	r.p++;
	if (aug[0] != '\0' && aug[0] != 'z')
		return false;		/* "eh" and other old forms */
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	if ((version == 1 ? rd_u(&r, 1) : rd_uleb(&r)) != REG_RA)
		return false;
	c->fde_enc = PE_ABSPTR;
	c->signal = false;
	c->has_aug = aug[0] == 'z';
	if (c->has_aug) {
		uint64_t n = rd_uleb(&r);

		if (r.bad || n > (uint64_t)(r.end - r.p))
			return false;
		aug_end = r.p + n;
		for (aug++; *aug != '\0'; aug++) {
			switch (*aug) {
			case 'R':
				c->fde_enc = (uint8_t)rd_u(&r, 1);
				break;
			case 'L':
				rd_u(&r, 1);
				break;
			case 'P':
				skip_enc(&r, (uint8_t)rd_u(&r, 1));
				break;
			case 'S':
				c->signal = true;
				break;
			default:
				return false;
			}
		}
		if (r.bad || r.p > aug_end)
			return false;
		r.p = aug_end;
	}
	c->insns = r.p;
	c->end = end;
	return !r.bad;
}

static void
set_saved(struct row *row, uint64_t reg, uint8_t how, int64_t off)
{
	struct saved *s = reg == REG_RBP ? &row->rbp :
	    reg == REG_RA ? &row->ra : NULL;

	if (s != NULL) {
		s->how = how;
		s->off = off;
	}
}

#define STATE_DEPTH 8

/*
 * Runs call frame instructions from [r->p, r->end) on row, stopping at
 * the first row that starts past target (loc is the current location).
 * init is the row after the CIE's instructions, for DW_CFA_restore.
 * Returns false on anything malformed or not understood.
 */
static bool
run_cfa(struct rd *r, const struct cie *c, struct row *row,
    const struct row *init, uintptr_t loc, uintptr_t target)
{
	struct row saved[STATE_DEPTH];
	unsigned depth = 0;

	while (r->p < r->end && !r->bad) {
		uint8_t op = *r->p++;
		uint64_t reg, delta = 0;
		int64_t off;

		switch (op & 0xc0) {
		case 0x40:
			delta = op & 0x3f;
			goto advance;
		case 0x80:
			off = (int64_t)rd_uleb(r) * c->data_align;
			set_saved(row, op & 0x3f, SAVED_AT, off);
			continue;
		case 0xc0:
			reg = op & 0x3f;
			goto restore;
		}
		switch (op) {
		case 0x00:		/* nop */
			continue;
		case 0x02:		/* advance_loc1 */
			delta = rd_u(r, 1);
			goto advance;
		case 0x03:		/* advance_loc2 */
			delta = rd_u(r, 2);
			goto advance;
		case 0x04:		/* advance_loc4 */
			delta = rd_u(r, 4);
			goto advance;
		case 0x05:		/* offset_extended */
			reg = rd_uleb(r);
			off = (int64_t)rd_uleb(r) * c->data_align;
			set_saved(row, reg, SAVED_AT, off);
			continue;
		case 0x06:		/* restore_extended */
			reg = rd_uleb(r);
			goto restore;
		case 0x07:		/* undefined */
			set_saved(row, rd_uleb(r), SAVED_UNDEF, 0);
			continue;
		case 0x08:		/* same_value */
			set_saved(row, rd_uleb(r), SAVED_SAME, 0);
			continue;
		case 0x09:		/* register */
			set_saved(row, rd_uleb(r), SAVED_OTHER, 0);
			rd_uleb(r);
			continue;
		case 0x0a:		/* remember_state */
			if (depth == STATE_DEPTH)
				return false;
			saved[depth++] = *row;
			continue;
		case 0x0b:		/* restore_state */
			if (depth == 0)
				return false;
			*row = saved[--depth];
			continue;
		case 0x0c:		/* def_cfa */
			row->cfa_reg = (unsigned)rd_uleb(r);
			row->cfa_off = (int64_t)rd_uleb(r);
			row->cfa_expr = false;
			continue;
		case 0x0d:		/* def_cfa_register */
			row->cfa_reg = (unsigned)rd_uleb(r);
			row->cfa_expr = false;
			continue;
		case 0x0e:		/* def_cfa_offset */
			row->cfa_off = (int64_t)rd_uleb(r);
			continue;
		case 0x0f:		/* def_cfa_expression */
			if (!rd_skip_block(r))
				return false;
			row->cfa_expr = true;
			continue;
		case 0x10:		/* expression */
		case 0x16:		/* val_expression */
			set_saved(row, rd_uleb(r), SAVED_OTHER, 0);
			if (!rd_skip_block(r))
				return false;
			continue;
		case 0x11:		/* offset_extended_sf */
			reg = rd_uleb(r);
			off = rd_sleb(r) * c->data_align;
			set_saved(row, reg, SAVED_AT, off);
			continue;
		case 0x12:		/* def_cfa_sf */
			row->cfa_reg = (unsigned)rd_uleb(r);
			row->cfa_off = rd_sleb(r) * c->data_align;
			row->cfa_expr = false;
			continue;
		case 0x13:		/* def_cfa_offset_sf */
			row->cfa_off = rd_sleb(r) * c->data_align;
			continue;
		case 0x14:		/* val_offset */
			set_saved(row, rd_uleb(r), SAVED_OTHER, 0);
			rd_uleb(r);
			continue;
		case 0x15:		/* val_offset_sf */
			set_saved(row, rd_uleb(r), SAVED_OTHER, 0);
			rd_sleb(r);
			continue;
		case 0x2e:		/* GNU_args_size */
			rd_uleb(r);
			continue;
		case 0x2f:		/* GNU_negative_offset_extended */
			reg = rd_uleb(r);
			off = -(int64_t)rd_uleb(r) * c->data_align;
			set_saved(row, reg, SAVED_AT, off);
			continue;
		default:		/* set_loc and unknown opcodes */
			return false;
		}
advance:
		delta *= c->code_align;
		if (init == NULL)
			return false;	/* a CIE does not advance */
		if (delta > target - loc)
			return !r->bad;
		loc += delta;
		continue;
restore:
		if (init == NULL)
			return false;
		if (reg == REG_RBP)
			row->rbp = init->rbp;
		else if (reg == REG_RA)
			row->ra = init->ra;
	}
	return !r->bad;
}

/* The FDE covering pc, through .eh_frame_hdr's sorted table. */
static const uint8_t *
find_fde(const uint8_t *hdr, uintptr_t pc)
{
	struct rd r = { hdr, hdr + 12, false };
	uint8_t version, ptr_enc, count_enc, table_enc;
	const int32_t *tab;
	uintptr_t count, lo, hi;

	/* The header's end is not known until parsed; its fixed part is at
	 * most 4 + 8 + 8 bytes, bounded again below. */
	r.end = hdr + 20;
	version = (uint8_t)rd_u(&r, 1);
	ptr_enc = (uint8_t)rd_u(&r, 1);
	count_enc = (uint8_t)rd_u(&r, 1);
	table_enc = (uint8_t)rd_u(&r, 1);
	if (version != 1 || table_enc != (PE_DATAREL | PE_SDATA4) ||
	    count_enc == PE_OMIT)
		return NULL;
	rd_enc(&r, ptr_enc, (uintptr_t)hdr);
	count = rd_enc(&r, count_enc, (uintptr_t)hdr);
	if (r.bad || count == 0)
		return NULL;
	tab = (const int32_t *)r.p;
	/* Last entry whose start is at or below pc. */
	lo = 0;
	hi = count;
	while (hi - lo > 1) {
		uintptr_t mid = lo + (hi - lo) / 2;

		if ((uintptr_t)hdr + (intptr_t)tab[2 * mid] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	if ((uintptr_t)hdr + (intptr_t)tab[2 * lo] > pc)
		return NULL;
	return hdr + (intptr_t)tab[2 * lo + 1];
}

/* Reads the rule for return address ip from the unwind tables. */
static uint32_t
rule_read(uintptr_t ip)
{
	struct dl_find_object dlfo;
	const uint8_t *fde, *body, *end, *cie_at;
	struct cie c;
	struct row row, init;
	struct rd r;
	uintptr_t pc = ip - 1, begin, range;
	uint32_t cie_off;
	unsigned k = 0;

	/* The call is the instruction before the return address; look that
	 * up (a call to a function that does not return may be its
	 * function's last instruction). */
	if (_dl_find_object((void *)pc, &dlfo) != 0 || dlfo.dlfo_eh_frame == NULL)
		return LSP_RULE_SLOW;
	fde = find_fde(dlfo.dlfo_eh_frame, pc);
	if (fde == NULL || !entry_bounds(fde, &body, &end) || end - body < 4)
		return LSP_RULE_SLOW;
	memcpy(&cie_off, body, 4);
	if (cie_off == 0 || cie_off > (uintptr_t)body)
		return LSP_RULE_SLOW;
	cie_at = body - cie_off;
	if (!parse_cie(cie_at, &c) || c.signal)
		return LSP_RULE_SLOW;
	r = (struct rd){ body + 4, end, false };
	begin = rd_enc(&r, c.fde_enc, 0);
	range = rd_enc(&r, c.fde_enc & 0x0f, 0);
	if (r.bad || pc - begin >= range)
		return LSP_RULE_SLOW;
	if (c.has_aug) {	/* the FDE's augmentation data: an LSDA */
		uint64_t n = rd_uleb(&r);

		if (r.bad || n > (uint64_t)(r.end - r.p))
			return LSP_RULE_SLOW;
		r.p += n;
	}

	memset(&row, 0, sizeof(row));
	row.rbp.how = SAVED_SAME;
	row.ra.how = SAVED_SAME;
	{
		struct rd ci = { c.insns, c.end, false };

		if (!run_cfa(&ci, &c, &row, NULL, 0, 0))
			return LSP_RULE_SLOW;
	}
	init = row;
	if (!run_cfa(&r, &c, &row, &init, begin, pc))
		return LSP_RULE_SLOW;

	if (row.ra.how == SAVED_UNDEF)
		return LSP_RULE_END;
	if (row.cfa_expr || row.ra.how != SAVED_AT || row.ra.off != -8 ||
	    row.cfa_off <= 0 || row.cfa_off >= LSP_RULE_MAX_OFF ||
	    (row.cfa_reg != REG_RSP && row.cfa_reg != REG_RBP))
		return LSP_RULE_SLOW;
	if (row.rbp.how == SAVED_AT) {
		if (row.rbp.off >= 0 || row.rbp.off % 8 != 0 ||
		    -row.rbp.off / 8 > LSP_RULE_MAX_RBP)
			return LSP_RULE_SLOW;
		k = (unsigned)(-row.rbp.off / 8);
	} else if (row.rbp.how != SAVED_SAME) {
		return LSP_RULE_SLOW;
	}
	return lsp_rule_make(row.cfa_reg == REG_RBP ? LSP_RULE_RBP :
	    LSP_RULE_RSP, (uint32_t)row.cfa_off, k);
}

/*
 * The table: open addressing, keys published last.  A slot is claimed by
 * compare-and-swap with a busy mark, filled, then opened; readers treat a
 * busy slot as a miss.  It starts small (the pages it touches are the
 * host's memory) and doubles at three quarters full: the larger copy is
 * published whole, and the old one stays mapped for readers still in it
 * (all the old ones together are smaller than the current one).  An entry
 * added to the old table while the copy is made is read again later.
 * dlclose clears it.
 */
#define RULE_BITS_MIN	12
#define RULE_BITS_MAX	20
#define RULE_PROBES	LSP_RULE_PROBES
#define KEY_BUSY	(1ull << 63)

struct lsp_rule_table *lsp_rules;
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;

static struct lsp_rule_table *
table_new(unsigned bits)
{
	struct lsp_rule_table *t = ls_map(sizeof(*t) +
	    ((size_t)1 << bits) * sizeof(struct lsp_rule_slot));

	if (t != NULL)
		t->bits = bits;
	return t;
}

void
lsp_cfi_init(void)
{
	__atomic_store_n(&lsp_rules, table_new(RULE_BITS_MIN), __ATOMIC_RELEASE);
}

/* Put (ip, rule) in t if there is room; false if t is too full. */
static bool
table_put(struct lsp_rule_table *t, uintptr_t ip, uint32_t rule)
{
	unsigned i, mask = (1u << t->bits) - 1, at = lsp_rule_slot_of(ip, t->bits);

	for (i = 0; i < RULE_PROBES; i++) {
		struct lsp_rule_slot *s = &t->slot[(at + i) & mask];
		uint64_t expect = 0;

		if (__atomic_compare_exchange_n(&s->key, &expect,
		    (uint64_t)ip | KEY_BUSY, false, __ATOMIC_ACQUIRE,
		    __ATOMIC_RELAXED)) {
			s->off = lsp_rule_off(rule);
			s->k8 = (uint16_t)(8 * lsp_rule_rbp(rule));
			s->kind = (uint8_t)lsp_rule_kind(rule);
			__atomic_store_n(&s->key, (uint64_t)ip, __ATOMIC_RELEASE);
			__atomic_fetch_add(&t->fill, 1, __ATOMIC_RELAXED);
			return true;
		}
		if ((expect & ~KEY_BUSY) == ip)
			return true;	/* another thread has it */
	}
	return false;
}

/* Publish a table twice the size of t, with t's entries. */
static void
table_grow(struct lsp_rule_table *t)
{
	struct lsp_rule_table *n;
	unsigned i;

	if (t->bits >= RULE_BITS_MAX || pthread_mutex_trylock(&grow_lock) != 0)
		return;
	if (__atomic_load_n(&lsp_rules, __ATOMIC_ACQUIRE) == t &&
	    (n = table_new(t->bits + 1)) != NULL) {
		for (i = 0; i < 1u << t->bits; i++) {
			uint64_t key = __atomic_load_n(&t->slot[i].key,
			    __ATOMIC_ACQUIRE);

			if (key != 0 && !(key & KEY_BUSY))
				(void)table_put(n, (uintptr_t)key,
				    lsp_slot_rule(&t->slot[i]));
		}
		__atomic_store_n(&lsp_rules, n, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&grow_lock);
}

LS_NOINLINE uint32_t
lsp_rule_miss(struct lsp_rule_table *t, uintptr_t ip)
{
	uint32_t rule = rule_read(ip);

	if (t == NULL)
		return rule;
	if (__atomic_load_n(&t->fill, __ATOMIC_RELAXED) >=
	    (3u << t->bits) / 4 || !table_put(t, ip, rule))
		table_grow(t);
	return rule;
}

void
lsp_cfi_flush(void)
{
	struct lsp_rule_table *t = __atomic_load_n(&lsp_rules, __ATOMIC_ACQUIRE);
	unsigned i;

	if (t == NULL)
		return;
	pthread_mutex_lock(&grow_lock);
	for (i = 0; i < 1u << t->bits; i++) {
		uint64_t key = __atomic_load_n(&t->slot[i].key,
		    __ATOMIC_RELAXED);

		/* A slot a writer is filling (busy) stays its: cleared
		 * under it, a second writer would mix two rules in it. */
		if (key != 0 && !(key & KEY_BUSY))
			__atomic_compare_exchange_n(&t->slot[i].key, &key, 0,
			    false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&t->fill, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&grow_lock);
}
