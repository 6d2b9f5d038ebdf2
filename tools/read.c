/* SPDX-License-Identifier: MIT */
/*
 * Reading a dump into memory: the file, the loop over its records, and
 * the records outside a snapshot (read-snap.c and read-threads.c read the
 * others).  Every count is checked against the bytes that remain before
 * anything is allocated for it, so memory stays within a small multiple
 * of the file's size whatever the file says, and every other field
 * against what it refers to (leakspy-dump(5), "Reading"); the reader
 * stops at the first bad record and keeps what came before, nothing of
 * the record itself.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "read.h"
#include "xalloc.h"

/* Read before the rest of a file, to see that it is a dump: more than the
 * first line (23 bytes at most). */
#define HEAD_BYTES 4096

static char *
cur_strdup(struct ls_cur *c)
{
	size_t n;
	const char *s = ls_cur_str(c, &n);

	return lsr_xstrndup(s ? s : "", s ? n : 0);
}

static void
fail(struct lsr_dump *d, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	if (d->error != NULL)
		return;
	va_start(ap, fmt);
	d->error = lsr_xvasprintf(fmt, ap);
	va_end(ap);
	d->error_offset = off;
}

/* Forget what a PROCESS record that failed half way left in d. */
static void
process_undo(struct lsr_dump *d)
{
	size_t i;

	for (i = 0; i < d->argc; i++)
		free(d->argv[i]);
	free(d->argv);
	free(d->exe);
	free(d->name);
	free(d->interpose_note);
	free(d->alloc_addrs);
	d->argv = NULL;
	d->exe = d->name = d->interpose_note = NULL;
	d->alloc_addrs = NULL;
	d->argc = d->nalloc_addrs = 0;
	d->pid = d->ppid = d->start_real_ns = d->pflags = 0;
	d->max_depth = d->interval_ms = d->sample_bytes = 0;
	d->inherited_epoch = 0;
}

/* PROCESS: the fields up to the note.  Counts bound what is allocated;
 * argc and nalloc_addrs only ever count filled entries. */
static int
process_fields(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	uint64_t n;

	d->pid = ls_cur_uv(c);
	d->ppid = ls_cur_uv(c);
	d->start_real_ns = ls_cur_uv(c);
	d->exe = cur_strdup(c);
	n = ls_cur_uv(c);
	if (c->err)
		return P->why = "PROCESS record cut short", -1;
	if (n > lsr_left(c))	/* each argument takes a byte at least */
		return P->why = "argument count out of range", -1;
	d->argv = lsr_xcalloc((size_t)n + 1, sizeof(*d->argv));
	while (d->argc < n)
		d->argv[d->argc++] = cur_strdup(c);
	d->pflags = ls_cur_uv(c);
	d->interpose_note = cur_strdup(c);
	n = ls_cur_uv(c);
	if (c->err)
		return P->why = "PROCESS record cut short", -1;
	if (n > lsr_left(c))
		return P->why = "address count out of range", -1;
	d->alloc_addrs = lsr_xcalloc((size_t)n, sizeof(uint64_t));
	while (d->nalloc_addrs < n)
		d->alloc_addrs[d->nalloc_addrs++] = ls_cur_uv(c);
	return 0;
}

static int
rec_process(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	const char *name;
	size_t n;

	if (d->have_process)
		return P->why = "second PROCESS record", -1;
	if (process_fields(P, c) != 0)
		goto out_undo;
	d->max_depth = ls_cur_uv(c);
	d->interval_ms = ls_cur_uv(c);
	d->sample_bytes = ls_cur_uv(c);
	if (c->err) {
		P->why = "PROCESS record cut short";
		goto out_undo;
	}
	/* Fields added later: older dumps lack them. */
	if (c->p < c->end)
		d->inherited_epoch = ls_cur_uv(c);
	if (c->err || d->inherited_epoch > 0xffff) {
		P->why = "bad inherited epoch";
		goto out_undo;
	}
	if (c->p < c->end) {
		name = ls_cur_str(c, &n);
		if (name == NULL) {
			P->why = "PROCESS record cut short (name)";
			goto out_undo;
		}
		d->name = lsr_xstrndup(name, n);
	} else {
		d->name = lsr_xstrndup(lsr_base_name(d->exe),
		    strlen(lsr_base_name(d->exe)));
	}
	d->have_process = true;
	return 0;

out_undo:
	process_undo(d);
	return -1;
}

static int
rec_module(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	struct lsr_module m;
	uint64_t id = ls_cur_uv(c), gen = ls_cur_uv(c), nseg, i;
	const char *bid, *path;
	size_t n, npath;

	memset(&m, 0, sizeof(m));
	m.bias = ls_cur_uv(c);
	path = ls_cur_str(c, &npath);
	bid = ls_cur_str(c, &n);
	nseg = ls_cur_uv(c);
	if (c->err)
		return P->why = "MODULE record cut short", -1;
	if (id != d->nmodules || id > UINT32_MAX)
		return P->why = "module ids out of order", -1;
	if (gen > UINT32_MAX)
		return P->why = "module generation out of range", -1;
	if (n > sizeof(m.build_id))
		return P->why = "build id too long", -1;
	if (nseg > lsr_left(c) / 2)
		return P->why = "segment count out of range", -1;
	m.id = (uint32_t)id;
	m.gen = (uint32_t)gen;
	memcpy(m.build_id, bid, n);
	m.build_id_len = n;
	m.nseg = (unsigned)nseg;
	m.seg = lsr_xcalloc((size_t)nseg, sizeof(*m.seg));
	for (i = 0; i < nseg; i++) {
		m.seg[i][0] = ls_cur_uv(c);
		m.seg[i][1] = ls_cur_uv(c);
	}
	if (c->err) {
		free(m.seg);
		return P->why = "MODULE record cut short", -1;
	}
	m.path = lsr_xstrndup(path, npath);
	d->modules = lsr_xgrow(d->modules, &P->cap_modules, d->nmodules + 1,
	    sizeof(*d->modules));
	d->modules[d->nmodules++] = m;
	return 0;
}

static int
rec_module_gone(struct lsr_parser *P, struct ls_cur *c)
{
	uint64_t id = ls_cur_uv(c);
	uint64_t gen = ls_cur_uv(c);

	if (c->err || id >= P->d->nmodules)
		return P->why = "MODULE_GONE for an unknown module", -1;
	if (gen > UINT32_MAX)
		return P->why = "module generation out of range", -1;
	P->d->modules[id].gone = true;
	P->d->modules[id].gone_gen = (uint32_t)gen;
	return 0;
}

/* One stack of a STACKS record, added to d if whole. */
static int
one_stack(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	struct lsr_stack s;
	uint64_t id = ls_cur_uv(c), gen = ls_cur_uv(c), api = ls_cur_uv(c);
	uint64_t flags = ls_cur_uv(c), n = ls_cur_uv(c), i;

	if (c->err)
		return P->why = "STACKS record cut short", -1;
	if (id != d->nstacks || id > UINT32_MAX)
		return P->why = "stack ids out of order", -1;
	if (gen > UINT32_MAX)
		return P->why = "stack generation out of range", -1;
	if (n > LSR_MAX_FRAMES_READ || n > lsr_left(c))
		return P->why = "frame count out of range", -1;
	memset(&s, 0, sizeof(s));
	s.gen = (uint32_t)gen;
	s.api = lsr_enum(api, LS_API_COUNT);
	s.flags = (unsigned)(flags & LS_SF_TRUNCATED);
	s.nframes = (unsigned)n;
	s.ip = lsr_xcalloc((size_t)n, sizeof(*s.ip));
	for (i = 0; i < n; i++)
		s.ip[i] = ls_cur_uv(c);
	if (c->err) {
		free(s.ip);
		return P->why = "STACKS record cut short", -1;
	}
	d->stacks = lsr_xgrow(d->stacks, &P->cap_stacks, d->nstacks + 1,
	    sizeof(*d->stacks));
	d->stacks[d->nstacks++] = s;
	return 0;
}

static int
rec_stacks(struct lsr_parser *P, struct ls_cur *c)
{
	uint64_t count = ls_cur_uv(c), k;

	if (c->err)
		return P->why = "STACKS record cut short", -1;
	if (count > lsr_left(c) / 5)	/* five fields a stack at least */
		return P->why = "stack count out of range", -1;
	for (k = 0; k < count; k++)
		if (one_stack(P, c) != 0)
			return -1;
	return 0;
}

static int
rec_final(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	uint64_t how = ls_cur_uv(c), signo = 0;

	if (P->snap_open)
		return P->why = "FINAL inside a snapshot", -1;
	if (how == LS_FINAL_SIGNAL)
		signo = ls_cur_uv(c);
	if (c->err)
		return P->why = "FINAL record cut short", -1;
	/* Linux numbers signals from 1 to 64. */
	if (how == LS_FINAL_SIGNAL && (signo < 1 || signo > 64))
		return P->why = "FINAL: bad signal number", -1;
	d->final = true;
	d->final_how = lsr_enum(how, LS_FINAL_COUNT);
	d->final_signo = (int)signo;
	P->final_how = how;
	return 0;
}

static int
rec_lost(struct lsr_parser *P, struct ls_cur *c, uint64_t offset)
{
	struct lsr_dump *d = P->d;
	uint64_t reason = ls_cur_uv(c), last = ls_cur_uv(c);
	uint64_t errnum = ls_cur_uv(c);
	struct lsr_lost *l;

	if (c->err)
		return P->why = "LOST record cut short", -1;
	if (P->snap_open)
		return P->why = "LOST inside a snapshot", -1;
	if (last > 1)
		return P->why = "LOST: bad last flag (not 0 or 1)", -1;
	if (errnum > 4095)	/* Linux errno values are below 4096 */
		return P->why = "LOST: errno out of range", -1;
	d->lost = lsr_xgrow(d->lost, &P->cap_lost, d->nlost + 1,
	    sizeof(*d->lost));
	l = &d->lost[d->nlost++];
	l->offset = offset;
	l->reason = lsr_enum(reason, LS_SNAP_COUNT);
	l->last = last == 1;
	l->errnum = (int)errnum;
	return 0;
}

static int
rec_note(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	const char *s;
	size_t n;

	s = ls_cur_str(c, &n);
	if (s == NULL)
		return P->why = "NOTE record cut short", -1;
	d->notes = lsr_xgrow(d->notes, &P->cap_notes, d->nnotes + 1,
	    sizeof(*d->notes));
	d->notes[d->nnotes++] = lsr_xstrndup(s, n);
	return 0;
}

/* A refused setting: four strings, kept whole or not at all. */
static int
rec_setting(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	const char *s[4];
	size_t n[4], i;
	struct lsr_setting *st;

	for (i = 0; i < 4; i++)
		s[i] = ls_cur_str(c, &n[i]);
	if (c->err)
		return P->why = "SETTING record cut short", -1;
	/* Room doubles at each power of two, so no capacity is kept. */
	if ((d->nsettings & (d->nsettings - 1)) == 0) {
		d->settings = lsr_xrealloc(d->settings, d->nsettings ?
		    2 * d->nsettings : 1, sizeof(*d->settings));
	}
	st = &d->settings[d->nsettings++];
	st->name = lsr_xstrndup(s[0], n[0]);
	st->given = lsr_xstrndup(s[1], n[1]);
	st->used = lsr_xstrndup(s[2], n[2]);
	st->reason = lsr_xstrndup(s[3], n[3]);
	return 0;
}

/* Read record rec into P->d: 0, -1 with P->why set, or -2 when the
 * error is already recorded. */
static int
one_record(struct lsr_parser *P, struct ls_rec *rec)
{
	struct ls_cur *c = &rec->body;

	switch (rec->type) {
	case LS_REC_PROCESS:
		return rec_process(P, c);
	case LS_REC_MODULE:
		return rec_module(P, c);
	case LS_REC_MODULE_GONE:
		return rec_module_gone(P, c);
	case LS_REC_STACKS:
		return rec_stacks(P, c);
	case LS_REC_SNAPSHOT:
		return lsr_rec_snapshot(P, c);
	case LS_REC_SITES:
		return lsr_rec_sites(P, c);
	case LS_REC_SNAPSHOT_END:
		return lsr_rec_snapshot_end(P, c);
	case LS_REC_AGES:
		return lsr_rec_ages(P, c);
	case LS_REC_FINAL:
		return rec_final(P, c);
	case LS_REC_NOTE:
		return rec_note(P, c);
	case LS_REC_THREADS:
		return lsr_rec_threads(P, c);
	case LS_REC_STACK_THREADS:
		return lsr_rec_stack_threads(P, c);
	case LS_REC_LOST:
		return rec_lost(P, c, rec->offset);
	case LS_REC_SETTING:
		return rec_setting(P, c);
	case LS_REC_SCAN:
		return lsr_rec_scan(P, c);
	case LS_REC_OWNERS:
		return lsr_rec_owners(P, c);
	case LS_REC_CHAIN:
		return lsr_rec_chain(P, c);
	}
	if (rec->type & LS_REC_OPTIONAL)
		return 0;
	fail(P->d, rec->offset, "unknown record type %u", rec->type);
	return -2;
}

bool lsr_progress;

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * With lsr_progress, once reading d has taken a second: how far it got,
 * on stderr, every second (on a terminal, on one line redrawn), and
 * when it is done.
 */
static struct {
	const struct lsr_dump *of;
	uint64_t start, last;
	bool said;
} prog;

/* Reading d begins (its file is opened; a slow FIFO counts too). */
static void
progress_begin(const struct lsr_dump *d)
{
	prog.of = d;
	prog.start = prog.last = mono_ms();
	prog.said = false;
}

static void
progress(const struct lsr_dump *d, size_t off, size_t size, bool done)
{
	bool tty;
	uint64_t now;

	if (!lsr_progress)
		return;
	if (prog.of != d)
		progress_begin(d);
	now = mono_ms();
	if (now - prog.start < 1000 ||
	    (!done && prog.said && now - prog.last < 1000))
		return;
	prog.last = now;
	tty = isatty(STDERR_FILENO);
	fprintf(stderr, "%sleakspy-report: %s: %s %zu of %zu MiB (%d%%)%s",
	    tty ? "\r" : "", d->path, done ? "read" : "reading",
	    off >> 20, size >> 20, size ? (int)((double)off * 100 / size) :
	    100, tty && !done ? "\033[K" : "\n");
	prog.said = true;
}

void
lsr_parse(const uint8_t *data, size_t size, struct lsr_dump *d)
{
	struct lsr_parser P = { .d = d };
	const char *why = NULL;
	size_t off = ls_dump_check_header(data, size, &why);
	struct ls_rec rec;
	int r;

	if (off == 0) {
		fail(d, 0, "%s", why);
		return;
	}
	while ((r = ls_dump_next(data, size, &off, &rec, &why)) == 1) {
		int rr;

		if ((++P.nrec & 0xfff) == 0)
			progress(d, off, size, false);
		if (d->final && P.final_how == LS_FINAL_EXEC) {
			/* The exec failed: the process goes on. */
			d->final = false;
			d->final_how = 0;
		} else if (d->final) {
			fail(d, rec.offset, "record after the final one");
			break;
		}
		if (!d->have_process && rec.type != LS_REC_PROCESS) {
			fail(d, rec.offset, "dump does not start with PROCESS");
			break;
		}
		P.why = NULL;
		rr = one_record(&P, &rec);
		if (rr == -1)
			fail(d, rec.offset, "%s", P.why);
		if (rr != 0)
			break;
	}
	progress(d, off, size, true);
	if (r < 0)
		fail(d, off, "%s", why);
	if (P.snap_open && d->error == NULL)
		fail(d, size, "the last snapshot is cut short");
	/* A snapshot without its end takes its scan with it. */
	lsr_scan_discard(&P);
	free(P.changes);
	free(P.ages);
	free(P.tmap);
	if (!d->final)
		d->incomplete = true;
}

/*
 * Read fd into data[*len..cap-1] until it is full or at the end of the
 * file.  Returns 1 when full, 0 at the end, -1 with errno set.
 */
static int
fill(int fd, uint8_t *data, size_t *len, size_t cap)
{
	while (*len < cap) {
		ssize_t n = read(fd, data + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
	return 1;
}

/*
 * Read the whole of fd into *data (malloc'd), *len bytes.  Its first
 * HEAD_BYTES are checked before the rest is read, so that a file that is
 * no dump costs no more than that.  Returns 1 with all of it, 0 with only
 * the head (which ls_dump_check_header refuses), -1 with errno set.
 */
static int
slurp(int fd, size_t size_hint, uint8_t **data, size_t *len)
{
	size_t cap = HEAD_BYTES;
	const char *why;
	int r;

	*len = 0;
	*data = lsr_xrealloc(NULL, cap, 1);
	r = fill(fd, *data, len, cap);
	if (r <= 0)
		return r < 0 ? -1 : 1;
	if (ls_dump_check_header(*data, *len, &why) == 0)
		return 0;
	for (;;) {
		cap = cap < size_hint + 65536 ? size_hint + 65536 : cap * 2;
		*data = lsr_xrealloc(*data, cap, 1);
		r = fill(fd, *data, len, cap);
		if (r <= 0)
			return r < 0 ? -1 : 1;
	}
}

int
lsr_read(const char *path, struct lsr_dump *d)
{
	struct stat st;
	uint8_t *data;
	size_t len;
	int fd, r;

	memset(d, 0, sizeof(*d));
	d->path = path;
	progress_begin(d);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		warn("%s", path);
		return -1;
	}
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) ||
	    S_ISFIFO(st.st_mode))) {
		warnx("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* Blocking reads from here on (a FIFO was opened non-blocking only
	 * so that opening it does not wait). */
	fcntl(fd, F_SETFL, 0);
	r = slurp(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, &data,
	    &len);
	if (r < 0) {
		warn("%s", path);
		free(data);
		close(fd);
		return -1;
	}
	close(fd);
	/* With only the head, lsr_parse says what is wrong with it. */
	lsr_parse(data, len, d);
	free(data);
	return 0;
}

void
lsr_dump_fini(struct lsr_dump *d)
{
	size_t i;

	process_undo(d);
	free(d->lost);
	for (i = 0; i < d->nmodules; i++) {
		free(d->modules[i].path);
		free(d->modules[i].seg);
	}
	free(d->modules);
	for (i = 0; i < d->nstacks; i++) {
		free(d->stacks[i].ip);
		free(d->stacks[i].chg);
		free(d->stacks[i].age);
	}
	free(d->stacks);
	free(d->snaps);
	for (i = 0; i < d->nnotes; i++)
		free(d->notes[i]);
	free(d->notes);
	for (i = 0; i < d->nsettings; i++) {
		free(d->settings[i].name);
		free(d->settings[i].given);
		free(d->settings[i].used);
		free(d->settings[i].reason);
	}
	free(d->settings);
	for (i = 0; i < d->nthread_names; i++)
		free(d->thread_names[i]);
	free(d->thread_names);
	for (i = 0; i < d->nthreads; i++) {
		free(d->threads[i].ip);
		free(d->threads[i].ver);
	}
	free(d->threads);
	for (i = 0; i < d->nscans; i++)
		lsr_scan_fini(&d->scans[i]);
	free(d->scans);
	free(d->error);
	memset(d, 0, sizeof(*d));
}
