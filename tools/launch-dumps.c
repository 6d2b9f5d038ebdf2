/* SPDX-License-Identifier: MIT */
/*
 * After the run, the launcher names the dumps it wrote: the files matching
 * the output template that were not there before and whose PROCESS record
 * is of the command's process or of a descendant.  It says how to read
 * them, and when a traced program executed another before its first
 * snapshot, that only that wrapper was traced.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump.h"
#include "launch.h"

#define SHOWN_MAX	20	/* dumps listed by name */
#define INLINE_MAX	4	/* dumps put on one leakspy-report command */

struct fileid {
	dev_t dev;
	ino_t ino;
};

struct dump {
	char *path;		/* as the template spells it: maybe relative */
	char *name;		/* of the program */
	uint64_t pid;
	uint64_t ppid;
	uint64_t start_ns;
	bool exec_only;		/* it ended in an exec, no other snapshot */
	bool ours;		/* of the command's process tree */
};

/* Files seen before the run (old) and dumps found after it (d). */
struct lsr_scan {
	char *tmpl;
	struct fileid *old;
	size_t nold;
	struct dump *d;
	size_t nd;
	bool found;		/* d is the run's dumps, in start order */
};

typedef void file_fn(struct lsr_scan *s, char *path, const struct stat *st);

/* Does name s match t, the template's last component?  %p stands for
 * digits, %e for any text. */
static bool
match(const char *t, const char *s)
{
	size_t i;

	for (; *t != '\0'; t++, s++) {
		if (t[0] == '%' && (t[1] == 'p' || t[1] == 'e')) {
			for (i = 1; s[i - 1] != '\0' && (t[1] == 'e' ||
			    (s[i - 1] >= '0' && s[i - 1] <= '9')); i++)
				if (match(t + 2, s + i))
					return true;
			return false;
		}
		if (t[0] == '%' && t[1] == '%')
			t++;
		if (*t != *s)
			return false;
	}
	return *s == '\0';
}

/* The name itself, or the name an exec'd image takes when the first is
 * taken: ".2" to ".99" before a final ".lsd", else at the end. */
static bool
matches(const char *t, const char *name)
{
	char buf[NAME_MAX + 1];
	size_t n = strlen(name), end = n, k;

	if (match(t, name))
		return true;
	if (n > 4 && strcmp(name + n - 4, ".lsd") == 0)
		end = n - 4;
	for (k = end; k > 0 && name[k - 1] >= '0' && name[k - 1] <= '9'; k--)
		continue;
	if (k < 2 || k == end || end - k > 2 || name[k - 1] != '.' ||
	    name[k] == '0' || (end - k == 1 && name[k] == '1') ||
	    n >= sizeof(buf))
		return false;
	memcpy(buf, name, k - 1);
	strcpy(buf + k - 1, name + end);
	return match(t, buf);
}

static void
scan_dir(struct lsr_scan *s, const char *dir, const char *prefix,
    const char *base, file_fn *fn)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char *path;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!matches(base, e->d_name) || fstatat(dirfd(d), e->d_name,
		    &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (asprintf(&path, "%s%s", prefix, e->d_name) >= 0)
			fn(s, path, &st);
	}
	closedir(d);
}

/* A glob(3) pattern for the directories a template's directory part
 * names: %p and %e become "*". */
static char *
dir_pattern(const char *dir)
{
	char *pat = malloc(strlen(dir) * 2 + 1), *w = pat;

	if (pat == NULL)
		return NULL;
	for (; *dir != '\0'; dir++) {
		if (dir[0] == '%' && (dir[1] == 'p' || dir[1] == 'e')) {
			*w++ = '*';
			dir++;
			continue;
		}
		if (dir[0] == '%' && dir[1] == '%')
			dir++;
		else if (strchr("*?[\\", *dir) != NULL)
			*w++ = '\\';
		*w++ = *dir;
	}
	*w = '\0';
	return pat;
}

/* Call fn for each regular file matching the template; fn owns path. */
static void
each_file(struct lsr_scan *s, file_fn *fn)
{
	const char *slash = strrchr(s->tmpl, '/');
	char *dir, *pat;
	glob_t g;
	size_t i;

	if (slash == NULL) {
		scan_dir(s, ".", "", s->tmpl, fn);
		return;
	}
	/* With its slash: "dir/" or "/", a prefix of each path. */
	dir = strndup(s->tmpl, (size_t)(slash - s->tmpl) + 1);
	if (dir == NULL)
		return;
	if (strchr(dir, '%') == NULL) {
		scan_dir(s, dir, dir, slash + 1, fn);
		free(dir);
		return;
	}
	pat = dir_pattern(dir);
	if (pat != NULL && glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			scan_dir(s, g.gl_pathv[i], g.gl_pathv[i], slash + 1,
			    fn);
		globfree(&g);
	}
	free(pat);
	free(dir);
}

static void
note_old(struct lsr_scan *s, char *path, const struct stat *st)
{
	struct fileid *p = realloc(s->old, (s->nold + 1) * sizeof(*p));

	free(path);
	if (p == NULL)
		return;
	s->old = p;
	s->old[s->nold].dev = st->st_dev;
	s->old[s->nold++].ino = st->st_ino;
}

struct lsr_scan *
lsr_dumps_before(const char *tmpl)
{
	struct lsr_scan *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->tmpl = strdup(tmpl)) == NULL) {
		free(s);
		return NULL;
	}
	each_file(s, note_old);
	return s;
}

/* A dump read as far as needed, never mapped: a process still running may
 * cut its dump back (a failed write-out) while it is read. */
struct rd {
	int fd;
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool eof;
};

/* Read on until the buffer holds more than want bytes, or all there is. */
static void
fill(struct rd *r, size_t want)
{
	ssize_t n;

	while (!r->eof && r->len <= want) {
		if (r->len == r->cap) {
			size_t cap = r->cap != 0 ? r->cap * 2 : 65536;
			uint8_t *p = realloc(r->buf, cap);

			if (p == NULL) {
				r->eof = true;
				break;
			}
			r->buf = p;
			r->cap = cap;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r->eof = true;
		else
			r->len += (size_t)n;
	}
}

/* The PROCESS record: who wrote the dump. */
static bool
read_process(struct ls_cur *c, struct dump *d)
{
	const char *exe, *s;
	size_t exelen, n;
	uint64_t i, count;

	d->pid = ls_cur_uv(c);
	d->ppid = ls_cur_uv(c);
	d->start_ns = ls_cur_uv(c);
	exe = ls_cur_str(c, &exelen);
	if (c->err || exe == NULL)
		return false;
	count = ls_cur_uv(c);			/* argv */
	for (i = 0; i < count && !c->err; i++)
		ls_cur_str(c, &n);
	ls_cur_uv(c);				/* flags */
	ls_cur_str(c, &n);			/* interposition note */
	count = ls_cur_uv(c);			/* alloc_addr */
	for (i = 0; i < count && !c->err; i++)
		ls_cur_uv(c);
	for (i = 0; i < 4; i++)			/* depth ... inherited_epoch */
		ls_cur_uv(c);
	s = ls_cur_str(c, &n);
	if (c->err || s == NULL || n == 0) {
		/* A dump without the name: the file name of the exe. */
		s = memrchr(exe, '/', exelen);
		s = s != NULL ? s + 1 : exe;
		n = exelen - (size_t)(s - exe);
	}
	d->name = strndup(s, n);
	return d->name != NULL;
}

/*
 * Read path's PROCESS record, and whether the process ended in an exec
 * before any other snapshot: records are read up to the first snapshot
 * that is not an exec's, or to the end.
 */
static bool
read_dump(const char *path, struct dump *d)
{
	struct rd r = { .fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) };
	struct ls_rec rec;
	struct ls_cur c;
	struct stat st;
	const char *why;
	bool first = true, own = false, exec_end = false;
	size_t off;
	int rc;

	if (r.fd < 0)
		return false;
	if (fstat(r.fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	fill(&r, 64);
	off = ls_dump_check_header(r.buf, r.len, &why);
	if (off == 0)
		goto out;
	for (;;) {
		/* A record past the buffer's end: read on, and again. */
		while ((rc = ls_dump_next(r.buf, r.len, &off, &rec,
		    &why)) < 0 && !r.eof)
			fill(&r, r.len);
		if (rc <= 0)
			break;
		c = rec.body;
		if (first) {
			if (rec.type != LS_REC_PROCESS || !read_process(&c, d))
				goto out;
			first = false;
		} else if (rec.type == LS_REC_SNAPSHOT) {
			ls_cur_uv(&c);		/* index */
			ls_cur_uv(&c);		/* mono_ns */
			ls_cur_uv(&c);		/* realtime_ns */
			if (ls_cur_uv(&c) != LS_SNAP_EXEC) {
				own = true;
				break;
			}
		} else if (rec.type == LS_REC_FINAL) {
			exec_end = ls_cur_uv(&c) == LS_FINAL_EXEC;
		}
	}
	d->exec_only = !own && exec_end;
out:
	free(r.buf);
	close(r.fd);
	return !first;
}

static bool
is_old(const struct lsr_scan *s, const struct stat *st)
{
	size_t i;

	for (i = 0; i < s->nold; i++)
		if (s->old[i].dev == st->st_dev && s->old[i].ino == st->st_ino)
			return true;
	return false;
}

static void
note_new(struct lsr_scan *s, char *path, const struct stat *st)
{
	struct dump d = { .path = path }, *p;

	if (is_old(s, st) || !read_dump(path, &d) ||
	    (p = realloc(s->d, (s->nd + 1) * sizeof(*p))) == NULL) {
		free(d.name);
		free(path);
		return;
	}
	s->d = p;
	s->d[s->nd++] = d;
}

/* Mark the dumps of pid's images and of its descendants, as far as the
 * parents recorded in the dumps tell; keep only those. */
static void
keep_ours(struct lsr_scan *s, pid_t pid)
{
	bool more = true;
	size_t i, j, n = 0;

	for (i = 0; i < s->nd; i++)
		s->d[i].ours = s->d[i].pid == (uint64_t)pid;
	while (more) {
		more = false;
		for (i = 0; i < s->nd; i++)
			for (j = 0; j < s->nd && !s->d[i].ours; j++)
				if (s->d[j].ours &&
				    (s->d[j].pid == s->d[i].pid ||
				    s->d[j].pid == s->d[i].ppid))
					s->d[i].ours = more = true;
	}
	for (i = 0; i < s->nd; i++) {
		if (s->d[i].ours) {
			s->d[n++] = s->d[i];
		} else {
			free(s->d[i].path);
			free(s->d[i].name);
		}
	}
	s->nd = n;
}

static int
by_start(const void *a, const void *b)
{
	const struct dump *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Text from files and programs, without the control characters that a
 * terminal would act on. */
static void
put_text(const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s,
		    stderr);
}

/* A word of a shell command, quoted if it needs to be. */
static void
put_word(const char *s)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_-+./,:@%=";
	char one[2] = { 0, 0 };

	if (*s != '\0' && s[strspn(s, safe)] == '\0') {
		put_text(s);
		return;
	}
	fputc('\'', stderr);
	for (; *s != '\0'; s++) {
		one[0] = *s;
		if (*s == '\'')
			fputs("'\\''", stderr);
		else
			put_text(one);
	}
	fputc('\'', stderr);
}

static bool
same_file(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
	    x.st_ino == y.st_ino;
}

/* The leakspy-report next to this program, by its path unless the first
 * one in PATH is that file; else just the name. */
static char *
report_command(void)
{
	char self[PATH_MAX], *slash, *mine, *cand, *path, *dir, *save = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	bool first_is_mine = false;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return NULL;
	*slash = '\0';
	if (asprintf(&mine, "%s/leakspy-report", self) < 0)
		return NULL;
	if (access(mine, X_OK) != 0) {
		free(mine);
		return NULL;
	}
	path = strdup(getenv("PATH") != NULL ? getenv("PATH") : "");
	for (dir = path != NULL ? strtok_r(path, ":", &save) : NULL;
	    dir != NULL; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&cand, "%s/leakspy-report", dir) < 0)
			break;
		if (access(cand, X_OK) == 0) {
			first_is_mine = same_file(cand, mine);
			free(cand);
			break;
		}
		free(cand);
	}
	free(path);
	if (first_is_mine) {
		free(mine);
		return NULL;
	}
	return mine;
}

/* "PATH (NAME, pid N)", and how the process came to be if it is not the
 * command's first image. */
static void
describe(const struct lsr_scan *s, size_t i, pid_t pid)
{
	const struct dump *d = &s->d[i];
	size_t j;

	put_text(d->path);
	fputs(" (", stderr);
	put_text(d->name);
	fprintf(stderr, ", pid %llu", (unsigned long long)d->pid);
	for (j = i; j > 0 && s->d[j - 1].pid != d->pid; j--)
		continue;
	if (j > 0) {
		fputs(", executed by ", stderr);
		put_text(s->d[j - 1].name);
	} else if (d->pid != (uint64_t)pid) {
		fprintf(stderr, ", forked by pid %llu",
		    (unsigned long long)d->ppid);
	}
	fputs(")\n", stderr);
}

static void
tell_dumps(const struct lsr_scan *s, pid_t pid)
{
	char *cmd = report_command();
	const char *report = cmd != NULL ? cmd : "leakspy-report";
	size_t i;

	if (s->nd == 1) {
		fputs("leakspy: dump: ", stderr);
		describe(s, 0, pid);
	} else {
		fprintf(stderr, "leakspy: %zu dumps:\n", s->nd);
		for (i = 0; i < s->nd && i < SHOWN_MAX; i++) {
			fputs("leakspy:   ", stderr);
			describe(s, i, pid);
		}
		if (s->nd > SHOWN_MAX)
			fprintf(stderr, "leakspy:   and %zu more\n",
			    s->nd - SHOWN_MAX);
	}
	fprintf(stderr, "leakspy: read %s with: ", s->nd == 1 ? "it" :
	    s->nd <= INLINE_MAX ? "them" : "one");
	put_word(report);
	for (i = 0; i < s->nd && i < INLINE_MAX; i++) {
		fputc(' ', stderr);
		put_word(s->d[i].path);
		if (s->nd > INLINE_MAX)
			break;
	}
	fputs(s->nd > INLINE_MAX ? " (the others alike)\n" : "\n", stderr);
	free(cmd);
}

/* The dumps that ended in an exec and have no dump of the image after. */
static void
tell_wrappers(const struct lsr_scan *s, bool follow)
{
	size_t i, j, n = 0, first = 0;

	for (i = 0; i < s->nd; i++) {
		if (!s->d[i].exec_only)
			continue;
		for (j = i + 1; j < s->nd && s->d[j].pid != s->d[i].pid; j++)
			continue;
		if (j < s->nd)
			continue;
		if (n++ == 0)
			first = i;
	}
	if (n == 0)
		return;
	if (follow)
		fprintf(stderr, "leakspy: the program%s that ",
		    n > 1 ? "s" : "");
	else
		fprintf(stderr, "leakspy: only the wrapper%s traced: ",
		    n > 1 ? "s were" : " was");
	if (n > 1)
		fprintf(stderr, "%zu processes (the first: ", n);
	put_text(s->d[first].name);
	fprintf(stderr, n > 1 ? ", pid %llu)" : " (pid %llu)",
	    (unsigned long long)s->d[first].pid);
	if (follow)
		fputs(" executed wrote no dump (a static or set-user-ID "
		    "program, or one run without LD_PRELOAD, is not traced)\n",
		    stderr);
	else
		fprintf(stderr, " executed another program before %s first "
		    "snapshot; rerun with -f to trace %s too\n",
		    n > 1 ? "their" : "its",
		    n > 1 ? "those programs" : "that program");
}

static void
scan_free(struct lsr_scan *s)
{
	size_t i;

	for (i = 0; i < s->nd; i++) {
		free(s->d[i].path);
		free(s->d[i].name);
	}
	free(s->d);
	free(s->old);
	free(s->tmpl);
	free(s);
}

size_t
lsr_dumps_find(struct lsr_scan *s, pid_t pid)
{
	if (s == NULL)
		return 0;
	if (!s->found) {
		each_file(s, note_new);
		keep_ours(s, pid);
		qsort(s->d, s->nd, sizeof(*s->d), by_start);
		s->found = true;
	}
	return s->nd;
}

void
lsr_dumps_again(struct lsr_scan *s)
{
	size_t i;

	for (i = 0; i < s->nd; i++) {
		free(s->d[i].path);
		free(s->d[i].name);
	}
	s->nd = 0;
	s->found = false;
}

const char *
lsr_dumps_path(const struct lsr_scan *s, size_t i)
{
	return s->d[i].path;
}

void
lsr_dumps_warn(const struct lsr_scan *s, bool follow)
{
	setvbuf(stderr, NULL, _IOLBF, 0);
	tell_wrappers(s, follow);
}

void
lsr_dumps_free(struct lsr_scan *s)
{
	if (s != NULL)
		scan_free(s);
}

void
lsr_dumps_tell(struct lsr_scan *s, pid_t pid, bool follow)
{
	if (s == NULL)
		return;
	/* A line in one write, between those of processes still running. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	lsr_dumps_find(s, pid);
	if (s->nd == 0) {
		fputs("leakspy: no dump of this run matches ", stderr);
		put_text(s->tmpl);
		fputc('\n', stderr);
	} else {
		tell_dumps(s, pid);
		tell_wrappers(s, follow);
	}
	scan_free(s);
}
