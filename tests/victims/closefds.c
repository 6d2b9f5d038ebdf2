/* SPDX-License-Identifier: MIT */
/*
 * Writes its own file, closes every descriptor it has, then opens files
 * again (they reuse the low numbers) and writes them before exit: a dump
 * must still appear and these files must hold exactly what was written.
 * argv[1] is a directory for the files.  Leaks 1 block of 4242 bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *volatile kept;

static void
put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		exit(1);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		exit(1);
	/* Left open on purpose: the shim must not write into it. */
}

int
main(int argc, char **argv)
{
	int fd;

	if (argc < 2)
		return 2;
	kept = malloc(4242);
	put(argv[1], "before.txt", "written before closing\n");
	for (fd = 0; fd < 1024; fd++)
		close(fd);
	put(argv[1], "after0.txt", "first file after closing\n");
	put(argv[1], "after1.txt", "second file after closing\n");
	put(argv[1], "after2.txt", "third file after closing\n");
	put(argv[1], "after3.txt", "fourth file after closing\n");
	return 5;
}
