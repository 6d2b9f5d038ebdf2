/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report --check: the leak gate.  check.c turns dumps into
 * findings (memory lost at exit, thread leaks, growth), suppress.c
 * matches them against suppression rules, baseline.c against a baseline,
 * and the out-check-*.c files render the result for a CI log or a CI
 * service (text, JSON, JUnit, SARIF, LeakSanitizer's lines).
 */
#ifndef LS_CHECK_H
#define LS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit status of --check (leakspy-report(1), EXIT STATUS). */
#define LSR_EXIT_FINDINGS	1
#define LSR_EXIT_NO_VERDICT	3

/* What a finding is, in the order --fail-on and the outputs know them. */
enum {
	LSR_K_DEFINITE,		/* definitely lost at exit */
	LSR_K_INDIRECT,		/* lost only through lost blocks */
	LSR_K_POSSIBLE,		/* held only by interior pointers at exit
				 * (not failed on unless asked) */
	LSR_K_THREAD,		/* a thread leak: unjoined at exit */
	LSR_K_GROWTH,		/* a site whose verdict is growing */
	LSR_K_COUNT
};

#define LSR_K_BIT(k)		(1u << (k))
#define LSR_K_DEFAULT	(LSR_K_BIT(LSR_K_DEFINITE) | \
    LSR_K_BIT(LSR_K_INDIRECT) | LSR_K_BIT(LSR_K_THREAD) | \
    LSR_K_BIT(LSR_K_GROWTH))

/* "definite", "indirect", "possible", "thread", "growth" (--fail-on's
 * words); "unknown" past the end. */
const char *lsr_kind_word(unsigned kind);

/* One frame of a finding's stack, its strings its own. */
struct lsr_cframe {
	char *function;		/* demangled; NULL when unknown */
	char *file;		/* as DWARF names it; NULL when unknown */
	unsigned line;
	char *module;		/* path; NULL when no module covers it */
	uint64_t offset;	/* in the module */
	bool inlined;
};

/* A suppression rule: "leak:PATTERN" and its kin. */
struct lsr_rule {
	unsigned kinds;		/* LSR_K_BIT()s it suppresses */
	char *text;		/* the line as written, "leak:libfoo.so" */
	char *pattern;		/* after the colon */
	char *where;		/* "supp.txt:3", or "built-in" */
	bool builtin;
	bool alloc_only;	/* matches the allocator's frames only */
	uint64_t used;		/* findings it suppressed */
	uint64_t used_bytes;
};

/* A baseline entry: a finding's key and the budget it is allowed. */
struct lsr_budget {
	unsigned kind;
	char *key;		/* lsr_finding.key */
	uint64_t bytes, blocks;
	char *where;		/* "base.txt:12" */
	uint64_t matched;	/* findings it absorbed */
};

struct lsr_finding {
	unsigned kind;		/* LSR_K_* */
	size_t dump;		/* index into lsr_check.dumps */
	struct {
		uint64_t bytes;	/* lost; live (growth); thread: 0 */
		uint64_t blocks;	/* lost; live (growth); thread: 1 */
	} amount;
	/* growth */
	double rate;		/* bytes a second */
	uint64_t grew;		/* bytes gained in the window */
	double since;		/* seconds since the start */
	double released_at;	/* or -1 */
	char *retained_by;	/* the chain, "a <- b <- global g", or NULL */
	/* thread */
	uint64_t thread_serial;
	char *thread_name;	/* or NULL */
	char *thread_state;	/* "running", "ended" */
	char *thread_start;	/* start routine, or NULL */

	char *via;		/* the allocation function, or NULL */
	unsigned stacks;	/* lost at exit: the call stacks it sums,
				 * alike but for addresses and lines */
	size_t nframes;
	struct lsr_cframe *frames;	/* innermost first; the allocator's
					 * own frames stripped */
	size_t nalloc;
	struct lsr_cframe *alloc;	/* the allocator's frames that were
					 * stripped, innermost first: where
					 * in the C library, the loader or
					 * the C++ runtime it was called */
	char *key;		/* stable: the frames' functions and file
				 * names, one per line (baseline.c) */
	const struct lsr_rule *rule;	/* suppressed by; or NULL */
	const struct lsr_budget *budget;	/* absorbed by; or NULL */
	bool over_budget;	/* in the baseline but past its budget */
};

/* A dump the check read. */
struct lsr_cdump {
	char *path;
	char *name;		/* program name */
	uint64_t pid;
	char *command;		/* its argv, joined by spaces */
	double seconds;		/* how long it ran, as far as seen */
	bool verdict;		/* false: the data cannot support one */
	char *why;		/* !verdict: why; else NULL */
	char *note;		/* what was not judged, or NULL: "ended by
				 * SIGTERM: memory lost at exit not judged" */
	size_t nfindings;	/* failing ones (not suppressed, not
				 * baselined) */
};

struct lsr_check_opts {
	unsigned fail_on;	/* LSR_K_BIT()s; default LSR_K_DEFAULT */
	double max_rate;	/* --max-growth RATE: bytes a second */
	uint64_t max_total;	/* --max-growth SIZE */
	bool builtin;		/* built-in suppressions (default on) */
	const char *source_root;	/* SARIF: paths relative to it */
};

struct lsr_check {
	struct lsr_check_opts o;
	size_t ndumps;
	struct lsr_cdump *dumps;
	size_t nfindings;
	struct lsr_finding *findings;	/* dump by dump, each by kind,
					 * biggest first */
	size_t nrules;
	struct lsr_rule *rules;		/* built-in ones last */
	size_t nbudgets;
	struct lsr_budget *budgets;
	int exit_status;	/* 0, LSR_EXIT_FINDINGS, LSR_EXIT_NO_VERDICT */
	size_t failing;		/* findings neither suppressed nor
				 * baselined */
	size_t suppressed, baselined;
	size_t cap_dumps, cap_findings, cap_rules, cap_budgets;
};

/* Whether finding f fails the check: a kind failed on, neither
 * suppressed nor absorbed by the baseline. */
static inline bool
lsr_finding_fails(const struct lsr_check *c, const struct lsr_finding *f)
{
	return (c->o.fail_on & LSR_K_BIT(f->kind)) && f->rule == NULL &&
	    (f->budget == NULL || f->over_budget);
}

/* check-run.c: --check from leakspy-report's options */

enum { LSR_CF_TEXT, LSR_CF_JSON, LSR_CF_JUNIT, LSR_CF_SARIF, LSR_CF_LSAN,
    LSR_CF_HTML };

#define LSR_GATE_MAX_SUPP	64

struct lsr_gate {
	struct lsr_check_opts o;
	const char *supp[LSR_GATE_MAX_SUPP];	/* --suppressions */
	size_t nsupp;
	const char *baseline, *write_baseline;
	bool gen;		/* --gen-suppressions */
	unsigned format;	/* LSR_CF_* */
};

/* --fail-on LIST into *bits; false if LIST is not one. */
bool lsr_gate_fail_on(const char *arg, unsigned *bits);
/* --max-growth LIMIT into o's max_rate or max_total; false if LIMIT is
 * not a rate or a size. */
bool lsr_gate_max_growth(const char *arg, struct lsr_check_opts *o);
/* --format's word into *format; false if it is none. */
bool lsr_gate_format(const char *word, unsigned *format);
/* Check the dumps files[0..n-1] as g says and print the result on
 * stdout.  Returns the exit status. */
int lsr_gate_run(const struct lsr_gate *g, char **files, int n);

/* check-words.c */

/* Finding f in one line: "definitely lost: 40 bytes in 1 block".
 * Allocates. */
char *lsr_finding_line(const struct lsr_finding *f);

/* check.c */

/* Read the dump at path and add its findings to c (suppressions and the
 * baseline not yet applied).  Returns 0, or LSR_EXIT_USAGE if it could
 * not be opened.  Allocates. */
int lsr_check_dump(struct lsr_check *c, const char *path);

/* The same for a dump already read (by lsr_read or lsr_parse), which
 * the caller still owns and releases. */
struct lsr_dump;
void lsr_check_parsed(struct lsr_check *c, struct lsr_dump *d);

/* Apply c's rules and budgets to its findings, count, and set
 * c->exit_status. */
void lsr_check_judge(struct lsr_check *c);

void lsr_check_fini(struct lsr_check *c);

/* suppress.c */

/* Add the rules of suppression file path to c.  False, with a message
 * naming the file and line, if it cannot be read or a line is not a
 * rule.  Allocates. */
bool lsr_rules_load(struct lsr_check *c, const char *path);

/* The line[0..n) getline read, its blanks (and line end) cut at both
 * ends: where it starts now. */
char *lsr_line_trim(char *line, size_t n);

/* Add the built-in rules (leakspy-report(1), SUPPRESSIONS). */
void lsr_rules_builtin(struct lsr_check *c);

/* The first of c's rules that suppresses f, or NULL. */
struct lsr_rule *lsr_rules_match(struct lsr_check *c,
    const struct lsr_finding *f);

/* Print a rule that suppresses f ("leak:make_node") with a comment. */
void lsr_rules_generate(FILE *out, const struct lsr_check *c,
    const struct lsr_finding *f);

/* baseline.c */

/* f's key from its frames: one "function file" line a frame (the file's
 * base name; a frame with no function is named by its module). */
char *lsr_finding_key(const struct lsr_finding *f);

/* Read the baseline at path into c.  False, with a message, if it cannot
 * be read or is not a baseline.  Allocates. */
bool lsr_baseline_load(struct lsr_check *c, const char *path);

/* The entry of c's baseline that f matches, or NULL. */
struct lsr_budget *lsr_baseline_match(struct lsr_check *c,
    const struct lsr_finding *f);

/* Write the findings of c that are not suppressed as a baseline to path
 * (replacing it only if it is a baseline itself).  False, with a message,
 * on failure. */
bool lsr_baseline_write(const struct lsr_check *c, const char *path);

/* out-check-text.c, out-check-json.c, out-junit.c, out-sarif.c,
 * out-lsan.c: c's result on f */

void lsr_check_text(FILE *f, const struct lsr_check *c);
void lsr_check_json(FILE *f, const struct lsr_check *c);
void lsr_check_junit(FILE *f, const struct lsr_check *c);
void lsr_check_sarif(FILE *f, const struct lsr_check *c);
void lsr_check_lsan(FILE *f, const struct lsr_check *c);
/* out-html.c: the report page of the dump at path (the one dump c
 * checked) with c's findings.  Returns 0, or -1 with a message if the
 * dump could not be read again. */
int lsr_check_html(FILE *f, const struct lsr_check *c, const char *path);

#endif /* LS_CHECK_H */
