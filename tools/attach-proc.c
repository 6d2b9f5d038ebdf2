/* SPDX-License-Identifier: MIT */
/*
 * What leakspy attach reads of the target before it touches it: its
 * status (owner, tracer), Yama's ptrace policy, its executable's program
 * headers, its mappings, the dynamic symbols of the objects mapped, and
 * which of its threads is blocked in which system call.  Files are read
 * through /proc/PID/root, so that a target in another mount namespace
 * (a container) has its own libraries read.  Definitions: attach.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attach.h"
#include "xalloc.h"

/* The line of /proc/PID/status that starts with key, its value in buf. */
static bool
status_field(pid_t pid, const char *key, char *buf, size_t len)
{
	char path[64], line[512];
	size_t n = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			snprintf(buf, len, "%s", line + n + 1);
			found = true;
		}
	fclose(f);
	return found;
}

int
lsa_status(pid_t pid, struct lsa_status *st)
{
	char v[256];
	unsigned long long cap = 0;

	memset(st, 0, sizeof(*st));
	if (!status_field(pid, "Uid", v, sizeof(v)) ||
	    sscanf(v, "%u %u", &st->ruid, &st->euid) != 2)
		return -ESRCH;
	if (status_field(pid, "TracerPid", v, sizeof(v)))
		st->tracer = (pid_t)atoi(v);
	if (status_field(pid, "SigIgn", v, sizeof(v)))
		st->segv_ignored = (strtoull(v, NULL, 16) >> (SIGSEGV - 1)) & 1;
	if (status_field(pid, "State", v, sizeof(v)))
		st->state = v[strspn(v, " \t")];
	if (status_field(pid, "Name", v, sizeof(v)))
		snprintf(st->name, sizeof(st->name), "%.*s",
		    (int)strcspn(v + strspn(v, " \t"), "\n"),
		    v + strspn(v, " \t"));
	if (status_field(getpid(), "CapEff", v, sizeof(v)))
		cap = strtoull(v, NULL, 16);
	st->cap_ptrace = (cap >> 19) & 1;	/* CAP_SYS_PTRACE */
	return 0;
}

int
lsa_yama(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int v = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

char *
lsa_root_path(pid_t pid, const char *path)
{
	char *p = lsr_xasprintf("/proc/%d/root%s", (int)pid, path);

	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return lsr_xasprintf("%s", path);
}

/* The whole file, or NULL. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < 64) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = lsr_xcalloc(1, (size_t)sb.st_size);
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
}

static const Elf64_Ehdr *
elf_ok(const unsigned char *b, size_t len)
{
	const Elf64_Ehdr *e = (const Elf64_Ehdr *)b;

	if (len < sizeof(*e) || memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 ||
	    e->e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->e_machine != EM_X86_64 ||
	    e->e_phoff + (uint64_t)e->e_phnum * sizeof(Elf64_Phdr) > len ||
	    e->e_shoff + (uint64_t)e->e_shnum * sizeof(Elf64_Shdr) > len)
		return NULL;
	return e;
}

int
lsa_exe_kind(pid_t pid)
{
	char path[64];
	Elf64_Ehdr e;
	Elf64_Phdr ph;
	int fd, kind = LSA_EXE_STATIC;
	unsigned i;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (pread(fd, &e, sizeof(e), 0) != (ssize_t)sizeof(e) ||
	    memcmp(e.e_ident, ELFMAG, SELFMAG) != 0 ||
	    e.e_ident[EI_CLASS] != ELFCLASS64 || e.e_machine != EM_X86_64) {
		close(fd);
		return LSA_EXE_FOREIGN;
	}
	for (i = 0; i < e.e_phnum; i++)
		if (pread(fd, &ph, sizeof(ph), (off_t)(e.e_phoff + i *
		    sizeof(ph))) == (ssize_t)sizeof(ph) &&
		    ph.p_type == PT_INTERP)
			kind = LSA_EXE_DYNAMIC;
	close(fd);
	return kind;
}

int
lsa_maps(pid_t pid, struct lsa_map **out, size_t *n)
{
	char path[64], line[4096 + 128];
	size_t cap = 0;
	FILE *f;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct lsa_map m = { 0 };
		char perms[8];
		int off = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &m.start,
		    &m.end, perms, &m.offset, &off) < 4)
			continue;
		m.exec = strchr(perms, 'x') != NULL;
		line[strcspn(line, "\n")] = '\0';
		if (off > 0 && line[off] == '/')
			snprintf(m.path, sizeof(m.path), "%s", line + off);
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			*out = lsr_xrealloc(*out, cap, sizeof(**out));
		}
		(*out)[(*n)++] = m;
	}
	fclose(f);
	return 0;
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

const struct lsa_map *
lsa_find(const struct lsa_map *m, size_t n, const char *prefix)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (m[i].offset == 0 && m[i].path[0] != '\0' &&
		    strncmp(base_name(m[i].path), prefix, strlen(prefix)) == 0)
			return &m[i];
	return NULL;
}

size_t
lsa_text_of(const struct lsa_map *m, size_t n, const char *path,
    uint64_t *r, size_t max)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 1 < max * 2; i++)
		if (m[i].exec && strcmp(m[i].path, path) == 0) {
			r[k++] = m[i].start;
			r[k++] = m[i].end;
		}
	return k / 2;
}

uint64_t
lsa_symbol(pid_t pid, const struct lsa_map *obj, const char *name)
{
	char *path = lsa_root_path(pid, obj->path);
	unsigned char *b;
	size_t len = 0, i;
	const Elf64_Ehdr *e;
	const Elf64_Shdr *sh;
	uint64_t found = 0, first = UINT64_MAX;
	bool dyn;

	b = slurp(path, &len);
	free(path);
	if (b == NULL || (e = elf_ok(b, len)) == NULL) {
		free(b);
		return 0;
	}
	for (i = 0; i < e->e_phnum; i++) {
		const Elf64_Phdr *ph = &((const Elf64_Phdr *)(b +
		    e->e_phoff))[i];

		if (ph->p_type == PT_LOAD && ph->p_vaddr < first)
			first = ph->p_vaddr & ~(uint64_t)4095;
	}
	sh = (const Elf64_Shdr *)(b + e->e_shoff);
	for (i = 0; i < e->e_shnum && found == 0; i++) {
		const Elf64_Shdr *strs;
		const Elf64_Sym *sym;
		size_t k, nsym;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= e->e_shnum)
			continue;
		strs = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > len ||
		    strs->sh_offset + strs->sh_size > len ||
		    sh[i].sh_entsize != sizeof(Elf64_Sym))
			continue;
		sym = (const Elf64_Sym *)(b + sh[i].sh_offset);
		nsym = sh[i].sh_size / sizeof(*sym);
		for (k = 0; k < nsym; k++) {
			if (sym[k].st_name >= strs->sh_size ||
			    sym[k].st_shndx == SHN_UNDEF ||
			    sym[k].st_value == 0)
				continue;
			if (strncmp((const char *)b + strs->sh_offset +
			    sym[k].st_name, name, strs->sh_size -
			    sym[k].st_name) == 0) {
				found = sym[k].st_value;
				break;
			}
		}
	}
	dyn = e->e_type == ET_DYN;
	free(b);
	if (found == 0 || first == UINT64_MAX)
		return 0;
	/* A shared object is mapped at its base plus its addresses; an
	 * executable that is not position-independent at its addresses. */
	return dyn ? obj->start - first + found : found;
}

int
lsa_thread_syscall(pid_t pid, pid_t tid)
{
	char path[96], buf[64];
	int fd, nr = -2;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid,
	    (int)tid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if (buf[0] >= '0' && buf[0] <= '9')
			nr = atoi(buf);
		else if (buf[0] == '-')
			nr = -1;	/* in its own code, stopped */
	}
	return nr;
}

/* System calls a thread blocks in with no lock of the C library's held:
 * a good moment for a remote call. */
bool
lsa_calm_syscall(long nr)
{
	static const int ok[] = {
		SYS_read, SYS_readv, SYS_poll, SYS_select, SYS_nanosleep,
		SYS_clock_nanosleep, SYS_accept, SYS_accept4, SYS_recvfrom,
		SYS_recvmsg, SYS_wait4, SYS_waitid, SYS_epoll_wait,
		SYS_epoll_pwait, SYS_pselect6, SYS_ppoll, SYS_pause,
		SYS_rt_sigtimedwait, SYS_rt_sigsuspend, SYS_msgrcv,
		/* a sleep restarted after an earlier stop */
		SYS_restart_syscall,
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (nr == ok[i])
			return true;
	return false;
}

pid_t
lsa_pick_thread(pid_t pid)
{
	char path[64];
	struct dirent *d;
	pid_t best = pid;
	DIR *dir;

	if (lsa_calm_syscall(lsa_thread_syscall(pid, pid)))
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return pid;
	while ((d = readdir(dir)) != NULL) {
		pid_t tid = (pid_t)atoi(d->d_name);

		if (tid > 0 && lsa_calm_syscall(lsa_thread_syscall(pid, tid))) {
			best = tid;
			break;
		}
	}
	closedir(dir);
	return best;
}

bool
lsa_env_has(pid_t pid, const char *name, const char *needle)
{
	char path[64], *p;
	unsigned char *b;
	size_t len = 0, n = strlen(name);
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	/* slurp wants a regular size; environ reads as 0 bytes long */
	{
		FILE *f = fopen(path, "re");
		size_t cap = 65536;

		if (f == NULL)
			return false;
		b = lsr_xcalloc(1, cap + 1);
		len = fread(b, 1, cap, f);
		fclose(f);
		b[len] = '\0';
	}
	for (p = (char *)b; p < (char *)b + len; p += strlen(p) + 1)
		if (strncmp(p, name, n) == 0 && p[n] == '=' &&
		    strstr(p + n + 1, needle) != NULL)
			found = true;
	free(b);
	return found;
}
