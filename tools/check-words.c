/* SPDX-License-Identifier: MIT */
/*
 * A finding in one line, as JUnit's failure message and SARIF's result
 * message say it: what, and how much.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "xalloc.h"

static const char *
plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* "1.2 MiB", or "312 bytes" below a KiB. */
static char *
human(uint64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes / 1024;
	unsigned u = 0;

	if (bytes < 1024)
		return lsr_xasprintf("%" PRIu64 " byte%s", bytes, plural(bytes));
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	return lsr_xasprintf("%.1f %s", v, unit[u]);
}

/* "1.2 MiB/s", "120 KiB/h": a rate per the shortest span in which at
 * least a KiB moves, as the text report gives it. */
static char *
rate(double r)
{
	static const struct {
		const char *per;
		double seconds;
	} spans[] = { { "s", 1 }, { "min", 60 }, { "h", 3600 } };
	uint64_t b;
	unsigned s;
	char *h, *out;

	for (s = 0; s + 1 < sizeof(spans) / sizeof(spans[0]); s++) {
		if (fabs(r) * spans[s].seconds >= 1024)
			break;
	}
	b = isfinite(r) ? (uint64_t)llround(fabs(r) * spans[s].seconds) : 0;
	h = human(b);
	out = lsr_xasprintf("%s%s/%s", r < 0 ? "-" : "", h, spans[s].per);
	free(h);
	return out;
}

char *
lsr_finding_line(const struct lsr_finding *f)
{
	static const char *const lost[] = {
		[LSR_K_DEFINITE] = "definitely lost",
		[LSR_K_INDIRECT] = "indirectly lost",
		[LSR_K_POSSIBLE] = "possibly lost",
	};
	uint64_t by = f->amount.bytes, bl = f->amount.blocks;
	char *live, *grew, *r, *s;

	switch (f->kind) {
	case LSR_K_DEFINITE:
	case LSR_K_INDIRECT:
	case LSR_K_POSSIBLE:
		return lsr_xasprintf("%s: %" PRIu64 " byte%s in %" PRIu64 " block%s",
		    lost[f->kind], by, plural(by), bl, plural(bl));
	case LSR_K_THREAD:
		return lsr_xasprintf("thread leak: thread %" PRIu64 "%s%s%s, %s, "
		    "start routine %s", f->thread_serial,
		    f->thread_name ? " \"" : "",
		    f->thread_name ? f->thread_name : "",
		    f->thread_name ? "\"" : "",
		    f->thread_state ? f->thread_state : "unknown",
		    f->thread_start ? f->thread_start : "unknown");
	case LSR_K_GROWTH:
		live = human(by);
		grew = human(f->grew);
		r = rate(f->rate);
		s = lsr_xasprintf("growth: %s in %" PRIu64 " block%s live, %s more "
		    "since %.1f s, at %s", live, bl, plural(bl), grew,
		    f->since, r);
		free(live);
		free(grew);
		free(r);
		return s;
	}
	return lsr_xasprintf("unknown finding");
}
