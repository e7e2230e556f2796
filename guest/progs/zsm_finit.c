// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_finit: load one module file, once.
 *
 *   zsm_finit FILE [PARAM...]
 *
 * BusyBox's insmod calls finit_module() and, when that fails for any
 * reason, init_module() with the same file: a test module whose init
 * reports a failure (-EIO) then runs a second time, doubling the test's
 * time, and when the second run passes the failure is lost (insmod
 * returns 0). The guest test modules do their work in their init
 * function, so zsm_insmod in guest/lib.sh loads them with this: one
 * finit_module() call, its error printed as insmod prints it
 * ("... : Invalid argument") and exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len = 1;
	char *params;
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: zsm_finit FILE [PARAM...]\n");
		return 2;
	}
	for (i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	params = calloc(1, len);
	if (!params)
		return 2;
	for (i = 2; i < argc; i++) {
		if (i > 2)
			strcat(params, " ");
		strcat(params, argv[i]);
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "zsm_finit: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (syscall(SYS_finit_module, fd, params, 0)) {
		fprintf(stderr, "zsm_finit: can't insert '%s': %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	return 0;
}
