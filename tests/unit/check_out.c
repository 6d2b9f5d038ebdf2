/* SPDX-License-Identifier: MIT */
/*
 * A --check result built by hand, written in one of the CI formats, for
 * tests/report/test_check_formats.py to read back with the formats' own
 * readers.  Two dumps: "demo" with a definite and an indirect leak in
 * C++ code whose names hold '<', '&', quotes and a byte that is not
 * UTF-8, a thread leak, growth, a suppressed leak and one within the
 * baseline; "quiet" without a verdict.  Built with ASan where it can be.
 * Usage: check_out junit|sarif|lsan [ROOT|-] [alt]
 * ROOT is the source root ("-": none, the working directory); alt moves
 * the definite leak's stack to another caller, and changes lines only
 * of the indirect one's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static const char *demo = "/src/proj/build/demo";
static const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";

static struct lsr_cframe definite[] = {
	{ "std::vector<int, std::allocator<int> >::push_back(int const&)",
	  "/usr/include/c++/12/bits/stl_vector.h", 1287, NULL, 0x1a2b, true },
	{ "Tree<K&V>::insert(\"key\", 'c')\xff", "/src/proj/lib/tree.cc", 42,
	  NULL, 0x1a2b, false },
	{ "main", "/src/proj/main.c", 7, NULL, 0x11c0, false },
	{ "__libc_start_call_main", "../sysdeps/nptl/libc_start_call_main.h",
	  58, NULL, 0x271ca, false },
	{ NULL, NULL, 0, NULL, 0x27285, false },
};

static struct lsr_cframe indirect[] = {
	{ "make_node", "/src/proj/lib/node.c", 5, NULL, 0x1190, false },
	{ "Tree<K&V>::insert(\"key\", 'c')\xff", "/src/proj/lib/tree.cc", 40,
	  NULL, 0x1a40, false },
	{ "main", "/src/proj/main.c", 8, NULL, 0x11d0, false },
};

static struct lsr_cframe baselined[] = {
	{ "load_config", "/src/proj/config.c", 30, NULL, 0x1300, false },
	{ "main", "/src/proj/main.c", 6, NULL, 0x11b0, false },
};

static struct lsr_cframe thread[] = {
	{ "start_pool", "/src/proj/pool.c", 12, NULL, 0x1400, false },
	{ "main", "/src/proj/main.c", 9, NULL, 0x11e0, false },
};

static struct lsr_cframe growth[] = {
	{ "cache_put", "/other/place/cache.c", 88, "/usr/lib/libcache.so.1",
	  0x2200, false },
	{ "handle", "/other/place/serve.c", 19, "/usr/lib/libcache.so.1",
	  0x2300, false },
};

static struct lsr_cframe suppressed[] = {
	{ NULL, NULL, 0, "/usr/lib/libfoo.so.2", 0x1234, false },
	{ "main", "/src/proj/main.c", 10, NULL, 0x11f0, false },
};

static struct lsr_rule rules[] = {
	{ LSR_K_BIT(LSR_K_DEFINITE) | LSR_K_BIT(LSR_K_INDIRECT),
	  "leak:libfoo.so", "libfoo.so", "supp.txt:3", false, 1, 16 },
};

static struct lsr_budget budgets[] = {
	{ LSR_K_INDIRECT, "load_config config.c\nmain main.c\n", 32, 2,
	  "base.txt:1", 1 },
};

static struct lsr_finding findings[] = {
	{ .kind = LSR_K_DEFINITE, .amount = { 40, 1 },
	  .via = "operator new(unsigned long)", .nframes = NF(definite),
	  .frames = definite },
	{ .kind = LSR_K_DEFINITE, .amount = { 16, 1 }, .via = "malloc",
	  .nframes = NF(suppressed), .frames = suppressed,
	  .rule = &rules[0] },
	{ .kind = LSR_K_INDIRECT, .amount = { 64, 2 }, .via = "malloc",
	  .nframes = NF(indirect), .frames = indirect },
	{ .kind = LSR_K_INDIRECT, .amount = { 24, 1 }, .via = "calloc",
	  .nframes = NF(baselined), .frames = baselined,
	  .budget = &budgets[0] },
	{ .kind = LSR_K_THREAD, .amount = { 0, 1 }, .thread_serial = 3,
	  .thread_name = "work<er>\x01", .thread_state = "running",
	  .thread_start = "worker_main", .nframes = NF(thread),
	  .frames = thread },
	{ .kind = LSR_K_GROWTH, .amount = { 5 << 20, 300 },
	  .rate = 1.2 * 1048576, .grew = 3 << 20, .since = 2.0,
	  .released_at = -1, .retained_by = "cache_put <- global g_cache",
	  .via = "malloc", .nframes = NF(growth), .frames = growth },
};

static struct lsr_cdump dumps[] = {
	{ "/tmp/leakspy.demo.4242.lsd", "demo", 4242,
	  "./demo --size 3 \"x&y\"", 1.25, true, NULL,
	  "ended by SIGTERM: memory lost at exit not judged", 4 },
	{ "/tmp/leakspy.quiet.77.lsd", "quiet", 77, "./quiet", 0.5, false,
	  "the dump ends before its final snapshot", NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct lsr_check c = {
		.o = { .fail_on = LSR_K_DEFAULT, .builtin = true,
		       .source_root = "/src/proj" },
		.ndumps = NF(dumps), .dumps = dumps,
		.nfindings = NF(findings), .findings = findings,
		.nrules = NF(rules), .rules = rules,
		.nbudgets = NF(budgets), .budgets = budgets,
		.exit_status = LSR_EXIT_NO_VERDICT,
		.failing = 4, .suppressed = 1, .baselined = 1,
	};
	size_t i;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: check_out junit|sarif|lsan [ROOT|-] "
		    "[alt]\n");
		return 2;
	}
	if (argc > 2)
		c.o.source_root = strcmp(argv[2], "-") ? argv[2] : NULL;
	if (argc > 3 && strcmp(argv[3], "alt") == 0) {
		definite[2].function = "run_tests";
		for (i = 0; i < NF(indirect); i++)
			indirect[i].line += 100;
	}
	for (i = 0; i < NF(definite); i++)
		definite[i].module = (char *)(i < 3 ? demo : libc);
	for (i = 0; i < NF(indirect); i++)
		indirect[i].module = (char *)demo;
	for (i = 0; i < NF(thread); i++)
		thread[i].module = baselined[i].module = (char *)demo;
	suppressed[1].module = (char *)demo;
	if (strcmp(argv[1], "junit") == 0)
		lsr_check_junit(stdout, &c);
	else if (strcmp(argv[1], "sarif") == 0)
		lsr_check_sarif(stdout, &c);
	else if (strcmp(argv[1], "lsan") == 0)
		lsr_check_lsan(stdout, &c);
	else
		return 2;
	return fflush(stdout) == 0 ? 0 : 1;
}
