/*
 * test_alloc_util.c: the counting allocator behind the allocation-failure
 * sweeps (see test_alloc_util.h).
 */
#include <sys/types.h>
#include <sys/time.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <event.h>

#include "test_util.h"
#include "test_alloc_util.h"

static int armed;   /* counting allocations now */
static int fail_at; /* the allocation to fail, 1-based; 0: none */
static int nallocs; /* allocations counted since ta_arm() */
static int nfailed; /* allocations failed since ta_arm() */
static int nlogs;   /* log lines since ta_arm() */
static long live;   /* blocks the library holds */
static long live_at_arm;

/* Count one allocation; whether it is the one to fail. */
static int
must_fail(void)
{
	if (!armed)
		return 0;
	if (++nallocs != fail_at)
		return 0;
	nfailed++;
	errno = ENOMEM;
	return 1;
}

static void *
ta_malloc(size_t size)
{
	void *p = must_fail() ? NULL : malloc(size);

	if (p != NULL)
		live++;
	return p;
}

static void *
ta_realloc(void *p, size_t size)
{
	void *q;

	if (must_fail())
		return NULL;
	q = realloc(p, size);
	if (p == NULL && q != NULL)
		live++;
	else if (p != NULL && size == 0 && q == NULL)
		live--;
	return q;
}

static void
ta_free(void *p)
{
	if (p != NULL)
		live--;
	free(p);
}

long
ta_delta(void)
{
	return live - live_at_arm;
}

static void
count_log(int severity, const char *msg)
{
	/* TA_VERBOSE=1 shows what the library said. */
	if (getenv("TA_VERBOSE") != NULL)
		fprintf(stderr, "log %d (%d allocs): %s\n", severity, nallocs,
		    msg);
	nlogs++;
}

void
ta_install(void)
{
	event_set_mem_functions(ta_malloc, ta_realloc, ta_free);
	event_set_log_callback(count_log);
}

void
ta_arm(int n)
{
	if (n > TA_MAX_ALLOCS)
		fail_msg("more than %d allocations: a sweep that never ends",
		    TA_MAX_ALLOCS);
	/* The per-backend runner resets the log callback: take it back. */
	event_set_log_callback(count_log);
	nallocs = nfailed = nlogs = 0;
	live_at_arm = live;
	fail_at = n;
	armed = 1;
}

void
ta_pause(void)
{
	armed = 0;
}

void
ta_resume(void)
{
	armed = 1;
}

int
ta_injected(const char *what, int n)
{
	armed = 0;
	fail_at = 0;
	if (nfailed == 0) {
		if (getenv("TA_VERBOSE") != NULL)
			fprintf(stderr, "swept %s: %d allocations\n", what,
			    n - 1);
		return 0;
	}
	if (nlogs == 0)
		fail_msg("%s: allocation %d failed with no log line", what, n);
	return 1;
}

int
ta_allocs(void)
{
	return nallocs;
}

int
ta_logs(void)
{
	return nlogs;
}

static void
expire_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

int
ta_run_until(struct event_base *base, const int *flag, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event deadline;
	int expired = 0, was_armed = armed;

	armed = 0;
	evtimer_set(&deadline, expire_cb, &expired);
	event_base_set(base, &deadline);
	assert_int_equal(evtimer_add(&deadline, &tv), 0);
	armed = was_armed;
	while (!*flag && !expired)
		if (event_base_loop(base, EVLOOP_ONCE) == -1)
			break;
	armed = 0;
	event_del(&deadline);
	armed = was_armed;
	return *flag;
}
