/*
 * test_evutil.c: the portable helpers of evutil.h, the internal array
 * growth, and the environment being ignored in setuid programs.
 *
 * Links the static copy of the library: a setuid program is simulated
 * through ev__issetugid, the check the library itself makes.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evutil.h>

#include "event-internal.h"
#include "test_util.h"

static int log_calls;
static char log_msg[1024];

static void
record_cb(int severity, const char *msg)
{
	log_calls++;
	snprintf(log_msg, sizeof(log_msg), "%s", msg);
}

static void
test_socketpair(void **state)
{
	int fds[2];
	char c = 0;

	assert_int_equal(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(write(fds[0], "z", 1), 1);
	assert_int_equal(read(fds[1], &c, 1), 1);
	assert_int_equal(c, 'z');
	close(fds[0]);
	close(fds[1]);
}

static void
test_make_nonblocking(void **state)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(evutil_make_socket_nonblocking(p[0]), 0);
	assert_int_not_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	close(p[1]);
	close(p[0]);

	/* A closed descriptor: -1, and the reason is logged. */
	log_calls = 0;
	event_set_log_callback(record_cb);
	assert_int_equal(evutil_make_socket_nonblocking(p[0]), -1);
	event_set_log_callback(NULL);
	assert_int_equal(log_calls, 1);
	assert_non_null(strstr(log_msg, "fcntl"));
}

static void
test_strtoll(void **state)
{
	char *end;

	assert_true(evutil_strtoll("9223372036854775807", 0, 10) == INT64_MAX);
	assert_true(evutil_strtoll("-9223372036854775808", 0, 10) == INT64_MIN);
	assert_true(evutil_strtoll("-42xyz", &end, 10) == -42);
	assert_string_equal(end, "xyz");
	assert_true(evutil_strtoll("0x1f", NULL, 16) == 31);
	assert_true(evutil_strtoll("  17", NULL, 0) == 17);
}

static void
test_snprintf(void **state)
{
	char buf[8];
	int n;

	/* The full length is returned; the text is cut and terminated. */
	memset(buf, 'x', sizeof(buf));
	n = evutil_snprintf(buf, sizeof(buf), "%s-%d", "abcdef", 42);
	assert_int_equal(n, 9);
	assert_string_equal(buf, "abcdef-");

	/* No buffer at all: only the length. */
	assert_int_equal(evutil_snprintf(NULL, 0, "%d", 12345), 5);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(evutil_snprintf(buf, 0, "%d", 12345), 5);
	assert_int_equal(buf[0], 'x');
}

/* The array the backends and signal.c grow by fd or signal number. */
static void
test_grow_array(void **state)
{
	int *a = NULL, n = 0, i;

	assert_int_equal(ev__grow_array(&a, &n, 5, sizeof(*a)), 0);
	assert_true(n >= 5);
	for (i = 0; i < n; i++)
		assert_int_equal(a[i], 0);
	a[4] = 44;

	/* Big enough already: nothing moves. */
	i = n;
	assert_int_equal(ev__grow_array(&a, &n, 3, sizeof(*a)), 0);
	assert_int_equal(n, i);

	assert_int_equal(ev__grow_array(&a, &n, 1000, sizeof(*a)), 0);
	assert_true(n >= 1000);
	assert_int_equal(a[4], 44);
	for (i = 5; i < n; i++)
		assert_int_equal(a[i], 0);

	/* Sizes that overflow are refused; the array is left as it was. */
	i = n;
	assert_int_equal(ev__grow_array(&a, &n, 0x7fffffff, sizeof(*a)), -1);
	assert_int_equal(ev__grow_array(&a, &n, n + 1, SIZE_MAX / 4), -1);
	assert_int_equal(n, i);
	assert_int_equal(a[4], 44);
	free(a);
}

/* ---- Setuid programs ignore the environment ----------------------------- */

static const char *const env_vars[] = { "EVENT_NOEVPORT", "EVENT_NOKQUEUE",
	"EVENT_NOEPOLL", "EVENT_NODEVPOLL", "EVENT_NOPOLL", "EVENT_NOSELECT",
	"EVENT_SHOW_METHOD" };
#define NVARS (sizeof(env_vars) / sizeof(env_vars[0]))
static char *saved_env[NVARS];

static int
fake_setuid(void)
{
	return 1;
}

static int (*real_issetugid)(void);

static int
env_setup(void **state)
{
	size_t i;
	const char *v;

	for (i = 0; i < NVARS; i++) {
		v = getenv(env_vars[i]);
		saved_env[i] = v != NULL ? strdup(v) : NULL;
	}
	real_issetugid = ev__issetugid;
	log_calls = 0;
	log_msg[0] = '\0';
	return 0;
}

static int
env_teardown(void **state)
{
	size_t i;

	ev__issetugid = real_issetugid;
	event_set_log_callback(NULL);
	for (i = 0; i < NVARS; i++) {
		if (saved_env[i] != NULL)
			setenv(env_vars[i], saved_env[i], 1);
		else
			unsetenv(env_vars[i]);
		free(saved_env[i]);
		saved_env[i] = NULL;
	}
	return 0;
}

/*
 * Every EVENT_NO* variable set, and EVENT_SHOW_METHOD: an ordinary
 * program gets no base (and a log line); a setuid one gets its preferred
 * backend, as with an empty environment, and logs nothing.
 */
static void
test_setuid_ignores_env(void **state)
{
	struct event_base *base;
	char preferred[32];
	size_t i;

	for (i = 0; i < NVARS; i++)
		unsetenv(env_vars[i]);
	base = event_base_new();
	assert_non_null(base);
	snprintf(preferred, sizeof(preferred), "%s",
	    event_base_get_method(base));
	event_base_free(base);

	for (i = 0; i < NVARS; i++)
		setenv(env_vars[i], "1", 1);
	event_set_log_callback(record_cb);
	assert_int_equal(ev__issetugid(), 0); /* the test is not setuid */
	assert_null(event_base_new());
	assert_int_equal(log_calls, 1);

	ev__issetugid = fake_setuid;
	log_calls = 0;
	base = event_base_new();
	assert_non_null(base);
	assert_string_equal(event_base_get_method(base), preferred);
	assert_int_equal(log_calls, 0);
	event_base_free(base);
}

/* The same program, not setuid, is told which backend it got. */
static void
test_show_method_unprivileged(void **state)
{
	struct event_base *base;
	size_t i;

	for (i = 0; i < NVARS; i++)
		unsetenv(env_vars[i]);
	setenv("EVENT_SHOW_METHOD", "1", 1);
	event_set_log_callback(record_cb);
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(log_calls, 1);
	assert_non_null(strstr(log_msg, event_base_get_method(base)));
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socketpair),
		cmocka_unit_test(test_make_nonblocking),
		cmocka_unit_test(test_strtoll),
		cmocka_unit_test(test_snprintf),
		cmocka_unit_test(test_grow_array),
		cmocka_unit_test_setup_teardown(test_setuid_ignores_env,
		    env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_show_method_unprivileged,
		    env_setup, env_teardown),
	};

	return TU_RUN_ONCE("evutil", tests);
}
