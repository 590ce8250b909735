/*
 * bench_util.h: the few helpers every benchmark program shares: clocks,
 * the open-file limit, a fixed-seed random generator and option parsing.
 *
 * The programs are compiled against three libraries (ours, libevent 2.1,
 * libev's emulation), so this header uses nothing but libc and POSIX.
 * Every program prints its results as one line of key=value pairs, which
 * bench/run.sh picks apart.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic wall-clock time in microseconds. */
static inline double
bu_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time (user + system) this process has used, in microseconds. */
static inline double
bu_cpu_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Raise the soft open-file limit to the hard one; returns the new limit. */
static inline long
bu_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return (long)rl.rlim_cur;
}

/* xorshift64*: the same sequence for every library under test. */
static inline uint64_t
bu_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ULL;
}

/* A positive decimal option value, or exit with a usage message. */
static inline long
bu_arg(const char *s, const char *usage)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "%s\n", usage);
		exit(2);
	}
	return v;
}

#endif /* BENCH_UTIL_H */
