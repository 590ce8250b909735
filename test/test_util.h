/*
 * test_util.h: what every test program shares.
 *
 * TU_RUN_PER_BACKEND() runs tests once for each backend this machine has
 * (epoll, poll, select, ...), choosing it through the EVENT_NO* environment
 * variables before each run, so every test that creates a base with
 * event_base_new()/event_init() exercises each backend.  TU_RUN_ONCE()
 * runs tests that need no backend (pure buffers, parsers) once.
 *
 * Every test runs under a deadline (TU_DEADLINE_SEC, scaled by the
 * environment variable TU_DEADLINE_SCALE, e.g. 3 under sanitizers): when
 * it passes, the test fails with its group, name and backend and the run
 * moves on to the next test, so a broken test can never hang the suite.
 * A test that needs longer says so with tu_deadline(seconds, why).
 *
 * One test alone, for debugging (both variables optional; TEST_NAME is a
 * shell pattern):
 *
 *     TEST_NAME=test_order TEST_BACKEND=poll test/test_timer
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

struct event_base;

/*
 * The base most tests need: tu_base_setup() creates it with
 * event_base_new() (so it uses the backend of the current run) and
 * tu_base_teardown() frees it.  TU_TEST(f) runs test f between the two.
 */
extern struct event_base *tu_base;
int tu_base_setup(void **state);
int tu_base_teardown(void **state);
#define TU_TEST(f) \
	cmocka_unit_test_setup_teardown(f, tu_base_setup, tu_base_teardown)

/* The default bound on one test, in seconds (before TU_DEADLINE_SCALE). */
#define TU_DEADLINE_SEC 5

/*
 * An empty evbuffer for tests of buffers and tagging: tu_buf_setup()
 * creates it, tu_buf_teardown() frees it; TU_BUF_TEST(f) runs f between.
 */
struct evbuffer;
extern struct evbuffer *tu_buf;
int tu_buf_setup(void **state);
int tu_buf_teardown(void **state);
#define TU_BUF_TEST(f) \
	cmocka_unit_test_setup_teardown(f, tu_buf_setup, tu_buf_teardown)

/*
 * Run tests once per available backend (per_backend != 0) or once on the
 * default backend; returns the number of failures.  Each test is its own
 * cmocka group, named "group/backend", under its own deadline.
 */
int tu_run(const char *group, const struct CMUnitTest *tests, size_t ntests,
    int per_backend);
#define TU_COUNT(tests) (sizeof(tests) / sizeof((tests)[0]))
#define TU_RUN_PER_BACKEND(group, tests) \
	tu_run(group, tests, TU_COUNT(tests), 1)
#define TU_RUN_ONCE(group, tests) tu_run(group, tests, TU_COUNT(tests), 0)

/*
 * Give the running test seconds (scaled like the default) from now
 * instead of the default; why says what makes it slow.  Threads started
 * by a test may run freely: the deadline always fails the test from the
 * thread that runs it.
 */
void tu_deadline(unsigned seconds, const char *why);

/* Name of the backend the current run forces ("epoll", "poll", ...). */
const char *tu_backend(void);

/* A connected non-blocking AF_UNIX stream socketpair; asserts success. */
void tu_socketpair(int fds[2]);

/* A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
int tu_listen_loopback(unsigned short *port);

/* A blocking TCP connection to 127.0.0.1:port; asserts success. */
int tu_connect_loopback(unsigned short port);

/*
 * The same without asserting, for threads other than the test's own
 * (cmocka's asserts belong to the thread running the test): -1 on failure.
 */
int tu_try_connect_loopback(unsigned short port);

/* Wait for child pid and assert that it exited with status 0. */
void tu_assert_child_ok(int pid);

/*
 * The built sample program called name: $env if that names one (env may
 * be NULL), else sample/name under the current directory or next to this
 * test binary.  NULL if none is found.  The result is a static buffer.
 */
const char *tu_sample_path(const char *env, const char *name);

/* Monotonic time in microseconds, for measuring elapsed time in tests. */
int64_t tu_now_usec(void);

#endif /* TEST_UTIL_H */
