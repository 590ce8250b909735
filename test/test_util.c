/*
 * test_util.c: the per-backend runner with its per-test deadline, and the
 * socket helpers for the tests.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

static const char *const all_backends[] = { "evport", "kqueue", "epoll",
	"devpoll", "poll", "select" };
static const char *const no_vars[] = { "EVENT_NOEVPORT", "EVENT_NOKQUEUE",
	"EVENT_NOEPOLL", "EVENT_NODEVPOLL", "EVENT_NOPOLL", "EVENT_NOSELECT" };
#define NBACKENDS (sizeof(all_backends) / sizeof(all_backends[0]))

static const char *current;

struct event_base *tu_base;

int
tu_base_setup(void **state)
{
	tu_base = event_base_new();
	assert_non_null(tu_base);
	return 0;
}

int
tu_base_teardown(void **state)
{
	event_base_free(tu_base);
	tu_base = NULL;
	return 0;
}

struct evbuffer *tu_buf;

int
tu_buf_setup(void **state)
{
	tu_buf = evbuffer_new();
	assert_non_null(tu_buf);
	return 0;
}

int
tu_buf_teardown(void **state)
{
	evbuffer_free(tu_buf);
	tu_buf = NULL;
	return 0;
}

const char *
tu_backend(void)
{
	return current;
}

/* Leave only backend i allowed by the environment. */
static void
force_backend(size_t i)
{
	size_t j;
	for (j = 0; j < NBACKENDS; j++) {
		if (j == i)
			unsetenv(no_vars[j]);
		else
			setenv(no_vars[j], "1", 1);
	}
	unsetenv("EVENT_SHOW_METHOD");
}

static void
quiet_log(int severity, const char *msg)
{
}

/* Whether forcing backend i really gives a base that uses it. */
static int
backend_available(size_t i)
{
	struct event_base *base;
	int ok;

	force_backend(i);
	/* Backends not compiled in make event_base_new() complain. */
	event_set_log_callback(quiet_log);
	base = event_base_new();
	event_set_log_callback(NULL);
	if (base == NULL)
		return 0;
	ok = strcmp(event_base_get_method(base), all_backends[i]) == 0;
	event_base_free(base);
	return ok;
}

/* What the deadline handler reports; set before each test starts. */
static const char *run_group, *run_name;
static pthread_t run_thread;
static double deadline_scale = 1.0;
/* Set once the running test's deadline passed and it was failed. */
static volatile sig_atomic_t deadline_fired;

static void
arm_deadline(unsigned seconds)
{
	struct itimerval it;
	double t = seconds * deadline_scale;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)t;
	it.it_value.tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6);
	if (seconds > 0 && it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * The deadline passed: fail the running test from the thread that runs
 * it (cmocka's fail() jumps back into its runner), naming it first.
 */
static void
deadline_expired(int sig)
{
	char msg[256];
	int n;

	if (!pthread_equal(pthread_self(), run_thread)) {
		pthread_kill(run_thread, sig);
		return;
	}
	if (deadline_fired) {
		/* Failing it did not end it: its teardown is stuck too (a
		 * lock the jump left held, say).  End the program. */
		n = snprintf(msg, sizeof(msg),
		    "[ DEADLINE ] %s: %s still stuck after failing; exiting\n",
		    run_group, run_name);
		if (n > 0)
			(void)!write(STDERR_FILENO, msg,
			    (size_t)n < sizeof(msg) ? (size_t)n :
						      sizeof(msg) - 1);
		_exit(1);
	}
	deadline_fired = 1;
	n = snprintf(msg, sizeof(msg),
	    "[ DEADLINE ] %s: %s did not finish in time\n", run_group,
	    run_name);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg,
		    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	/* A second expiry means the failure itself got stuck. */
	arm_deadline(TU_DEADLINE_SEC);
	fail();
}

void
tu_deadline(unsigned seconds, const char *why)
{
	(void)why;
	arm_deadline(seconds);
}

static void
install_deadline_handler(void)
{
	struct sigaction sa;
	const char *scale = getenv("TU_DEADLINE_SCALE");

	if (scale != NULL && atof(scale) > 0)
		deadline_scale = atof(scale);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = deadline_expired;
	/* The handler leaves by longjmp: do not leave SIGALRM blocked. */
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	run_thread = pthread_self();
}

/* Whether TEST_NAME (a shell pattern) selects the test called name. */
static int
selected(const char *name)
{
	const char *only = getenv("TEST_NAME");

	return only == NULL || *only == '\0' || fnmatch(only, name, 0) == 0;
}

/* Run each selected test as a group of its own, under its deadline. */
static int
run_selected(const char *group, const struct CMUnitTest *tests, size_t ntests)
{
	struct CMUnitTest one[1];
	char label[160];
	size_t i;
	int failures = 0;

	snprintf(label, sizeof(label), "%s/%s", group, current);
	for (i = 0; i < ntests; i++) {
		if (!selected(tests[i].name))
			continue;
		one[0] = tests[i];
		run_group = label;
		run_name = tests[i].name;
		deadline_fired = 0;
		arm_deadline(TU_DEADLINE_SEC);
		failures += cmocka_run_group_tests_name(label, one, NULL, NULL);
		arm_deadline(0);
	}
	return failures;
}

int
tu_run(const char *group, const struct CMUnitTest *tests, size_t ntests,
    int per_backend)
{
	size_t i;
	int failures = 0, ran = 0;
	const char *only = getenv("TEST_BACKEND");

	install_deadline_handler();
	for (i = 0; i < NBACKENDS; i++) {
		if (only != NULL && *only != '\0' &&
		    strcmp(only, all_backends[i]) != 0)
			continue;
		if (!backend_available(i))
			continue;
		current = all_backends[i];
		printf("[ BACKEND  ] %s on %s\n", group, current);
		fflush(stdout);
		failures += run_selected(group, tests, ntests);
		ran++;
		if (!per_backend)
			break;
	}
	if (ran == 0) {
		fprintf(stderr, "%s: no backend available\n", group);
		return 1;
	}
	return failures;
}

void
tu_socketpair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

int
tu_listen_loopback(unsigned short *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

int
tu_try_connect_loopback(unsigned short port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
tu_connect_loopback(unsigned short port)
{
	int fd = tu_try_connect_loopback(port);

	assert_true(fd >= 0);
	return fd;
}

void
tu_assert_child_ok(int pid)
{
	int status;

	assert_int_equal(waitpid((pid_t)pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int64_t
tu_now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *
tu_sample_path(const char *env, const char *name)
{
	static char path[PATH_MAX];
	const char *rel[] = { "/../sample/", "/../../sample/" };
	char exe[PATH_MAX], *slash;
	ssize_t n;
	size_t i;

	if (env != NULL && getenv(env) != NULL)
		return getenv(env);
	snprintf(path, sizeof(path), "sample/%s", name);
	if (access(path, X_OK) == 0)
		return path;
	/* Next to us: test/x or test/.libs/lt-x (a libtool wrapper). */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s%s", exe, rel[i], name) >=
		    (int)sizeof(path))
			continue;
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}
