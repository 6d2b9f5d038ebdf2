/* SPDX-License-Identifier: MIT */
/*
 * Tracking started in a running process (leakspy attach): the library's
 * entry points and state (attach.c) and the GOT rewriting (got.c).
 * Included by lsp.h.
 */
#ifndef LSP_ATTACH_H
#define LSP_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

/* attach.c: tracking started late, by leakspy_attach(), in a process that
 * did not preload leakspy.  lsp_attached is set before boot and stays
 * set; lsp_attach_env holds the settings, NAME=value lines, that
 * lsp_env() reads instead of the environment. */
extern bool lsp_attached;
extern const char *lsp_attach_env;
/* The entry points the attach command calls in the process, and where
 * it reads why one failed (exported; libleakspy.map). */
int leakspy_attach(const char *settings);
int leakspy_detach(void);
extern char leakspy_why[256];
/* Where lsp_next_sym looks: RTLD_NEXT, or RTLD_DEFAULT when attached. */
extern void *lsp_sym_scope;
/* Whether libleakspy.so was loaded at start (LD_PRELOAD, ld.so.preload)
 * rather than by dlopen: its malloc is the one the program binds. */
bool lsp_preloaded(void);
/* The start-up's work after the real functions are known: settings,
 * tables, the writer.  lsp_boot()'s and leakspy_attach()'s. */
void lsp_boot_tracking(void);
/* A second attach: the settings read again, every block and figure of
 * the first forgotten, and a new dump begun with the writer. */
void lsp_record_clear(void);
void lsp_sites_clear_counts(void);
void lsp_writer_restart(void);

/* got.c: rewrite the GOT entries of the interposed names in every loaded
 * object (0 or -errno); look again for objects loaded since; write
 * every entry back (0, or the first error). */
int lsp_got_patch(void);
void lsp_got_refresh(void);
int lsp_got_restore(void);
size_t lsp_got_count(void);

#endif
