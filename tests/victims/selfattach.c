/* SPDX-License-Identifier: MIT */
/*
 * Attach without ptrace: loads libleakspy.so (argv[1]) as `leakspy
 * attach` does, by dlopen(RTLD_LOCAL), and calls its leakspy_attach()
 * with the settings in argv[2] ("\n"-separated), then leakspy_detach().
 * Around them, blocks whose figures the test knows:
 *   before_attach  100 x 100 bytes before the attach; 50 freed after it,
 *                  1 realloc'd to 5000 bytes (after_realloc's), 49 kept
 *   after_attach   1000 x 48 bytes (malloc), all kept until detach
 *   after_calloc   10 x 4096 bytes (calloc), 4 freed while attached
 *   after_realloc  1 x 5000 bytes (realloc of a block from before)
 *   plugin_leak    argv[3]'s plugin, dlopen'ed after the attach: 2 x 777
 *                  bytes once the writer has seen it (waits 600 ms), kept
 *   after_detach   20 x 64 bytes after the detach (not tracked)
 * then frees everything (after_attach's blocks after the detach) and
 * exits 0, printing "selfattach: ok" and the errno checks.  With a fourth
 * argument "dormant", it loads the library and never attaches.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *before[100], *after[1000], *cal[10], *late[20], *moved;
static void *kept[2];

static __attribute__((noinline)) void
before_attach(void)
{
	int i;

	for (i = 0; i < 100; i++)
		before[i] = malloc(100);
}

static __attribute__((noinline)) void
after_attach(void)
{
	int i;

	for (i = 0; i < 1000; i++)
		after[i] = malloc(48);
}

static __attribute__((noinline)) void
after_calloc(void)
{
	int i;

	for (i = 0; i < 10; i++)
		cal[i] = calloc(1, 4096);
}

static __attribute__((noinline)) void
after_realloc(void)
{
	moved = realloc(before[99], 5000);
}

static __attribute__((noinline)) void
after_detach(void)
{
	int i;

	for (i = 0; i < 20; i++)
		late[i] = malloc(64);
}

int
main(int argc, char **argv)
{
	int (*attach)(const char *), (*detach)(void);
	void (*plugin)(void **);
	const char *why;
	struct timespec ts = { 0, 600000000 };
	void *lib, *pl;
	int i, r;

	if (argc < 4) {
		fprintf(stderr, "usage: selfattach LIB SETTINGS PLUGIN\n");
		return 2;
	}
	before_attach();
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	if (argc > 4 && strcmp(argv[4], "dormant") == 0) {
		/* Loaded, never attached: the library must do nothing. */
		after_attach();
		for (i = 0; i < 1000; i++)
			free(after[i]);
		for (i = 0; i < 100; i++)
			free(before[i]);
		puts("dormant: ok");
		return 0;
	}
	attach = (int (*)(const char *))dlsym(lib, "leakspy_attach");
	detach = (int (*)(void))dlsym(lib, "leakspy_detach");
	why = dlsym(lib, "leakspy_why");
	if (attach == NULL || detach == NULL || why == NULL)
		return 1;
	errno = 1234;
	r = attach(argv[2]);
	if (r != 0) {
		fprintf(stderr, "attach: %d %s\n", r, why);
		return 1;
	}
	printf("errno after attach: %d\n", errno);
	r = attach(argv[2]);
	printf("second attach: %d (%s)\n", r, why);
	after_attach();
	after_calloc();
	after_realloc();
	for (i = 0; i < 50; i++)
		free(before[i]);
	for (i = 0; i < 4; i++)
		free(cal[i]);
	pl = dlopen(argv[3], RTLD_NOW);
	if (pl == NULL || (plugin = (void (*)(void **))dlsym(pl,
	    "plugin_leak")) == NULL) {
		fprintf(stderr, "plugin: %s\n", dlerror());
		return 1;
	}
	nanosleep(&ts, NULL);
	plugin(kept);
	errno = 4321;
	r = detach();
	printf("detach: %d, errno %d\n", r, errno);
	r = detach();
	printf("second detach: %d (%s)\n", r, why);
	after_detach();
	for (i = 0; i < 1000; i++)
		free(after[i]);
	for (i = 0; i < 20; i++)
		free(late[i]);
	for (i = 4; i < 10; i++)
		free(cal[i]);
	for (i = 50; i < 99; i++)
		free(before[i]);
	free(moved);
	free(kept[0]);
	free(kept[1]);
	puts("selfattach: ok");
	return 0;
}
