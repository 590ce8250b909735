/*
 * bench_timers.c: a large timer population on the 1.4 API.
 *
 * COUNT timers (default 1,000,000) are added with random timeouts of up to
 * one second; then every second one is deleted (half of them), every
 * fourth one is added again with a new random timeout (a quarter,
 * rescheduled while pending), and the loop runs until the rest have fired.
 * The CPU time of each phase is printed: the run phase lasts about a
 * second of wall time whatever the library, but the CPU it burns is the
 * library's work of expiring the timers.
 *
 * The phases run inside run_phases(), which bench/run.sh names to
 * callgrind's --toggle-collect.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event.h>

#include "bench_util.h"

#define USAGE "usage: bench_timers [-n count] [-t max_timeout_usec]"

static long ntimers, maxtimeout, nfired;
static struct event *evs;
static uint64_t seed = 0x9e3779b97f4a7c15ULL;
static double cpu_add, cpu_del, cpu_resched, cpu_run;

static void
timer_cb(int fd, short which, void *arg)
{
	(void)fd;
	(void)which;
	(void)arg;
	nfired++;
}

static void
random_tv(struct timeval *tv)
{
	long us = 1 + (long)(bu_random(&seed) % (uint64_t)maxtimeout);

	tv->tv_sec = us / 1000000;
	tv->tv_usec = us % 1000000;
}

static void __attribute__((noinline)) run_phases(void)
{
	struct timeval tv;
	double t;
	long i;

	t = bu_cpu_usec();
	for (i = 0; i < ntimers; i++) {
		evtimer_set(&evs[i], timer_cb, NULL);
		random_tv(&tv);
		evtimer_add(&evs[i], &tv);
	}
	cpu_add = bu_cpu_usec() - t;

	t = bu_cpu_usec();
	for (i = 1; i < ntimers; i += 2)
		evtimer_del(&evs[i]);
	cpu_del = bu_cpu_usec() - t;

	t = bu_cpu_usec();
	for (i = 0; i < ntimers; i += 4) {
		random_tv(&tv);
		evtimer_add(&evs[i], &tv);
	}
	cpu_resched = bu_cpu_usec() - t;

	t = bu_cpu_usec();
	event_dispatch();
	cpu_run = bu_cpu_usec() - t;
}

int
main(int argc, char **argv)
{
	int c;

	ntimers = 1000000;
	maxtimeout = 1000000;
	while ((c = getopt(argc, argv, "n:t:")) != -1) {
		switch (c) {
		case 'n': ntimers = bu_arg(optarg, USAGE); break;
		case 't': maxtimeout = bu_arg(optarg, USAGE); break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	evs = calloc((size_t)ntimers, sizeof(*evs));
	if (evs == NULL) {
		perror("calloc");
		return 1;
	}
	event_init();
	run_phases();
	if (nfired != (ntimers + 1) / 2) {
		fprintf(stderr, "fired %ld timers, expected %ld\n", nfired,
		    (ntimers + 1) / 2);
		return 1;
	}
	printf("timers=%ld fired=%ld add_cpu_ms=%.1f del_cpu_ms=%.1f "
	       "resched_cpu_ms=%.1f run_cpu_ms=%.1f total_cpu_ms=%.1f\n",
	    ntimers, nfired, cpu_add / 1e3, cpu_del / 1e3, cpu_resched / 1e3,
	    cpu_run / 1e3, (cpu_add + cpu_del + cpu_resched + cpu_run) / 1e3);
	return 0;
}
