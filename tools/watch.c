/* SPDX-License-Identifier: MIT */
/*
 * --watch: the text report of a dump still being written, redrawn on the
 * terminal each time a snapshot arrives, until the process ends or the
 * user interrupts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "out.h"
#include "xalloc.h"

static volatile sig_atomic_t stop;

static void
on_interrupt(int sig)
{
	(void)sig;
	stop = 1;
}

/* Sleep for seconds, or until interrupted. */
static void
pause_for(double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - floor(seconds)) * 1e9),
	};

	while (!stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The file's size and time: whether it changed since *last. */
static bool
changed(const char *path, struct stat *last)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return false;
	if (st.st_size == last->st_size && st.st_ino == last->st_ino &&
	    st.st_mtim.tv_sec == last->st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == last->st_mtim.tv_nsec)
		return false;
	*last = st;
	return true;
}

/* The columns the character at p takes on the terminal (wcwidth: 2 for
 * wide characters, 0 for combining ones), its length in *n; a byte that
 * is not UTF-8 takes one. */
static unsigned
width(const char *p, size_t *n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t len = lsr_utf8_len(u), i;
	uint32_t cp;
	int w;

	*n = len ? len : 1;
	if (len <= 1)
		return 1;
	cp = u[0] & (0x7f >> len);
	for (i = 1; i < len; i++)
		cp = cp << 6 | (u[i] & 0x3f);
	w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : (unsigned)w;
}

/*
 * Draw text on the terminal from its top left corner: as many lines as
 * it has rows (less the status line), each cut at its width, so that
 * the top of the report, growing sites first, is what shows.
 */
static void
draw(const char *text, const char *status)
{
	struct winsize ws = { 0 };
	unsigned rows = 0, cols = 0, row = 0, col = 0;
	const char *p;
	size_t n;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2) {
		rows = ws.ws_row - 2u;
		cols = ws.ws_col;
	}
	fputs("\033[H\033[2J", stdout);
	for (p = text; *p != '\0' && (rows == 0 || row < rows); p += n) {
		unsigned w;

		n = 1;
		if (*p == '\n') {
			putchar('\n');
			row++;
			col = 0;
			continue;
		}
		w = width(p, &n);
		col += w;
		if (cols == 0 || col <= cols)
			fwrite(p, 1, n, stdout);
	}
	printf("%s%s\n", row > 0 && p[-1] != '\n' ? "\n" : "", status);
	fflush(stdout);
}

/* Whether process pid (0: not known) no longer exists. */
static bool
is_gone(pid_t pid)
{
	return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH;
}

int
lsr_watch(const char *path, double seconds, const struct lsr_out_opts *o)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	struct stat last = { .st_size = -1 };
	size_t shown = SIZE_MAX;
	bool said_wait = false;

	struct sigaction was;
	bool done = false;
	pid_t writer = 0;	/* of the dump, once read */

	/* wcwidth knows the terminal's characters from the locale */
	setlocale(LC_CTYPE, "");
	sigemptyset(&sa.sa_mask);
	/* An ignored SIGINT stays so (leakspy --watch: the terminal's
	 * Ctrl-C is for the command; the launcher ends the view). */
	if (sigaction(SIGINT, NULL, &was) != 0 || was.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!done) {
		struct lsr_dump d;
		struct lsr_report r;
		bool ended, gone;

		/* Stopped: one last look, so that the view ends on what the
		 * dump has by now. */
		done = stop;
		if (!changed(path, &last) && !is_gone(writer)) {
			if (done)
				break;
			if (last.st_size < 0 && !said_wait) {
				printf("leakspy-report: waiting for %s\n", path);
				fflush(stdout);
				said_wait = true;
			}
			pause_for(seconds);
			continue;
		}
		if (lsr_read(path, &d) != 0)
			return LSR_EXIT_USAGE;
		ended = d.final;
		/* The writer gone without its final snapshot (killed): the
		 * view ends on the last one it wrote. */
		writer = d.have_process ? (pid_t)d.pid : 0;
		gone = !ended && is_gone(writer);
		/* Redrawn when a snapshot arrived (a write-out's last bytes
		 * may still be on their way: drawn next time). */
		if (d.nsnaps != shown || ended || gone) {
			char *text = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&text, &len);

			if (f == NULL)
				lsr_nomem();
			lsr_group(&d, d.nsnaps ? d.nsnaps - 1 : SIZE_MAX,
			    SIZE_MAX, 0, &r);
			lsr_out_text(f, &r, o);
			if (fclose(f) != 0)
				lsr_nomem();
			draw(text, ended ? "the process has ended" : gone ?
			    "the process has gone without its final snapshot" :
			    "watching: Ctrl-C to stop");
			free(text);
			shown = d.nsnaps;
			lsr_report_fini(&r);
		}
		lsr_symbolize_fini(&d);
		lsr_dump_fini(&d);
		if (ended || gone)
			return 0;
		if (!done)
			pause_for(seconds);
	}
	return 0;
}
