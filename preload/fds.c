/* SPDX-License-Identifier: MIT */
/*
 * Descriptors of leakspy's own, kept away from the numbers the host's
 * open()s take: the program's first open() gets 3 as it would without
 * leakspy.  Runs wherever leakspy opens one; pipe2() is the host's call,
 * and libunwind's under leakspy's guard.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lsp.h"

int
lsp_fd_high(int fd)
{
	struct rlimit rl;
	int high, min;

	/* Under a limit this low there is no number the host would not
	 * take: fd stays where it is. */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur <= 64)
		return fd;
	min = (rl.rlim_cur > 1024 ? 1024 : (int)rl.rlim_cur) - 32;
	high = fcntl(fd, F_DUPFD_CLOEXEC, min);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/*
 * libunwind opens a pipe at start-up (its way to check that an address
 * can be read, used when it falls back from unwind tables to guesses):
 * under leakspy's guard it goes to high numbers.  libunwind opens it
 * again if the host closes it.
 */
LS_EXPORT int
pipe2(int fd[2], int flags)
{
	static void *real;
	int (*fn)(int *, int) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	int r;

	if (fn == NULL) {
		fn = (int (*)(int *, int))lsp_next_sym("pipe2");
		if (fn == NULL) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&real, (void *)fn, __ATOMIC_RELEASE);
	}
	r = fn(fd, flags);
	if (r == 0 && lsp_guard &&
	    lsp_is_own_ip((uintptr_t)__builtin_return_address(0))) {
		int saved = errno;

		fd[0] = lsp_fd_high(fd[0]);
		fd[1] = lsp_fd_high(fd[1]);
		errno = saved;
	}
	return r;
}

