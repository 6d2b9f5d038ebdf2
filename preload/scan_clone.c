/* SPDX-License-Identifier: MIT */
/*
 * A heap scan while the program runs (issue 15): the writer takes the
 * roots it can know without stopping anyone (every writable segment; each
 * thread's whole stack, static TLS and descriptor, from the thread pointer
 * the registry kept), holds the block tables' locks for the time of a raw
 * clone of the process, and lets the clone, a frozen copy-on-write image
 * with one thread, mark and write SCAN, OWNERS and CHAIN into a shared
 * mapping.  The clone has no exit signal: no SIGCHLD reaches the program,
 * its wait(-1) never sees it, and no atfork handler runs.  The program's
 * pause is the lock and the clone alone.  Under the writer's lock, on the
 * writer thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "fmt.h"
#include "lsp.h"
#include "reach.h"
#include "roots.h"
#include "scan.h"

#define OUT_MAX		((size_t)256 << 20)	/* the clone's records */
#define MAPS_MAX	((size_t)64 << 20)	/* /proc/self/maps read */
#define MIN_HEAP	((uint64_t)1 << 20)	/* growth: not below 1 MiB */
#define MIN_GAP_NS	1000000000ull	/* growth: 1 s between scans... */
#define GAP_FACTOR	10		/* ...and 10 times the next one's */

extern void *__libc_stack_end;

/* What the clone hands back, at the start of the shared mapping. */
struct out {
	uint64_t len;		/* bytes of records after the header */
	int err;		/* 0, or why the scan failed (-errno) */
	int done;
	char why[192];
};

static struct {
	uint64_t last_ns;	/* when the last scan began (0: none) */
	uint64_t last_took_ns;
	uint64_t last_began_live;	/* live bytes as it began */
	uint64_t last_live;	/* live bytes at the last scan */
	uint64_t next_timed_ns;
} st;

/* Live bytes now, from the sites' figures. */
static uint64_t
live_bytes(void)
{
	uint32_t id, n = lsp_site_count();
	struct lsp_site_view v;
	uint64_t sum = 0;

	for (id = 0; id < n; id++)
		if (lsp_site_get(id, &v) && v.live_bytes > 0)
			sum += (uint64_t)v.live_bytes;
	return sum;
}

/* How long a scan of a heap of live bytes is expected to take: the last
 * one's length, scaled by how much the heap has grown since it began.  A
 * heap that grew tenfold since a short scan so waits ten times longer. */
static uint64_t
expected_ns(uint64_t live)
{
	if (st.last_began_live == 0 || live <= st.last_began_live)
		return st.last_took_ns;
	return (uint64_t)((double)st.last_took_ns * ((double)live /
	    (double)st.last_began_live));
}

bool
lsp_reach_due(void)
{
	uint64_t gap, live, now_ns = lsp_run_ns();

	if (lsp_cfg.scan_ms == 0)
		return false;
	if (st.next_timed_ns == 0)
		st.next_timed_ns = now_ns + (uint64_t)lsp_cfg.scan_ms * 1000000u;
	if (now_ns >= st.next_timed_ns)
		return true;
	if (lsp_cfg.scan_growth == 0)
		return false;
	if (st.last_ns != 0 && now_ns - st.last_ns < MIN_GAP_NS)
		return false;
	live = live_bytes();
	if (live < MIN_HEAP || live < st.last_live + st.last_live / 100 *
	    lsp_cfg.scan_growth)
		return false;
	gap = expected_ns(live) * GAP_FACTOR;
	return st.last_ns == 0 || now_ns - st.last_ns >= gap;
}

/* --- the roots of the running threads --- */

/* /proc/self/maps's ranges, sorted as the kernel lists them. */
struct maps {
	uintptr_t *r;		/* start, end pairs */
	size_t n, cap;
};

static int
read_maps(struct maps *m)
{
	char *buf = ls_map(MAPS_MAX), *p, *end;
	ssize_t got;
	size_t len = 0;
	int fd;

	*m = (struct maps){ 0 };
	if (buf == NULL)
		return -ENOMEM;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ls_unmap(buf, MAPS_MAX);
		return -errno;
	}
	while (len < MAPS_MAX - 1 &&
	    (got = read(fd, buf + len, MAPS_MAX - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	m->cap = len / 20 + 1;	/* a line is longer than 20 bytes */
	m->r = ls_map(m->cap * 2 * sizeof(*m->r));
	if (m->r == NULL) {
		ls_unmap(buf, MAPS_MAX);
		return -ENOMEM;
	}
	for (p = buf, end = buf + len; p < end && m->n < m->cap;) {
		uintptr_t a = 0, b = 0;

		for (; p < end && *p != '-'; p++)
			a = a * 16 + (uintptr_t)(*p <= '9' ? *p - '0' :
			    (*p | 0x20) - 'a' + 10);
		for (p++; p < end && *p != ' '; p++)
			b = b * 16 + (uintptr_t)(*p <= '9' ? *p - '0' :
			    (*p | 0x20) - 'a' + 10);
		/* A mapping with a name (a file, [heap]; [stack] aside) holds
		 * no thread's stack but one the program placed there itself:
		 * marked in the end's low bit. */
		{
			char *nl = p, *name = p;
			int field;

			while (nl < end && *nl != '\n')
				nl++;
			/* perms, offset, dev and inode, then the name */
			for (field = 0; field < 4; field++) {
				while (name < nl && *name == ' ')
					name++;
				while (name < nl && *name != ' ')
					name++;
			}
			while (name < nl && *name == ' ')
				name++;
			if (name < nl && (nl - name != 7 ||
			    memcmp(name, "[stack]", 7) != 0))
				b |= 1;
			p = nl < end ? nl + 1 : end;
		}
		m->r[2 * m->n] = a;
		m->r[2 * m->n + 1] = b;
		m->n++;
	}
	ls_unmap(buf, MAPS_MAX);
	return 0;
}

/* The start of the mapping that holds a, or 0 (also for a mapping with a
 * name: a stack the program put in its heap or a file is not read
 * whole). */
static uintptr_t
map_start(const struct maps *m, uintptr_t a)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((m->r[2 * mid + 1] & ~(uintptr_t)1) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= m->n || m->r[2 * lo] > a || (m->r[2 * lo + 1] & 1))
		return 0;	/* unmapped, or not a stack */
	return m->r[2 * lo];
}

/* A thread blocked in a system call: its arguments (registers), as
 * /proc/self/task/TID/syscall gives them. */
#define MAX_BLOCKED	4096
static uintptr_t sys_args[MAX_BLOCKED][6];
static unsigned nblocked;

static uintptr_t
hex_field(const char **p, const char *end, bool *ok)
{
	uintptr_t v = 0;
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s + 2 > end || s[0] != '0' || s[1] != 'x') {
		*ok = false;
		return 0;
	}
	for (s += 2; s < end && *s != ' ' && *s != '\n'; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
		    (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f' ?
		    (*s | 0x20) - 'a' + 10 : -1;

		if (d < 0) {
			*ok = false;
			return 0;
		}
		v = v * 16 + (uintptr_t)d;
	}
	*p = s;
	return v;
}

/*
 * Thread tid's stack is read whole from lo, the start of its mapping,
 * dead frames included (its stack pointer, even where /proc gives it for
 * a thread blocked in a system call, may be stale by the clone: frames
 * below it would be missed).  A blocked thread's arguments are register
 * roots.  Returns lo.
 */
static uintptr_t
live_from(struct lsp_reach_roots *rr, pid_t tid, uintptr_t lo)
{
	char path[64], buf[256];
	const char *p, *end;
	struct ls_fmt f;
	bool ok = true;
	ssize_t n;
	int fd, k;

	ls_fmt_init(&f, path, sizeof(path));
	ls_fmt_str(&f, "/proc/self/task/");
	ls_fmt_u64(&f, (uint64_t)tid);
	ls_fmt_str(&f, "/syscall");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lo;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || buf[0] < '0' || buf[0] > '9' || nblocked == MAX_BLOCKED)
		return lo;	/* "running", or -1 for a fault */
	end = buf + n;
	for (p = buf; p < end && *p != ' '; p++)
		;
	for (k = 0; k < 6; k++)
		sys_args[nblocked][k] = hex_field(&p, end, &ok);
	if (!ok)
		return lo;
	lsp_reach_add_root(rr, LSP_SCAN_REGISTER, (uintptr_t)sys_args[nblocked],
	    (uintptr_t)(sys_args[nblocked] + 6), lsp_reach_serial_of(tid));
	nblocked++;
	return lo;
}

/* Each thread's ranges; returns how many threads had no known stack. */
static unsigned
thread_roots(struct lsp_reach_roots *rr, const struct maps *m)
{
	const pid_t *tid;
	const uintptr_t *tp;
	size_t n = lsp_reach_threads(&tid, &tp), i;
	uintptr_t main_tp = lsp_roots_main_tp();
	uintptr_t lo = map_start(m, (uintptr_t)__libc_stack_end - 1);
	unsigned unknown = 0;

	nblocked = 0;
	if (main_tp != 0 && lo != 0)
		lsp_roots_running(lsp_reach_on_root, rr, getpid(), main_tp,
		    live_from(rr, getpid(), lo));
	else
		unknown++;
	for (i = 0; i < n; i++) {
		if (tid[i] == getpid())
			continue;
		lo = tp[i] != 0 ? map_start(m, tp[i]) : 0;
		if (lo == 0) {
			unknown++;
			continue;
		}
		lsp_roots_running(lsp_reach_on_root, rr, tid[i], tp[i],
		    live_from(rr, tid[i], lo));
	}
	return unknown;
}

/* --- the clone --- */

static struct lsp_scan clone_scan;
static pid_t clone_pid;		/* the clone scanning, or 0 */
static bool cancelled;		/* killed for the final snapshot */
static bool hurry;		/* the writer's lock is wanted */

void
lsp_reach_uncancel(void)
{
	__atomic_store_n(&cancelled, false, __ATOMIC_RELEASE);
}

void
lsp_reach_hurry(void)
{
	__atomic_store_n(&hurry, true, __ATOMIC_RELEASE);
}

void
lsp_reach_cancel(void)
{
	pid_t pid = __atomic_load_n(&clone_pid, __ATOMIC_ACQUIRE);

	__atomic_store_n(&cancelled, true, __ATOMIC_RELEASE);
	if (pid > 0)
		(void)syscall(SYS_kill, pid, SIGKILL);
}

/* In the clone: mark, write the records into out, end. */
static __attribute__((noreturn)) void
clone_main(struct out *out, const struct lsp_reach_roots *rr,
    uint32_t index, uint64_t mono_ns, const char *why, uint32_t covered)
{
	struct lsp_scan_reader rd = { lsp_scan_read_self, NULL, true };
	struct ls_buf b = { 0 };
	int r;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	(void)prctl(PR_SET_NAME, "leakspy-scan", 0, 0, 0);
	lsp_dump_spill_off = true;
	lsp_reach_pad_index();
	b.p = (uint8_t *)(out + 1);
	b.cap = OUT_MAX - sizeof(*out);
	r = lsp_reach_fill(&clone_scan);
	/* Stacks are read whole here, dead frames included: their words
	 * come last for the owners. */
	if (r == 0) {
		lsp_scan_tiered(&clone_scan);
		lsp_scan_deadline(&clone_scan, LSP_REACH_CLONE_NS);
	}
	if (r == 0)
		r = lsp_scan_run(&clone_scan, rr->r, rr->n, &rd);
	if (r == 0) {
		lsp_reach_emit_scan(&b, index, mono_ns, why, 0, 0, &clone_scan,
		    covered);
		if (b.err != 0)
			r = -ENOSPC;
	}
	out->err = r;
	out->len = r == 0 ? b.len : 0;
	__atomic_store_n(&out->done, 1, __ATOMIC_RELEASE);
	syscall(SYS_exit_group, 0);
	for (;;)
		;
}

/* Why a scan failed, in words. */
static const char *
failure(int err)
{
	switch (-err) {
	case ENOTSUP: return "sampled mode: only some blocks are known";
	case ETIMEDOUT: return "stopped: it took longer than 120 s";
	case ENOMEM: return "out of memory";
	case ENOSPC: return "its records did not fit";
	case EPERM: case EACCES: return "the clone was refused";
	case EAGAIN: return "the clone was refused (process limit)";
	case ENOSYS: return "the clone was refused (sandboxed)";
	case ECHILD: return "the scan's clone was reaped by the program";
	case EINTR: return "the scan's clone was killed";
	default: return "the scan failed";
	}
}

/* A scan under way, from lsp_reach_clone_start to _finish. */
static struct {
	bool on;
	bool reaped;
	int err;		/* 0, or why it failed before the clone ran */
	uint64_t t0;
	long pid;
	struct out *out;
	struct maps m;
	struct lsp_reach_roots rr;
} pend;

void
lsp_reach_clone_start(uint32_t index, uint32_t covered)
{
	struct ls_fmt f;
	char why[192];
	unsigned unknown = 0, bits;
	int r;

	pend = (typeof(pend)){ .on = true, .t0 = lsp_run_ns(), .pid = -1 };
	st.last_ns = pend.t0;
	st.last_began_live = live_bytes();
	ls_fmt_init(&f, why, sizeof(why));
	if (lsp_cfg.sample != 0) {
		pend.err = -ENOTSUP;
		return;
	}
	lsp_reach_serials();
	r = lsp_reach_roots_init(&pend.rr);
	if (r == 0)
		r = lsp_roots_collect();
	if (r == 0)
		r = read_maps(&pend.m);
	if (r == 0) {
		lsp_reach_globals(&pend.rr);
		unknown = thread_roots(&pend.rr, &pend.m);
		lsp_reach_cache(&pend.rr);
		r = pend.rr.lost ? -ENOMEM : 0;
	}
	if (r == 0) {
		pend.out = mmap(NULL, OUT_MAX, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (pend.out == MAP_FAILED) {
			pend.out = NULL;
			r = -ENOMEM;
		}
	}
	bits = lsp_roots_running_incomplete();
	ls_fmt_str(&f, "taken while the program ran: registers not read");
	if (unknown != 0) {
		ls_fmt_str(&f, "; ");
		ls_fmt_u64(&f, unknown);
		ls_fmt_str(&f, unknown == 1 ? " thread's stack unknown" :
		    " threads' stacks unknown");
	}
	if (bits & LSP_ROOTS_NO_TLS)
		ls_fmt_str(&f, "; TLS bounds unknown");
	pend.err = r;
	if (r != 0)
		return;
	/* The program waits for the tables for the time of the clone; the
	 * clone sees them whole. */
	lsp_record_lock_all();
	/* The descriptor table shared: a descriptor the program closes
	 * meanwhile is closed, its peer sees the end (the clone opens
	 * none). */
	if (!__atomic_load_n(&cancelled, __ATOMIC_ACQUIRE))
		pend.pid = syscall(SYS_clone, (unsigned long)CLONE_FILES, NULL,
		    NULL, NULL, NULL);
	else
		errno = EINTR;
	if (pend.pid == 0)
		clone_main(pend.out, &pend.rr, index, pend.t0, why, covered);
	lsp_record_unlock_all();
	if (pend.pid < 0)
		pend.err = -errno;
	else
		__atomic_store_n(&clone_pid, (pid_t)pend.pid,
		    __ATOMIC_RELEASE);
	/* An exit that came meanwhile found no clone to kill. */
	if (pend.pid > 0 && __atomic_load_n(&cancelled, __ATOMIC_ACQUIRE))
		lsp_reach_cancel();
}

bool
lsp_reach_clone_pending(void)
{
	return pend.on;
}

/* Whether the clone has ended (reaped now, or by the program). */
static bool
clone_ended(void)
{
	int status;
	long w;

	if (pend.reaped)
		return true;
	do
		w = waitpid((pid_t)pend.pid, &status, __WCLONE | WNOHANG);
	while (w < 0 && errno == EINTR);
	if (w == 0)
		return false;
	pend.reaped = true;
	__atomic_store_n(&clone_pid, 0, __ATOMIC_RELEASE);
	return true;
}

bool
lsp_reach_clone_ready(void)
{
	return pend.on && (pend.err != 0 || clone_ended());
}

static void
clone_free(void)
{
	if (pend.out != NULL)
		munmap(pend.out, OUT_MAX);
	if (pend.m.r != NULL)
		ls_unmap(pend.m.r, pend.m.cap * 2 * sizeof(*pend.m.r));
	lsp_reach_roots_free(&pend.rr);
	pend.on = false;
}

void
lsp_reach_clone_finish(struct ls_buf *b, uint32_t index, uint32_t covered)
{
	/* Half the snapshot interval, at most LSP_REACH_CLONE_WAIT_NS. */
	uint64_t half = (uint64_t)lsp_cfg.interval_ms * 500000u;
	uint64_t until = lsp_run_ns() + (half != 0 &&
	    half < LSP_REACH_CLONE_WAIT_NS ? half : LSP_REACH_CLONE_WAIT_NS);
	struct timespec ms = { 0, 1000000 };
	int r = pend.err;

	if (!pend.on)
		return;
	while (r == 0 && !clone_ended()) {
		/* Still marking: a later snapshot's; sooner if a fork or a
		 * sandbox waits for the writer's lock. */
		if (lsp_run_ns() >= until ||
		    __atomic_exchange_n(&hurry, false, __ATOMIC_ACQ_REL))
			return;
		nanosleep(&ms, NULL);
	}
	if (r == 0)
		r = __atomic_load_n(&pend.out->done, __ATOMIC_ACQUIRE) ?
		    pend.out->err : -EINTR;
	if (r == -EINTR && __atomic_load_n(&cancelled, __ATOMIC_ACQUIRE)) {
		/* The final snapshot killed it, and scans on its own. */
		clone_free();
		return;
	}
	/* The records were written for the snapshot the scan began in. */
	if (r == 0 && ls_recs_reindex((uint8_t *)(pend.out + 1),
	    (size_t)pend.out->len, index) != 0)
		r = -ENOSPC;
	if (r == 0) {
		ls_buf_bytes(b, pend.out + 1, pend.out->len);
		lsp_dump_spill(b);
	} else {
		lsp_reach_emit_scan(b, index, pend.t0, failure(r), 0, 0, NULL,
		    covered);
	}
	clone_free();
	st.last_live = live_bytes();
	st.last_took_ns = lsp_run_ns() - pend.t0;
	st.next_timed_ns = lsp_run_ns() + (uint64_t)lsp_cfg.scan_ms * 1000000u;
}

void
lsp_reach_clone_drop(void)
{
	if (!pend.on)
		return;
	if (pend.err == 0 && !pend.reaped) {
		int status;

		(void)syscall(SYS_kill, (pid_t)pend.pid, SIGKILL);
		while (waitpid((pid_t)pend.pid, &status, __WCLONE) < 0 &&
		    errno == EINTR)
			;
		pend.reaped = true;
		__atomic_store_n(&clone_pid, 0, __ATOMIC_RELEASE);
	}
	clone_free();
}

void
lsp_reach_postfork_child(void)
{
	/* The parent's clone is not this process's child. */
	if (pend.out != NULL)
		munmap(pend.out, OUT_MAX);
	pend.on = false;
	pend.out = NULL;
	clone_pid = 0;
	cancelled = false;
	hurry = false;
	st = (typeof(st)){ 0 };
}
