// SPDX-License-Identifier: GPL-2.0
/*
 * zsm_memhog: create memory pressure until a watched file changes.
 *
 *   zsm_memhog STOP_FREE_KB WATCH_FILE HOLD_SECONDS
 *
 * Maps and populates anonymous memory, 4 MiB at a time, until the
 * contents of WATCH_FILE differ from what they were at start (success), or
 * until MemFree (/proc/meminfo) falls below STOP_FREE_KB; then it keeps the
 * memory for up to HOLD_SECONDS, polling WATCH_FILE every 100 ms, so that
 * kswapd, woken below the low watermark, has time to run the shrinkers.
 * It never goes below STOP_FREE_KB, so a caller that sets STOP_FREE_KB
 * between the min and low watermarks (/proc/sys/vm/min_free_kbytes) gets
 * kswapd reclaim without direct reclaim or the OOM killer.
 *
 * Exit status: 0 if WATCH_FILE changed, 1 if it did not, 2 on a usage or
 * system error. A summary line goes to stdout. All memory is released at
 * exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		(4UL << 20)
#define POLL_NS		100000000L

static long meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec poll = { 0, POLL_NS };
	char start[256], now[256];
	long stop_kb, hold, free_kb, polls;
	unsigned long chunks = 0;
	int changed = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: %s STOP_FREE_KB WATCH_FILE HOLD_SECONDS\n",
			argv[0]);
		return 2;
	}
	stop_kb = strtol(argv[1], NULL, 0);
	hold = strtol(argv[3], NULL, 0);
	if (read_file(argv[2], start, sizeof(start))) {
		perror(argv[2]);
		return 2;
	}

	for (;;) {
		free_kb = meminfo_kb("MemFree");
		if (free_kb < 0) {
			perror("/proc/meminfo");
			return 2;
		}
		if (read_file(argv[2], now, sizeof(now)) == 0 &&
		    strcmp(start, now)) {
			changed = 1;
			break;
		}
		if (free_kb - (long)(CHUNK >> 10) < stop_kb)
			break;
		if (mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0) ==
		    MAP_FAILED) {
			perror("mmap");
			break;
		}
		chunks++;
	}

	for (polls = 0; !changed && polls < hold * 10; polls++) {
		nanosleep(&poll, NULL);
		if (read_file(argv[2], now, sizeof(now)) == 0 &&
		    strcmp(start, now))
			changed = 1;
	}
	printf("zsm_memhog: %lu MiB mapped, MemFree %ld kB (stop at %ld kB), held %ld ms: %s %s\n",
	       chunks * (CHUNK >> 20), meminfo_kb("MemFree"), stop_kb,
	       polls * 100, argv[2], changed ? "changed" : "did not change");
	return changed ? 0 : 1;
}
