/* SPDX-License-Identifier: MIT */
/*
 * A strict JSON checker (RFC 8259): recursive descent over one value,
 * for the fuzz harness, which aborts on what it refuses.
 */
#include <stdint.h>
#include <string.h>

#include "json_check.h"

#define MAX_DEPTH 64

struct jc {
	const unsigned char *p, *end, *start;
	const char *why;
};

static bool
bad(struct jc *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return false;
}

static void
space(struct jc *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
literal(struct jc *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return bad(j, "bad literal");
	j->p += n;
	return true;
}

static bool
digits(struct jc *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s || bad(j, "digit expected");
}

static bool
number(struct jc *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;	/* no leading zeros */
	else if (!digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return false;
	}
	return true;
}

/* Four hex digits at p; -1 if not. */
static long
hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;
	int i;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		int c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static bool
escape(struct jc *j)
{
	long u, lo;

	if (j->p >= j->end)
		return bad(j, "string cut short");
	switch (*j->p++) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n':
	case 'r': case 't':
		return true;
	case 'u':
		break;
	default:
		return bad(j, "bad escape");
	}
	u = hex4(j->p, j->end);
	if (u < 0)
		return bad(j, "bad \\u escape");
	j->p += 4;
	if (u >= 0xdc00 && u <= 0xdfff)
		return bad(j, "lone low surrogate");
	if (u >= 0xd800 && u <= 0xdbff) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
			return bad(j, "lone high surrogate");
		lo = hex4(j->p + 2, j->end);
		if (lo < 0xdc00 || lo > 0xdfff)
			return bad(j, "lone high surrogate");
		j->p += 6;
	}
	return true;
}

/*
 * One UTF-8 sequence of two or more bytes, checked by what it decodes to
 * rather than by the table of RFC 3629 section 4 that the report uses:
 * continuation bytes, then the code point in the range its length may
 * hold (no overlong form), no surrogate, nothing above U+10FFFF.
 */
static bool
utf8(struct jc *j)
{
	static const unsigned long least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned c = *j->p;
	unsigned long cp;
	size_t n, i;

	if ((c & 0xe0) == 0xc0)
		n = 2, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		n = 3, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		n = 4, cp = c & 0x07;
	else
		return bad(j, "not UTF-8");
	if ((size_t)(j->end - j->p) < n)
		return bad(j, "UTF-8 cut short");
	for (i = 1; i < n; i++) {
		if ((j->p[i] & 0xc0) != 0x80)
			return bad(j, "not UTF-8");
		cp = cp << 6 | (j->p[i] & 0x3f);
	}
	if (cp < least[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return bad(j, "not UTF-8");
	j->p += n;
	return true;
}

static bool
string(struct jc *j)
{
	j->p++;	/* the opening quote */
	while (j->p < j->end) {
		unsigned c = *j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return bad(j, "control character in a string");
		if (c == '\\') {
			j->p++;
			if (!escape(j))
				return false;
		} else if (c >= 0x80) {
			if (!utf8(j))
				return false;
		} else {
			j->p++;
		}
	}
	return bad(j, "string cut short");
}

static bool value(struct jc *j, int depth);

/* An array or an object, from its opening bracket. */
static bool
compound(struct jc *j, int depth, bool object)
{
	unsigned char close = object ? '}' : ']';

	if (depth >= MAX_DEPTH)
		return bad(j, "nested too deep");
	j->p++;
	space(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		if (object) {
			space(j);
			if (j->p >= j->end || *j->p != '"')
				return bad(j, "member name expected");
			if (!string(j))
				return false;
			space(j);
			if (j->p >= j->end || *j->p != ':')
				return bad(j, "':' expected");
			j->p++;
		}
		if (!value(j, depth + 1))
			return false;
		space(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return true;
		}
		return bad(j, object ? "',' or '}' expected" :
		    "',' or ']' expected");
	}
}

static bool
value(struct jc *j, int depth)
{
	space(j);
	if (j->p >= j->end)
		return bad(j, "value expected");
	switch (*j->p) {
	case '{':
		return compound(j, depth, true);
	case '[':
		return compound(j, depth, false);
	case '"':
		return string(j);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	}
	if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
		return number(j);
	return bad(j, "value expected");
}

bool
lst_json_valid(const char *s, size_t n, size_t *where, const char **why)
{
	struct jc j = {
		.p = (const unsigned char *)s,
		.end = (const unsigned char *)s + n,
		.start = (const unsigned char *)s,
	};
	bool ok = value(&j, 0);

	if (ok) {
		space(&j);
		if (j.p != j.end)
			ok = bad(&j, "more after the value");
	}
	*where = (size_t)(j.p - j.start);
	*why = ok ? NULL : j.why;
	return ok;
}
