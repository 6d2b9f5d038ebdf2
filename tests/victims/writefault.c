/* SPDX-License-Identifier: MIT */
/*
 * Test-only faults in the writes to leakspy's dumps: preloaded after
 * libleakspy.so, it sits between leakspy and the C library's write() for
 * descriptors whose file name ends in ".lsd", and leaves all others
 * alone.  WRITEFAULT selects the fault:
 *   eintr     every other write to a dump fails with EINTR, writing nothing
 *   short     each write to a dump writes at most 7 bytes
 *   enospc:N  the device fills at N bytes: a write that would pass N
 *             writes what fits, and the next fails with ENOSPC
 *   none      no fault: only the count below
 * At exit it prints "writefault: N faults, largest write B bytes" (B: the
 * most one write() to a dump was asked to write) to standard error.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long faults;
static size_t largest;

static int
is_dump(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 4, ".lsd") == 0;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	static unsigned long calls;
	const char *mode = getenv("WRITEFAULT");
	struct stat st;
	long room;

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	if (mode == NULL || n == 0 || !is_dump(fd))
		return real(fd, buf, n);
	for (size_t was = __atomic_load_n(&largest, __ATOMIC_RELAXED);
	    n > was && !__atomic_compare_exchange_n(&largest, &was, n, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED);)
		continue;
	if (strcmp(mode, "eintr") == 0) {
		if (__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED) % 2 == 0) {
			__atomic_fetch_add(&faults, 1, __ATOMIC_RELAXED);
			errno = EINTR;
			return -1;
		}
	} else if (strcmp(mode, "short") == 0) {
		if (n > 7) {
			__atomic_fetch_add(&faults, 1, __ATOMIC_RELAXED);
			n = 7;
		}
	} else if (strncmp(mode, "enospc:", 7) == 0 && fstat(fd, &st) == 0) {
		room = atol(mode + 7) - (long)st.st_size;
		if (room <= 0) {
			__atomic_fetch_add(&faults, 1, __ATOMIC_RELAXED);
			errno = ENOSPC;
			return -1;
		}
		if ((long)n > room)
			n = (size_t)room;
	}
	return real(fd, buf, n);
}

__attribute__((destructor)) static void
report_faults(void)
{
	if (getenv("WRITEFAULT") != NULL)
		fprintf(stderr, "writefault: %ld faults, largest write %zu "
		    "bytes\n", faults, largest);
}
