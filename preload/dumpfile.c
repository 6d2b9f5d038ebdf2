/* SPDX-License-Identifier: MIT */
/*
 * The dump file: its safe creation, all-or-nothing write-outs, and the
 * descriptors kept across a chroot or a drop of privileges.  Runs under
 * the writer's lock (writer thread, exit path, fork child), except
 * lsp_dump_keep(), which the host's thread calls just before it changes
 * its root or its ids.
 *
 * The dump is opened for each write-out and closed again, so that leakspy
 * holds no descriptor the host could close and reuse.  A process about to
 * chroot or to give up its ids would lose the dump that way (its path is
 * outside the new root; a file created 0600 as root cannot be opened by
 * nobody), so then, and only then, leakspy keeps the dump's descriptor,
 * at a high number, close-on-exec, checked by device and inode before
 * each use: one the host closed or reused is forgotten, never written to.
 * It keeps no descriptor of a directory, which would let a process break
 * out of its chroot with fchdir.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "lsp.h"

/* A descriptor kept across a chroot or a drop of privileges. */
struct kept {
	int fd;			/* -1: none */
	dev_t dev;
	ino_t ino;
};

/* All under the writer's lock. */
static struct {
	bool created;		/* the file exists and is ours */
	dev_t dev;
	ino_t ino;
	bool changed;		/* the process chrooted or gave up ids */
	struct kept file;
} df = { .file = { -1, 0, 0 } };

/* The write-out under way. */
static struct {
	int err;		/* first error, -errno */
	bool opened;		/* start is known */
	bool made;		/* this write-out created the file */
	off_t start;		/* the dump's size before this write-out */
} out;

int
lsp_write_quiet(int fd, const void *p, size_t n)
{
	sigset_t xfsz, old;
	int r;

	/* A write past RLIMIT_FSIZE must fail with EFBIG, not kill the
	 * host with SIGXFSZ; one this write raised is taken back. */
	sigemptyset(&xfsz);
	sigaddset(&xfsz, SIGXFSZ);
	pthread_sigmask(SIG_BLOCK, &xfsz, &old);
	r = ls_write_all(fd, p, n);
	if (r != 0 && !sigismember(&old, SIGXFSZ)) {
		struct timespec zero = { 0, 0 };
		sigset_t pend;

		if (sigpending(&pend) == 0 && sigismember(&pend, SIGXFSZ))
			sigtimedwait(&xfsz, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Whether k still holds what was kept; forgotten if not (the host closed
 * the number, or reuses it: it is the host's then, never closed here). */
static bool
kept_ok(struct kept *k)
{
	struct stat st;

	if (k->fd < 0)
		return false;
	if (fstat(k->fd, &st) == 0 && st.st_dev == k->dev &&
	    st.st_ino == k->ino)
		return true;
	k->fd = -1;
	return false;
}

/* Move fd to a high number and keep it in k. */
static void
keep_fd(struct kept *k, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	k->fd = lsp_fd_high(fd);
	k->dev = st.st_dev;
	k->ino = st.st_ino;
}

static void
unkeep(struct kept *k)
{
	if (kept_ok(k))
		close(k->fd);
	k->fd = -1;
}

/*
 * Open the dump.  A host at its descriptor limit (sshd sets it to 0 or 1,
 * a busy server may use all it has) would cost it its snapshots: while
 * the hard limit allows, the soft one is raised by one for this open and
 * put back at once.
 */
static int
open_dump(int flags, mode_t mode)
{
	int fd, e;
	struct rlimit rl, more, now;

	fd = open(lsp_cfg.path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0 || errno != EMFILE || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur >= rl.rlim_max)
		return fd;
	more = rl;
	more.rlim_cur++;
	if (setrlimit(RLIMIT_NOFILE, &more) != 0) {
		errno = EMFILE;
		return -1;
	}
	fd = open(lsp_cfg.path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	/* Put back, unless the host changed the limit meanwhile. */
	if (getrlimit(RLIMIT_NOFILE, &now) == 0 &&
	    now.rlim_cur == more.rlim_cur && now.rlim_max == more.rlim_max)
		setrlimit(RLIMIT_NOFILE, &rl);
	errno = e;
	return fd;
}

/* Whether the dump in the file holds an earlier program this process ran
 * (the same pid, before an exec). */
static bool
earlier_image(void)
{
	uint8_t buf[64];
	const size_t hl = sizeof(LS_DUMP_MAGIC "1\n") - 1;
	struct ls_cur c;
	ssize_t n;
	int fd = open_dump(O_RDONLY, 0);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < (ssize_t)hl + 9 || memcmp(buf, LS_DUMP_MAGIC "1\n", hl) != 0 ||
	    buf[hl] != LS_REC_PROCESS || buf[hl + 1] != 0)
		return false;
	c = (struct ls_cur){ buf + hl + 8, buf + n, 0 };
	return ls_cur_uv(&c) == (uint64_t)lsp_pid && !c.err;
}

/*
 * Whether the dump's directory is safe to create it in: owned by this
 * user or root, and not writable by everyone unless sticky (as /tmp is).
 * Elsewhere another user could replace the dump or plant files under
 * names it would take.
 */
static bool
dir_safe(void)
{
	char dir[LSP_PATH_MAX];
	char *slash;
	struct stat st;
	int fd, r;

	memcpy(dir, lsp_cfg.path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return false;
	slash[slash == dir] = '\0';	/* "/x" -> "/" */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return true;	/* the create will say why */
	r = fstat(fd, &st);
	close(fd);
	if (r != 0)
		return true;
	if ((st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))) {
		lsp_warn("unsafe directory for the dump (writable by "
		    "everyone without the sticky bit, or another user's)", dir);
		return false;
	}
	return true;
}

/*
 * Create the dump, never over an existing file.  A process that executed
 * this program finds its earlier image's dump under the name: it then
 * takes the first free of name.2, name.3, ... name.99, the number going
 * before a final ".lsd".
 */
static int
create_dump(void)
{
	const int how = O_WRONLY | O_APPEND | O_CREAT | O_EXCL;
	char base[LSP_PATH_MAX];
	size_t stem;
	unsigned k;
	int fd;

	if (!dir_safe())
		return -EPERM;
	fd = open_dump(how, 0600);
	if (fd >= 0 || errno != EEXIST || !earlier_image())
		return fd < 0 ? -errno : fd;
	memcpy(base, lsp_cfg.path, sizeof(base));
	stem = strlen(base);
	if (stem > 4 && strcmp(base + stem - 4, ".lsd") == 0)
		stem -= 4;
	for (k = 2; k < 100; k++) {
		struct ls_fmt f;

		ls_fmt_init(&f, lsp_cfg.path, sizeof(lsp_cfg.path));
		ls_fmt_mem(&f, base, stem);
		ls_fmt_str(&f, ".");
		ls_fmt_u64(&f, k);
		ls_fmt_str(&f, base + stem);
		if (f.overflow)
			break;
		fd = open_dump(how, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	memcpy(lsp_cfg.path, base, sizeof(base));
	return -EEXIST;
}

/*
 * Open the dump to append (creating it the first time); fd or -errno.
 * *borrowed is set when fd is the kept one, not to be closed.
 */
static int
out_open(bool *borrowed)
{
	struct stat st;
	int fd, r;

	*borrowed = false;
	if (!df.created) {
		fd = create_dump();
		if (fd < 0)
			return fd;
		if (fstat(fd, &st) != 0) {
			r = -errno;
			close(fd);
			lsp_dump_remove();
			return r;
		}
		df.created = true;
		df.dev = st.st_dev;
		df.ino = st.st_ino;
		out.made = true;
		/* Created after a chroot or a drop of privileges (a fork
		 * child's): keep it, since it may not be opened again. */
		if (df.changed && !kept_ok(&df.file)) {
			int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

			if (dup >= 0)
				keep_fd(&df.file, dup);
		}
	} else if (kept_ok(&df.file) && df.file.dev == df.dev &&
	    df.file.ino == df.ino) {
		fd = df.file.fd;
		*borrowed = true;
		if (fstat(fd, &st) != 0)
			return -errno;
	} else {
		fd = open_dump(O_WRONLY | O_APPEND, 0);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) != 0 || st.st_dev != df.dev ||
		    st.st_ino != df.ino) {
			close(fd);
			return -ESTALE;
		}
	}
	if (!out.opened) {
		out.opened = true;
		out.start = st.st_size;
	}
	return fd;
}

void
lsp_dump_write(struct ls_buf *b)
{
	bool borrowed;
	int fd, r;

	if (b->err && out.err == 0)
		out.err = -ENOMEM;
	if (out.err != 0 || b->len == 0) {
		b->len = 0;
		return;
	}
	fd = out_open(&borrowed);
	if (fd < 0) {
		out.err = fd;
		b->len = 0;
		return;
	}
	r = lsp_write_quiet(fd, b->p, b->len);
	if (!borrowed)
		close(fd);
	out.err = r;
	b->len = 0;
}

bool lsp_dump_spill_off;

void
lsp_dump_spill(struct ls_buf *b)
{
	if (b->len >= LSP_SPILL_AT && !lsp_dump_spill_off)
		lsp_dump_write(b);
}

void
lsp_dump_remove(void)
{
	unlink(lsp_cfg.path);
}

/* Cut the dump back to where the write-out began. */
static void
cut_back(void)
{
	struct stat st;
	bool kept = kept_ok(&df.file) && df.file.dev == df.dev &&
	    df.file.ino == df.ino;
	int fd = kept ? df.file.fd : open_dump(O_WRONLY, 0);

	if (fd < 0)
		return;
	/* If this fails too, the reader stops at the cut, and at a
	 * snapshot without its end. */
	if (fstat(fd, &st) == 0 && st.st_dev == df.dev &&
	    st.st_ino == df.ino && ftruncate(fd, out.start) != 0) {
		/* Nothing more to do. */
	}
	if (!kept)
		close(fd);
}

int
lsp_dump_end(struct ls_buf *b)
{
	int r;

	lsp_dump_write(b);
	r = out.err;
	if (r != 0 && out.made) {
		/* Not even the header: no empty file under the dump's name
		 * (the directory is safe, so the name is still this one). */
		lsp_dump_remove();
		df.created = false;
		unkeep(&df.file);
	} else if (r != 0 && out.opened) {
		cut_back();
	}
	memset(&out, 0, sizeof(out));
	return r;
}

bool
lsp_dump_created(void)
{
	return df.created;
}

void
lsp_dump_keep(void)
{
	int fd;

	df.changed = true;
	if (!df.created || lsp_cfg.path[0] == '\0' || kept_ok(&df.file))
		return;
	fd = open_dump(O_WRONLY | O_APPEND, 0);
	if (fd >= 0)
		keep_fd(&df.file, fd);
	if (df.file.fd >= 0 && (df.file.dev != df.dev ||
	    df.file.ino != df.ino))
		unkeep(&df.file);
}

void
lsp_dump_postfork_child(void)
{
	/* The parent's dump is not the child's. */
	unkeep(&df.file);
	df.created = false;
	memset(&out, 0, sizeof(out));
}
