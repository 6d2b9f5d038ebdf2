/* SPDX-License-Identifier: MIT */
/*
 * Stack capture for the interposers (host threads, hot path).  The fast
 * walk follows frame pointers where the code keeps them and the CFA rules
 * of the unwind tables elsewhere (cfi.c), one cached rule per return
 * address; a stack with a frame it cannot model goes to libunwind's
 * unw_backtrace whole.  Only return addresses are kept; symbolization
 * happens offline in leakspy-report.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "lsp.h"

#define LSP_STACK_RESERVE (16u << 10)

void
lsp_unwind_init(void)
{
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	lsp_cfi_init();
}

const void *
lsp_unwind_addr(void)
{
	return (const void *)unw_backtrace;
}

void
lsp_unwind_flush(void)
{
	unw_flush_cache(unw_local_addr_space, 0, 0);
	lsp_cfi_flush();
}

/* This thread's stack, found on its first allocation (0: not yet; lo ==
 * hi: unknown).  Only the owning thread touches them. */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));

static LS_NOINLINE LS_COLD void
find_stack(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	/* pthread_getattr_np allocates (stdio on /proc/self/maps).  The
	 * caller holds the guard as the recording path; these are leakspy's
	 * own allocations, not re-entrant ones, so say so while they run. */
	lsp_guard_own_begin();
	stack_lo = stack_hi = 1;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			stack_lo = (uintptr_t)addr;
			stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	lsp_guard_own_end();
}

/*
 * Unwinding needs several KiB of stack.  On a thread stack with less than
 * LSP_STACK_RESERVE left, skip it rather than overflow the host's stack.
 * A stack pointer outside the thread stack (a coroutine's stack, an
 * alternate signal stack) is let through: its size is not known.
 */
static inline bool
stack_too_low(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (LS_UNLIKELY(stack_lo == 0))
		find_stack();
	return sp >= stack_lo && sp < stack_hi &&
	    sp - stack_lo < LSP_STACK_RESERVE;
}

/* The rule of ip from slot at of table t on: the probes after the
 * first, and a miss (off the hot path). */
static LS_NOINLINE uint32_t
probe_rest(struct lsp_rule_table *t, uint32_t at, uintptr_t ip)
{
	return lsp_rule_probe(t, at, ip, 1);
}

/* The walk's state: the frame's return address, stack pointer and rbp. */
struct walk {
	uintptr_t ip, sp, rbp;
};

/*
 * Step w from its frame to the caller's by the rules of table t (mask:
 * its slots less one).  Returns 0 to go on, 1 at the outermost frame, -1
 * where libunwind must take over.  Inline in both loops of fast_walk.
 */
static inline int
step(struct lsp_rule_table *t, unsigned mask, struct walk *w, uintptr_t hi)
{
	/* lsp_rule_lookup, its first probe inline.  The slot is the
	 * return address's low bits (lsp_rule_slot_of), which cost one
	 * instruction where a multiplying hash costs a few cycles more of a
	 * latency that nothing hides: each frame's slot depends on the
	 * return address the frame before it gave. */
	uint32_t at = (uint32_t)w->ip & mask;
	const struct lsp_rule_slot *s = &t->slot[at];
	uint32_t kind, off;
	uintptr_t cfa, d, k8;

	if (LS_LIKELY(__atomic_load_n(&s->key, __ATOMIC_ACQUIRE) == w->ip)) {
		kind = s->kind;
		off = s->off;
		k8 = s->k8;
	} else {
		uint32_t rule = probe_rest(t, at, w->ip);

		kind = lsp_rule_kind(rule);
		off = lsp_rule_off(rule);
		k8 = 8 * (uintptr_t)lsp_rule_rbp(rule);
	}
	if (LS_UNLIKELY(kind != LSP_RULE_RSP && kind != LSP_RULE_RBP))
		return kind == LSP_RULE_END ? 1 : -1;
	cfa = (kind == LSP_RULE_RBP ? w->rbp : w->sp) + off;
	/* sp < cfa <= hi, and rbp's slot above sp */
	d = cfa - w->sp;
	if (LS_UNLIKELY(d - 1 >= hi - w->sp || d < k8))
		return -1;
	w->ip = ((const uintptr_t *)cfa)[-1];
	if (k8 != 0)
		w->rbp = *(const uintptr_t *)(cfa - k8);
	w->sp = cfa;
	return 0;
}

/*
 * Walks this thread's stack from the caller of this function by the
 * cached rules.  Returns the number of return addresses put in f (at most
 * cap), leakspy's own frames at the top left out, or -1 if libunwind must
 * take the stack: a frame the rules do not
 * model, or a stack pointer outside the known thread stack (an alternate
 * signal stack, a coroutine's), where memory cannot be bounded.
 */
static LS_NOINLINE int
fast_walk(uintptr_t *f, unsigned cap)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	struct walk w = { fp[1], (uintptr_t)(fp + 2), fp[0] };
	uintptr_t hi = stack_hi;
	/* One table for the whole walk: one a little old misses only
	 * what was added since, and a miss adds it again. */
	struct lsp_rule_table *t = __atomic_load_n(&lsp_rules,
	    __ATOMIC_ACQUIRE);
	unsigned n = 0, mask;
	int r;

	if (w.sp < stack_lo || w.sp >= hi || t == NULL || cap == 0)
		return -1;
	mask = (1u << t->bits) - 1;
	/* leakspy's own frames come first: walked, not kept (each step
	 * goes up the stack, so both loops end) */
	while (lsp_is_own_ip(w.ip))
		if ((r = step(t, mask, &w, hi)) != 0 || w.ip == 0)
			return r < 0 ? -1 : 0;
	for (;;) {
		f[n++] = w.ip;
		if ((r = step(t, mask, &w, hi)) != 0)
			return r < 0 ? -1 : (int)n;
		if (n == cap || w.ip == 0)
			break;
	}
	return (int)n;
}

static unsigned
skip_own(const uintptr_t *f, unsigned n)
{
	unsigned skip = 0;

	while (skip < n && lsp_is_own_ip(f[skip]))
		skip++;
	return skip;
}

/*
 * LEAKSPY_UNWIND=check: libunwind's stack for the same call must equal the
 * fast walk's, frame for frame (over what both have room for).  A
 * difference is a leakspy bug: say what differed and abort.
 */
static LS_NOINLINE void
check_walk(const uintptr_t *f, unsigned n, unsigned cap, unsigned gcap)
{
	uintptr_t g[LS_MAX_FRAMES];
	unsigned fs = skip_own(f, n), gs, m, i, len;
	char buf[LS_MAX_FRAMES * 40];
	struct ls_fmt out;
	int got;

	got = unw_backtrace((void **)g, (int)gcap);
	m = got > 0 ? (unsigned)got : 0;
	gs = skip_own(g, m);
	len = n - fs < m - gs ? n - fs : m - gs;
	if ((n - fs == m - gs || n == cap || m == gcap) &&
	    memcmp(f + fs, g + gs, len * sizeof(*f)) == 0)
		return;
	ls_fmt_init(&out, buf, sizeof(buf));
	ls_fmt_str(&out, "leakspy: LEAKSPY_UNWIND=check: the fast walk and "
	    "libunwind differ\n  fast:");
	for (i = fs; i < n; i++) {
		ls_fmt_str(&out, " ");
		ls_fmt_hex(&out, f[i]);
	}
	ls_fmt_str(&out, "\n  libunwind:");
	for (i = gs; i < m; i++) {
		ls_fmt_str(&out, " ");
		ls_fmt_hex(&out, g[i]);
	}
	ls_fmt_str(&out, "\n");
	(void)ls_write_all(2, buf, out.len);
	abort();
}

unsigned
lsp_unwind(uintptr_t *f, bool *truncated)
{
	unsigned want = lsp_cfg.depth;
	/* libunwind's stack has leakspy's own frames first, the fast
	 * walk's not: one frame more than wanted tells a stack cut. */
	unsigned cap = want + 8 < LS_MAX_FRAMES ? want + 8 : LS_MAX_FRAMES;
	unsigned fcap = want + 1 < LS_MAX_FRAMES ? want + 1 : LS_MAX_FRAMES;
	unsigned skip = 0, out, i;
	bool fast = false;
	int n;

	if (LS_UNLIKELY(stack_too_low())) {
		*truncated = true;
		return 0;
	}
	n = -1;
	if (LS_LIKELY(lsp_cfg.unwind != LSP_UNWIND_LIBUNWIND)) {
		n = fast_walk(f, fcap);
		if (n >= 0 && lsp_cfg.unwind == LSP_UNWIND_CHECK)
			check_walk(f, (unsigned)n, fcap, cap);
		if (n >= 0) {
			fast = true;
			cap = fcap;
		}
	}
	if (n < 0)
		n = unw_backtrace((void **)f, (int)cap);
	if (n <= 0) {
		*truncated = false;
		return 0;
	}
	/* Drop libunwind's and leakspy's own frames, in place (the fast
	 * walk has none). */
	skip = fast ? 0 : skip_own(f, (unsigned)n);
	out = (unsigned)n - skip;
	*truncated = out > want || (unsigned)n == cap;
	if (out > want)
		out = want;
	if (skip > 0)
		memmove(f, f + skip, out * sizeof(*f));
	/* A thread created through the registry (it has a name reference)
	 * starts in leakspy's trampoline, just below its start routine:
	 * drop that frame too. */
	if (lsp_name_ref != NULL && !*truncated)
		for (i = out > 4 ? out - 4 : 0; i < out; i++)
			if (lsp_is_own_ip(f[i])) {
				memmove(f + i, f + i + 1,
				    (out - i - 1) * sizeof(*f));
				out--;
				break;
			}
	return out;
}
