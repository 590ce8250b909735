/*
 * test_alloc_util.h: making the Nth allocation of the library fail.
 *
 * ta_install() puts a counting allocator in place with
 * event_set_mem_functions() and a log callback that counts lines.  A
 * sweep then goes:
 *
 *	for (n = 1; ; n++) {
 *		ta_arm(n);
 *		r = operation();
 *		if (!ta_injected("operation", n))
 *			break;		(n was past its last allocation)
 *		check that r is the documented error and the objects work;
 *	}
 *
 * ta_injected() disarms, and fails the test if the failed allocation left
 * no log line.  ta_pause()/ta_resume() leave the test's own library calls
 * (setting up a deadline timer, say) out of the count.
 */
#ifndef TEST_ALLOC_UTIL_H
#define TEST_ALLOC_UTIL_H

struct event_base;

/* Sweeps stop with a failure past this many allocations. */
#define TA_MAX_ALLOCS 5000

/* Install the counting allocator and log counter (once, in main()). */
void ta_install(void);

/* Start counting; allocation n (1-based) of the library will fail. */
void ta_arm(int n);

/* Stop and restart counting without forgetting where we are. */
void ta_pause(void);
void ta_resume(void);

/*
 * Disarm; return whether allocation n was reached (and failed).  If it
 * was, assert that a line was logged since ta_arm().
 */
int ta_injected(const char *what, int n);

/*
 * Blocks the library allocated since ta_arm() and still holds: a call
 * that failed and kept nothing must leave this at 0 (what ASan would
 * find only at exit, this finds at the call that leaked).
 */
long ta_delta(void);

/* Allocations counted since ta_arm(), and log lines. */
int ta_allocs(void);
int ta_logs(void);

/*
 * Run base (counting, if armed) until *flag is set or ms milliseconds
 * pass; whether *flag got set.  The deadline timer is not counted.
 */
int ta_run_until(struct event_base *base, const int *flag, int ms);

#endif /* TEST_ALLOC_UTIL_H */
