// SPDX-License-Identifier: MIT
// C++ allocations: new, new[], over-aligned new, nothrow new, a throwing
// new that fails; the leaks are known to tests/shim/test_shim.py.
#include <cstdio>
#include <new>

#define NOINLINE __attribute__((noinline))

struct Obj {
	char payload[72];
};

struct alignas(64) Wide {
	char payload[192];
};

void *volatile sink[16];

NOINLINE static void
leak_new(void)
{
	sink[0] = new Obj();		// 72 bytes
	sink[1] = new Obj();
}

NOINLINE static void
leak_new_array(void)
{
	sink[2] = new int[100];		// 400 bytes
}

NOINLINE static void
leak_aligned_new(void)
{
	sink[3] = new Wide();		// 192 bytes, aligned 64
}

NOINLINE static void
no_leak(void)
{
	Obj *o = new Obj();
	int *a = new int[10];
	Wide *w = new Wide();

	sink[4] = o;
	delete o;
	delete[] a;
	delete w;
	sink[4] = nullptr;
}

NOINLINE static int
huge(void)
{
	size_t n = (size_t)1 << 62;
	int r = 0;
	char *p = new (std::nothrow) char[n];

	if (p == nullptr)
		r |= 1;
	try {
		sink[5] = new char[n];
	} catch (const std::bad_alloc &) {
		r |= 2;
	}
	return r;
}

int
main()
{
	leak_new();
	leak_new_array();
	leak_aligned_new();
	no_leak();
	std::printf("huge: %d\n", huge());
	return 0;
}
