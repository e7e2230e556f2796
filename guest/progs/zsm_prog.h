/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the guest programs (zsm_pattern.c, zsm_swapset.c),
 * each built on its own by scripts/mkinitramfs.sh: static functions
 * only. Include after the C library's headers, with _GNU_SOURCE defined.
 */
#ifndef ZSM_PROG_H
#define ZSM_PROG_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The kernel's spellings of these attributes. */
#define __noreturn	__attribute__((noreturn))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

/* Print "<program>: <message>" on stderr and exit with status 2. */
static inline void __noreturn __printf(1, 2) die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static inline uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* A stride coprime with @n: stepping by it visits every index once. */
static inline uint64_t scatter_stride(uint64_t n)
{
	uint64_t stride = n / 3 + 1;

	while (gcd(stride, n) != 1)
		stride++;
	return stride;
}

#endif /* ZSM_PROG_H */
