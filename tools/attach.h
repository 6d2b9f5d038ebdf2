/* SPDX-License-Identifier: MIT */
/*
 * leakspy attach and detach: the commands (attach.c) and what they read
 * of the target first (attach-proc.c).
 */
#ifndef LS_ATTACH_H
#define LS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit statuses of leakspy attach and detach. */
#define LSA_EXIT_OK		0
#define LSA_EXIT_REFUSED	1	/* nothing was done to the process */
#define LSA_EXIT_USAGE		2
#define LSA_EXIT_FAILED		3	/* stopped, but the call failed */

struct lsa_status {
	unsigned ruid, euid;
	pid_t tracer;		/* 0: none */
	bool cap_ptrace;	/* this process has CAP_SYS_PTRACE */
	bool segv_ignored;	/* the target ignores SIGSEGV */
	char state;		/* /proc/PID/stat's: R, S, T, Z... */
	char name[64];
};

/* The target's owner and tracer, and our CAP_SYS_PTRACE: 0 or -ESRCH. */
int lsa_status(pid_t pid, struct lsa_status *st);

/* Yama's kernel.yama.ptrace_scope (0 where there is no Yama). */
int lsa_yama(void);

enum { LSA_EXE_DYNAMIC, LSA_EXE_STATIC, LSA_EXE_FOREIGN };

/* Whether the target's executable has a dynamic loader (LSA_EXE_*), or
 * -errno. */
int lsa_exe_kind(pid_t pid);

struct lsa_map {
	unsigned long start, end, offset;
	bool exec;
	char path[4096];
};

/* The target's mappings; 0 or -errno.  The caller frees *out. */
int lsa_maps(pid_t pid, struct lsa_map **out, size_t *n);

/* The first mapping (at file offset 0) of a file whose name starts with
 * prefix ("libc.so.6"), or NULL. */
const struct lsa_map *lsa_find(const struct lsa_map *m, size_t n,
    const char *prefix);

/* The executable ranges of file path, as start, end pairs into r (at
 * most max); returns how many. */
size_t lsa_text_of(const struct lsa_map *m, size_t n, const char *path,
    uint64_t *r, size_t max);

/* The address in the target of dynamic symbol name of the object mapped
 * at obj, or 0. */
uint64_t lsa_symbol(pid_t pid, const struct lsa_map *obj, const char *name);

/* path as the target sees it (under /proc/PID/root when readable).
 * Allocates. */
char *lsa_root_path(pid_t pid, const char *path);

/* The system call thread tid is blocked in, -1 for none (its own code),
 * -2 unknown. */
int lsa_thread_syscall(pid_t pid, pid_t tid);

/* A thread of pid blocked in a system call that holds no lock of the C
 * library's (read, epoll_wait, nanosleep...), else pid itself. */
pid_t lsa_pick_thread(pid_t pid);
/* Whether system call nr is one of those. */
bool lsa_calm_syscall(long nr);

/* Whether the target's environment has name with needle in its value. */
bool lsa_env_has(pid_t pid, const char *name, const char *needle);

/*
 * leakspy attach PID: settings holds the LEAKSPY_* lines to give the
 * library, lib its path, wait whether to stay until interrupted (and
 * then detach) or return at once.  leakspy detach PID.  Each returns
 * its exit status (LSA_EXIT_*).
 */
int lsa_attach(pid_t pid, const char *lib, const char *settings, bool wait);
int lsa_detach(pid_t pid);

#endif
