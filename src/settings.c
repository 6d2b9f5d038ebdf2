/* SPDX-License-Identifier: MIT */
/*
 * The LEAKSPY_* settings: their table and the parser of their values,
 * shared by the shim (which may not use strtol's locale, getenv or
 * allocate, and may run before the C library is initialised) and the
 * launcher.  Async-signal-safe.
 */
#include <signal.h>
#include <string.h>

#include "compiler.h"
#include "settings.h"

static const char *const unwind_words[] = { "fast", "libunwind", "check",
	NULL };

const struct ls_setting ls_settings[LS_SET_COUNT] = {
	[LS_SET_OUTPUT] = {
		.name = "LEAKSPY_OUTPUT", .type = LS_VT_TEMPLATE,
		.def_str = "leakspy.%e.%p.lsd",
		.opt = 'o', .long_opt = "output", .arg = "template",
		.help = "write the dump to TEMPLATE; %p is the pid, %e the "
		    "program name",
	},
	[LS_SET_INTERVAL] = {
		.name = "LEAKSPY_INTERVAL", .type = LS_VT_SECONDS,
		.flags = LS_SF_ZERO | LS_SF_CLAMP_LOW | LS_SF_CLAMP_HIGH,
		/* 46 days at most: milliseconds stay in 32 bits */
		.min = 10, .max = 4000000000u, .def = 10000,
		.opt = 'i', .long_opt = "interval", .arg = "seconds",
		.help = "snapshot every SECONDS seconds; 0 only at exit",
	},
	[LS_SET_SIGNAL] = {
		.name = "LEAKSPY_SIGNAL", .type = LS_VT_SIGNAL, .def = 0,
		.opt = 's', .long_opt = "signal", .arg = "signal",
		.help = "also snapshot when SIGNAL arrives, such as USR2 or "
		    "RTMIN+3; not TERM, INT, HUP, CHLD, ...",
	},
	[LS_SET_DEPTH] = {
		.name = "LEAKSPY_DEPTH", .type = LS_VT_UINT,
		.flags = LS_SF_CLAMP_HIGH,
		.min = 1, .max = LS_DEPTH_MAX, .def = 64,
		.opt = 'd', .long_opt = "depth", .arg = "depth",
		.help = "keep at most DEPTH frames a stack",
	},
	[LS_SET_SAMPLE] = {
		.name = "LEAKSPY_SAMPLE", .type = LS_VT_BYTES,
		.flags = LS_SF_CLAMP_HIGH,
		.min = 0, .max = 1ull << 40, .def = 0,
		.opt = 'S', .long_opt = "sample", .arg = "bytes",
		.help = "record one allocation per BYTES on average, so that "
		    "figures become estimates; 1M suits production, 0 records "
		    "every one",
	},
	[LS_SET_FOLLOW_EXEC] = {
		.name = "LEAKSPY_FOLLOW_EXEC", .type = LS_VT_BOOL, .def = 0,
		.opt = 'f', .long_opt = "follow-exec",
		.help = "programs the command executes are traced too",
	},
	[LS_SET_UNWIND] = {
		.name = "LEAKSPY_UNWIND", .type = LS_VT_WORD, .def = 0,
		.words = unwind_words,
		.opt = 'u', .long_opt = "unwind", .arg = "mode",
		.help = "how stacks are taken; check takes both ways and "
		    "aborts on a difference",
	},
	[LS_SET_SCAN] = {
		.name = "LEAKSPY_SCAN", .type = LS_VT_SECONDS,
		.flags = LS_SF_ZERO | LS_SF_CLAMP_LOW | LS_SF_CLAMP_HIGH,
		.min = 1000, .max = 4000000000u, .def = 300000,
		.opt = 'c', .long_opt = "scan", .arg = "seconds",
		.help = "scan the heap for who holds it while the command "
		    "runs: every SECONDS seconds, at the snapshot signal and "
		    "as the heap grows; 0 only at exit",
	},
	[LS_SET_SCAN_GROWTH] = {
		.name = "LEAKSPY_SCAN_GROWTH", .type = LS_VT_UINT,
		.flags = LS_SF_ZERO | LS_SF_CLAMP_LOW | LS_SF_CLAMP_HIGH,
		.min = 10, .max = 10000, .def = 50,
		.opt = 'g', .long_opt = "scan-growth", .arg = "percent",
		.help = "also scan when the live heap has grown by PERCENT "
		    "since the last scan; 0 never",
	},
};

/* The signal names without "SIG"; the first of two for one number is
 * the one shown. */
static const struct {
	const char *name;
	int signo;
} signames[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "IOT", SIGIOT }, { "BUS", SIGBUS }, { "FPE", SIGFPE },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT },
	{ "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "POLL", SIGPOLL },
	{ "PWR", SIGPWR }, { "SYS", SIGSYS },
};

/*
 * Decimal digits at *s, advancing *s past them; the number, or cap + 1
 * for any number above cap (cap < 2^60).  *ndigits counts the digits.
 */
static uint64_t
scan_digits(const char **s, uint64_t cap, unsigned *ndigits)
{
	uint64_t v = 0;

	*ndigits = 0;
	for (; **s >= '0' && **s <= '9'; (*s)++, (*ndigits)++)
		if (v <= cap)
			v = v * 10 + (uint64_t)(**s - '0');
	return v > cap ? cap + 1 : v;
}

/* A plain decimal; false if malformed, else *v (cap + 1 if over cap). */
static bool
parse_uint(const char *s, uint64_t cap, uint64_t *v)
{
	unsigned n;

	*v = scan_digits(&s, cap, &n);
	return n > 0 && *s == '\0';
}

/* Seconds with an optional fraction into milliseconds (digits past the
 * third decimal are dropped); a value that is not zero but drops to 0 ms
 * is 1 ms, so that it is below the range rather than off. */
static bool
parse_millis(const char *s, uint64_t cap, uint64_t *v)
{
	uint64_t whole, frac = 0, scale = 100;
	bool nonzero = false;
	unsigned n, nfrac = 0;
	const char *p = s;

	whole = scan_digits(&p, cap / 1000, &n);
	nonzero = whole != 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			frac += (uint64_t)(*p - '0') * scale;
			nonzero |= *p != '0';
			scale /= 10;
		}
	if (n + nfrac == 0 || *p != '\0')
		return false;
	if (whole > cap / 1000)
		*v = cap + 1;
	else
		*v = whole * 1000 + frac;
	if (*v == 0 && nonzero)
		*v = 1;
	return true;
}

/* Bytes with an optional k, M or G suffix (powers of 1024, case
 * ignored). */
static bool
parse_bytes(const char *s, uint64_t cap, uint64_t *v)
{
	unsigned shift = 0, n;

	*v = scan_digits(&s, cap, &n);
	switch (*s) {
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	}
	if (n == 0 || *s != '\0')
		return false;
	*v = *v > cap >> shift ? cap + 1 : *v << shift;
	return true;
}

/*
 * Signal by number, or by name with or without "SIG": the standard names
 * and RTMIN+n / RTMAX-n.  Which of them may be the snapshot signal is
 * ls_signal_refusal()'s business.
 */
int
ls_parse_signal(const char *s)
{
	uint64_t v;
	size_t i;

	if (parse_uint(s, 64, &v))
		return v >= 1 && (int)v <= SIGRTMAX ? (int)v : -1;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < LS_ARRAY_SIZE(signames); i++)
		if (strcmp(s, signames[i].name) == 0)
			return signames[i].signo;
	if (strcmp(s, "RTMIN") == 0)
		return SIGRTMIN;
	if (strcmp(s, "RTMAX") == 0)
		return SIGRTMAX;
	if (strncmp(s, "RTMIN+", 6) == 0 && parse_uint(s + 6, 64, &v) &&
	    SIGRTMIN + (int)v <= SIGRTMAX)
		return SIGRTMIN + (int)v;
	if (strncmp(s, "RTMAX-", 6) == 0 && parse_uint(s + 6, 64, &v) &&
	    SIGRTMAX - (int)v >= SIGRTMIN)
		return SIGRTMAX - (int)v;
	return -1;
}

const char *
ls_signal_refusal(int signo)
{
	switch (signo) {
	case SIGHUP: case SIGINT: case SIGQUIT: case SIGTERM:
		return "services and their managers rely on it to stop or "
		    "reload them";
	case SIGKILL: case SIGSTOP:
		return "it cannot be caught";
	case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGSYS: case SIGXCPU: case SIGXFSZ:
		return "the kernel or the C library sends it on a fault or a "
		    "limit, and the program must die of it";
	case SIGPIPE: case SIGALRM: case SIGCHLD: case SIGCONT:
	case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return "the kernel and shells send it with a meaning of their "
		    "own";
	}
	if (signo < 1 || signo > SIGRTMAX)
		return "no such signal";
	if (signo > SIGSYS && signo < SIGRTMIN)
		return "the C library keeps it for its threads";
	return NULL;
}

/* Yes and no, each word's opposite at the same index. */
static const char *const yes_words[] = { "yes", "1", "true", "on" };
static const char *const no_words[] = { "no", "0", "false", "off" };

static bool
parse_bool(const char *s, uint64_t *v)
{
	size_t i;

	for (i = 0; i < LS_ARRAY_SIZE(yes_words); i++) {
		if (strcmp(s, yes_words[i]) == 0 ||
		    strcmp(s, no_words[i]) == 0) {
			*v = strcmp(s, yes_words[i]) == 0;
			return true;
		}
	}
	return false;
}

static bool
parse_word(const char *const *words, const char *s, uint64_t *v)
{
	uint64_t i;

	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(s, words[i]) == 0) {
			*v = i;
			return true;
		}
	}
	return false;
}

/* %p, %e and %% are the escapes; any other % is an error. */
const char *
ls_check_template(const char *t)
{
	const char *s;

	if (*t == '\0')
		return "the template is empty";
	for (s = t; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		if (s[1] != 'p' && s[1] != 'e' && s[1] != '%')
			return s[1] == '\0' ? "a % at the end (write %% for a "
			    "percent sign)" : "an unknown % escape (known: %p, "
			    "%e, %%)";
		s++;
	}
	if (s[-1] == '/')
		return "the template names a directory";
	return NULL;
}

struct ls_value
ls_setting_default(const struct ls_setting *st)
{
	struct ls_value v = { st->def, st->def_str };

	return v;
}

/* Milliseconds as seconds: "10", "0.5", "0.01". */
static void
show_millis(struct ls_fmt *f, uint64_t ms)
{
	char frac[5] = { '.', (char)('0' + ms % 1000 / 100),
		(char)('0' + ms % 100 / 10), (char)('0' + ms % 10), '\0' };
	size_t n = 4;

	ls_fmt_u64(f, ms / 1000);
	while (n > 1 && frac[n - 1] == '0')
		n--;
	if (n > 1)
		ls_fmt_mem(f, frac, n);
}

static void
show_bytes(struct ls_fmt *f, uint64_t v)
{
	static const char suffix[] = "GMk";
	unsigned i;

	for (i = 0; i < 3 && v != 0; i++) {
		unsigned shift = 30 - 10 * i;

		if ((v & ((1ull << shift) - 1)) == 0) {
			ls_fmt_u64(f, v >> shift);
			ls_fmt_mem(f, &suffix[i], 1);
			return;
		}
	}
	ls_fmt_u64(f, v);
}

static void
show_signal(struct ls_fmt *f, uint64_t signo)
{
	size_t i;

	if (signo == 0) {
		ls_fmt_str(f, "none");
		return;
	}
	for (i = 0; i < LS_ARRAY_SIZE(signames); i++) {
		if ((uint64_t)signames[i].signo == signo) {
			ls_fmt_str(f, signames[i].name);
			return;
		}
	}
	if (signo >= (uint64_t)SIGRTMIN && signo <= (uint64_t)SIGRTMAX) {
		ls_fmt_str(f, "RTMIN");
		if (signo != (uint64_t)SIGRTMIN) {
			ls_fmt_str(f, "+");
			ls_fmt_u64(f, signo - (uint64_t)SIGRTMIN);
		}
		return;
	}
	ls_fmt_u64(f, signo);
}

static void
show_words(struct ls_fmt *f, const char *const *w, const char *conj)
{
	size_t i;

	for (i = 0; w[i] != NULL; i++) {
		if (i > 0)
			ls_fmt_str(f, w[i + 1] == NULL ? conj : ", ");
		ls_fmt_str(f, w[i]);
	}
}

void
ls_setting_show(const struct ls_setting *st, const struct ls_value *v,
    struct ls_fmt *f)
{
	size_t i;

	switch (st->type) {
	case LS_VT_UINT:
		ls_fmt_u64(f, v->n);
		break;
	case LS_VT_SECONDS:
		show_millis(f, v->n);
		break;
	case LS_VT_BYTES:
		show_bytes(f, v->n);
		break;
	case LS_VT_SIGNAL:
		show_signal(f, v->n);
		break;
	case LS_VT_BOOL:
		ls_fmt_str(f, v->n ? yes_words[0] : no_words[0]);
		break;
	case LS_VT_WORD:
		for (i = 0; st->words[i] != NULL && i < v->n; i++)
			;
		ls_fmt_str(f, st->words[i] != NULL ? st->words[i] : "?");
		break;
	case LS_VT_TEMPLATE:
		ls_fmt_str(f, v->s != NULL ? v->s : "");
		break;
	}
}

void
ls_setting_range(const struct ls_setting *st, struct ls_fmt *f)
{
	struct ls_value lo = { st->min, NULL }, hi = { st->max, NULL };

	switch (st->type) {
	case LS_VT_UINT:
	case LS_VT_SECONDS:
	case LS_VT_BYTES:
		if ((st->flags & LS_SF_ZERO) && st->min != 0)
			ls_fmt_str(f, "0, or ");
		ls_setting_show(st, &lo, f);
		ls_fmt_str(f, " to ");
		ls_setting_show(st, &hi, f);
		break;
	case LS_VT_BOOL:
		ls_fmt_str(f, "yes or no (1 or 0, true or false, on or off)");
		break;
	case LS_VT_WORD:
		show_words(f, st->words, " or ");
		break;
	}
}

/* The reason a value of st is refused, but for signals and templates. */
static void
want(const struct ls_setting *st, struct ls_fmt *f)
{
	ls_fmt_str(f, "want ");
	if (st->type == LS_VT_SECONDS)
		ls_fmt_str(f, "seconds: ");
	else if (st->type == LS_VT_BYTES)
		ls_fmt_str(f, "bytes (such as 524288, 512k or 2M): ");
	ls_setting_range(st, f);
}

/* A number of st: the value to use for n, and whether n is in range. */
static bool
in_range(const struct ls_setting *st, uint64_t n, uint64_t *use)
{
	*use = n;
	if (n == 0 && (st->flags & LS_SF_ZERO))
		return true;
	if (n < st->min)
		*use = st->flags & LS_SF_CLAMP_LOW ? st->min : st->def;
	else if (n > st->max)
		*use = st->flags & LS_SF_CLAMP_HIGH ? st->max : st->def;
	return *use == n;
}

/* A signal: NULL and its number in *v, or why it cannot be the snapshot
 * signal. */
static const char *
signal_refusal(const char *s, uint64_t *v)
{
	int signo;
	const char *why;

	if (strcmp(s, "none") == 0) {
		*v = 0;
		return NULL;
	}
	signo = ls_parse_signal(s);
	if (signo < 0)
		return "unknown signal";
	why = ls_signal_refusal(signo);
	*v = (uint64_t)signo;
	return why;
}

bool
ls_setting_parse(const struct ls_setting *st, const char *s,
    struct ls_parsed *p)
{
	struct ls_fmt r, u;
	const char *why = NULL;
	uint64_t n = 0;
	bool ok = false;

	ls_fmt_init(&r, p->reason, sizeof(p->reason));
	p->v = ls_setting_default(st);
	switch (st->type) {
	case LS_VT_UINT:
		ok = parse_uint(s, st->max, &n) && in_range(st, n, &p->v.n);
		break;
	case LS_VT_SECONDS:
		ok = parse_millis(s, st->max, &n) && in_range(st, n, &p->v.n);
		break;
	case LS_VT_BYTES:
		ok = parse_bytes(s, st->max, &n) && in_range(st, n, &p->v.n);
		break;
	case LS_VT_BOOL:
		ok = parse_bool(s, &p->v.n);
		break;
	case LS_VT_WORD:
		ok = parse_word(st->words, s, &p->v.n);
		break;
	case LS_VT_SIGNAL:
		why = signal_refusal(s, &n);
		if (why == NULL)
			p->v.n = n;
		else if (n != 0)
			ls_fmt_str(&r, "cannot be the snapshot signal: ");
		ok = why == NULL;
		break;
	case LS_VT_TEMPLATE:
		why = ls_check_template(s);
		if (why == NULL)
			p->v.s = s;
		ok = why == NULL;
		break;
	}
	if (!ok && why != NULL)
		ls_fmt_str(&r, why);
	else if (!ok)
		want(st, &r);
	ls_fmt_init(&u, p->used, sizeof(p->used));
	ls_setting_show(st, &p->v, &u);
	return ok;
}
