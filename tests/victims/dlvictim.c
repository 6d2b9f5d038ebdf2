/* SPDX-License-Identifier: MIT */
/*
 * Leaks from a linked shared library (lib_leak: 5 x 333) and from a
 * dlopen'ed plugin that is dlclose'd before exit (plugin_leak: 2 x 777).
 * argv[1] is the plugin's path.
 */
#include <dlfcn.h>
#include <stdio.h>

void lib_leak(int n);

void *volatile kept[2];

int
main(int argc, char **argv)
{
	void (*fn)(void **);
	void *out[2];
	void *h;

	if (argc < 2)
		return 2;
	lib_leak(5);
	h = dlopen(argv[1], RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	fn = (void (*)(void **))dlsym(h, "plugin_leak");
	if (fn == NULL)
		return 1;
	fn(out);
	kept[0] = out[0];
	kept[1] = out[1];
	if (dlclose(h) != 0)
		return 1;
	printf("dlvictim: done\n");
	return 0;
}
