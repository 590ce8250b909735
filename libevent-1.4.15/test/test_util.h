/*
 * test_util.h: what every test program shares.
 *
 * tu_run_per_backend() runs a cmocka group once for each backend this
 * machine has (epoll, poll, select, ...), choosing it through the
 * EVENT_NO* environment variables before each run, so every test that
 * creates a base with event_base_new()/event_init() exercises each backend.
 * A watchdog alarm fails a group that hangs instead of stalling the suite.
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

/* Run tests once per available backend; returns the number of failures. */
int tu_run_per_backend(const char *group, const struct CMUnitTest *tests,
    size_t ntests);
#define TU_RUN_PER_BACKEND(group, tests) \
	tu_run_per_backend(group, tests, sizeof(tests) / sizeof((tests)[0]))

/* Name of the backend the current run forces ("epoll", "poll", ...). */
const char *tu_backend(void);

/* A connected non-blocking AF_UNIX stream socketpair; asserts success. */
void tu_socketpair(int fds[2]);

/* A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
int tu_listen_loopback(unsigned short *port);

/* A blocking TCP connection to 127.0.0.1:port; asserts success. */
int tu_connect_loopback(unsigned short port);

/*
 * The built sample program called name: $env if that names one (env may
 * be NULL), else sample/name under the current directory or next to this
 * test binary.  NULL if none is found.  The result is a static buffer.
 */
const char *tu_sample_path(const char *env, const char *name);

/* Monotonic time in microseconds, for measuring elapsed time in tests. */
int64_t tu_now_usec(void);

#endif /* TEST_UTIL_H */
