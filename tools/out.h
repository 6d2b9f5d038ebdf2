/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report's formats besides text and JSON (lsr.h): each prints
 * report r to f, at most o->top sites of it (0: all).
 */
#ifndef LS_OUT_H
#define LS_OUT_H

#include <stdio.h>

#include "lsr.h"

/* out-folded.c */

/* Folded stacks, root first, for flamegraph.pl, inferno and speedscope:
 * "main;serve;fetch_result 1048576", weighted by o->weight; with --diff
 * (LSR_W_BYTES or LSR_W_BLOCKS), inferno's differential lines, live at
 * A then live at B. */
void lsr_out_collapsed(FILE *f, struct lsr_report *r,
    const struct lsr_out_opts *o);
/* One line an allocation point, "1048576 demo.c:42:fetch_result",
 * biggest first: live bytes, or with --diff those allocated after A and
 * live at B. */
void lsr_out_brief(FILE *f, struct lsr_report *r,
    const struct lsr_out_opts *o);

/* watch.c */

/* Redraw the text report of the dump at path on standard output each
 * time a snapshot arrives, looking every seconds, until the process
 * ends or SIGINT or SIGTERM comes.  Returns the exit status. */
int lsr_watch(const char *path, double seconds, const struct lsr_out_opts *o);

/* out-pprof.c */

/* A gzipped pprof profile (profile.proto): a sample a site, inuse and
 * alloc objects and space; with --diff the window from A to B. */
void lsr_out_pprof(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o);

/* out-html.c */

/* One self-contained HTML page of report r: chart, sites, flame graph,
 * chains; with c (--check) the gate's findings too. */
struct lsr_check;
void lsr_html_page(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o,
    const struct lsr_check *c);
/* The same without a gate. */
void lsr_out_html(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o);

#endif /* LS_OUT_H */
