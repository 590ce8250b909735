/*
 * test_threaded_samples.c: sample/threaded-echo and sample/threaded-http
 * end to end, with real clients in several threads at once.  Each test
 * starts the built sample on port 0, reads the port it prints, drives it,
 * then sends SIGINT and expects a clean exit (status 0): for threaded-echo
 * that exit is only reached once every worker has seen its notify pipe
 * closed and left its loop.  The faults the samples inject on request
 * (THREADED_ECHO_FAULT, THREADED_ECHO_QUEUE) show that a full queue holds
 * clients back instead of growing, and that a worker that stops early
 * hangs nothing.
 *
 * The samples are found through $THREADED_ECHO / $THREADED_HTTP, else
 * under sample/ (see tu_sample_path()).  Client threads never call cmocka:
 * they count what went wrong and the test thread asserts.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

struct child {
	pid_t pid;
	unsigned short port;
	int err; /* the sample's stderr, or -1 */
};

/* Read one line from fd (blocking with a timeout); 0, or -1 at EOF. */
static int
read_line(int fd, char *line, size_t size)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t n = 0;

	while (n + 1 < size) {
		if (poll(&pfd, 1, 20000) != 1 || read(fd, line + n, 1) != 1)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return 0;
}

/*
 * Start sample name with args (NULL-terminated, after argv[0]); env is
 * "NAME=value" or NULL.  Waits for its "listening on" line.
 */
static void
start(struct child *c, const char *envvar, const char *name,
    const char *const *args, const char *env, const char *env2, int want_err)
{
	const char *path = tu_sample_path(envvar, name);
	const char *argv[8];
	char line[256], *colon;
	int out[2], err[2], i;

	assert_non_null(path);
	argv[0] = name;
	for (i = 0; args[i] != NULL && i < 6; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		if (want_err)
			dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		if (env != NULL)
			putenv((char *)env);
		if (env2 != NULL)
			putenv((char *)env2);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->err = -1;
	if (want_err)
		c->err = err[0];
	else
		close(err[0]);
	assert_int_equal(read_line(out[0], line, sizeof(line)), 0);
	close(out[0]);
	assert_non_null(strstr(line, "listening on 127.0.0.1:"));
	colon = strrchr(line, ':');
	c->port = (unsigned short)atoi(colon + 1);
	assert_true(c->port > 0);
}

/* SIGINT, then the exit status (-1 if it did not exit normally). */
static int
stop(struct child *c)
{
	int status;

	kill(c->pid, SIGINT);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	if (c->err != -1)
		close(c->err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Read exactly len bytes (with a timeout); 0 or -1. */
static int
read_exact(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (poll(&pfd, 1, 20000) != 1)
			return -1;
		if ((n = read(fd, buf + got, len - got)) <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Whether the peer closes fd (EOF or reset) within the timeout. */
static int
sees_close(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char c;

	return poll(&pfd, 1, 20000) == 1 && read(fd, &c, 1) <= 0;
}

static void
start_threads(pthread_t *t, int n, void *(*fn)(void *), void *args,
    size_t argsize)
{
	sigset_t set, old;
	int i;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_create(&t[i], NULL, fn,
				     (char *)args + (size_t)i * argsize),
		    0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- threaded-echo ---------------------------------------------------- */

#define ECHO_CLIENTS 8
#define ECHO_ROUNDS  50

struct echo_client {
	unsigned short port;
	int id;
	int retries; /* reconnects allowed when closed at once */
	int ok;	     /* round trips that came back exactly */
};

static void *
echo_client_main(void *arg)
{
	struct echo_client *ec = arg;
	char msg[128], back[128];
	size_t len;
	int i, fd;

	if ((fd = tu_try_connect_loopback(ec->port)) == -1)
		return NULL;
	for (i = 0; i < ECHO_ROUNDS; i++) {
		len = (size_t)snprintf(msg, sizeof(msg),
		    "client %d line %d %.*s\n", ec->id, i, i,
		    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
		if (write(fd, msg, len) != (ssize_t)len ||
		    read_exact(fd, back, len) == -1) {
			if (i > 0 || ec->retries-- <= 0)
				break;
			/* Queued on a worker that then stopped: closed. */
			close(fd);
			if ((fd = tu_try_connect_loopback(ec->port)) == -1)
				return NULL;
			i--;
			continue;
		}
		if (memcmp(msg, back, len) == 0)
			ec->ok++;
	}
	close(fd);
	return NULL;
}

/* ECHO_CLIENTS concurrent clients, each doing ECHO_ROUNDS round trips. */
static void
run_echo_clients(unsigned short port, int retries)
{
	struct echo_client ec[ECHO_CLIENTS];
	pthread_t t[ECHO_CLIENTS];
	int i;

	memset(ec, 0, sizeof(ec));
	for (i = 0; i < ECHO_CLIENTS; i++) {
		ec[i].port = port;
		ec[i].id = i;
		ec[i].retries = retries;
	}
	start_threads(t, ECHO_CLIENTS, echo_client_main, ec, sizeof(ec[0]));
	for (i = 0; i < ECHO_CLIENTS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < ECHO_CLIENTS; i++)
		assert_int_equal(ec[i].ok, ECHO_ROUNDS);
}

static void
test_echo_concurrent(void **state)
{
	const char *args[] = { "0", "3", NULL };
	struct child c;
	int idle[2], i;
	char line[1];

	tu_deadline(30, "a sample process and eight client threads");
	start(&c, "THREADED_ECHO", "threaded-echo", args, NULL, NULL, 0);
	run_echo_clients(c.port, 0);
	/* Connections still open at SIGINT are closed by their worker. */
	for (i = 0; i < 2; i++)
		assert_true((idle[i] = tu_try_connect_loopback(c.port)) != -1);
	assert_int_equal(write(idle[0], "x", 1), 1);
	assert_int_equal(read_exact(idle[0], line, 1), 0);
	assert_int_equal(line[0], 'x');
	assert_int_equal(stop(&c), 0);
	for (i = 0; i < 2; i++) {
		assert_true(sees_close(idle[i]));
		close(idle[i]);
	}
}

static void
test_echo_worker_exits_early(void **state)
{
	const char *args[] = { "0", "2", NULL };
	struct child c;

	tu_deadline(30, "a sample process and eight client threads");
	start(&c, "THREADED_ECHO", "threaded-echo", args,
	    "THREADED_ECHO_FAULT=exit0", NULL, 0);
	/*
	 * Worker 1 serves everyone.  A client queued on worker 0 in the
	 * moment before it stopped is closed at once (never left hanging)
	 * and connects again.
	 */
	run_echo_clients(c.port, 2);
	assert_int_equal(stop(&c), 0);
}

static void
test_echo_no_worker_left(void **state)
{
	const char *args[] = { "0", "1", NULL };
	struct child c;
	int fd, i, status;

	tu_deadline(30, "a sample process");
	start(&c, "THREADED_ECHO", "threaded-echo", args,
	    "THREADED_ECHO_FAULT=exit0", NULL, 0);
	/*
	 * Every client is closed (by the dead worker, or at exit), and the
	 * dispatcher gives up with status 1 rather than hang: connecting
	 * fails once it has gone.
	 */
	for (i = 0; i < 1000; i++) {
		if ((fd = tu_try_connect_loopback(c.port)) == -1)
			break;
		assert_true(sees_close(fd));
		close(fd);
	}
	assert_true(i < 1000);
	assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

/* Sockets the process holds, from /proc; -1 without /proc. */
static int
count_sockets(pid_t pid)
{
	char dir[64], path[320], target[64];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int count = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && strncmp(target, "socket:", 7) == 0)
			count++;
	}
	closedir(d);
	return count;
}

#define QUEUE_BOUND   4
#define EAGER_CLIENTS 12

static void
test_echo_queue_full_backpressure(void **state)
{
	const char *args[] = { "0", "1", NULL };
	int fds[EAGER_CLIENTS], i, before, after;
	char line[256];
	struct child c;

	tu_deadline(30, "a sample process");
	start(&c, "THREADED_ECHO", "threaded-echo", args,
	    "THREADED_ECHO_FAULT=stall0", "THREADED_ECHO_QUEUE=4", 1);
	before = count_sockets(c.pid);
	for (i = 0; i < EAGER_CLIENTS; i++)
		assert_true((fds[i] = tu_try_connect_loopback(c.port)) != -1);
	/* The stuck worker's queue fills and the dispatcher says so... */
	assert_int_equal(read_line(c.err, line, sizeof(line)), 0);
	assert_non_null(strstr(line, "not accepting"));
	/* ... having accepted exactly the queue's worth: the rest wait in
	 * the kernel's backlog, not in the server's memory. */
	after = count_sockets(c.pid);
	if (before != -1)
		assert_int_equal(after - before, QUEUE_BOUND);
	/* Closing the notify pipe still stops the stuck worker. */
	assert_int_equal(stop(&c), 0);
	for (i = 0; i < EAGER_CLIENTS; i++) {
		assert_true(sees_close(fds[i]));
		close(fds[i]);
	}
}

static void
test_echo_bad_usage(void **state)
{
	const char *path = tu_sample_path("THREADED_ECHO", "threaded-echo");
	const char *bad[][3] = {
		{ NULL },
		{ "70000", NULL },
		{ "0", "0", NULL },
		{ "0", "x", NULL },
	};
	int status;
	size_t i;
	pid_t pid;

	assert_non_null(path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((pid = fork()) == 0) {
			const char *argv[4] = { "threaded-echo" };

			memcpy(argv + 1, bad[i], sizeof(bad[i]));
			freopen("/dev/null", "w", stderr);
			execv(path, (char *const *)argv);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 2);
	}
}

/* ---- threaded-http ---------------------------------------------------- */

#define HTTP_CLIENTS  4
#define HTTP_REQUESTS 50
#define HELLO	      "Hello, world!\n"

struct http_client {
	unsigned short port;
	int keepalive;
	int ok; /* 200 replies with the right body */
};

/* Read one response on fd: 0 if it is "200" with body HELLO. */
static int
read_response(int fd)
{
	char buf[1024], *end, *cl;
	size_t len = 0, hdr;
	long clen;
	ssize_t n;

	for (;;) {
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (len + 1 >= sizeof(buf) || read_exact(fd, buf + len, 1))
			return -1;
		len++;
	}
	hdr = (size_t)(end + 4 - buf);
	if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 ||
	    (cl = strstr(buf, "Content-Length: ")) == NULL)
		return -1;
	clen = strtol(cl + 16, NULL, 10);
	if (clen != (long)strlen(HELLO) ||
	    read_exact(fd, buf + len, (size_t)clen) == -1)
		return -1;
	n = (ssize_t)(len + (size_t)clen - hdr);
	return n == clen && memcmp(buf + hdr, HELLO, (size_t)clen) == 0 ? 0 :
									  -1;
}

static void *
http_client_main(void *arg)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
	struct http_client *hc = arg;
	int i, fd = -1;

	for (i = 0; i < HTTP_REQUESTS; i++) {
		if (fd == -1 && (fd = tu_try_connect_loopback(hc->port)) == -1)
			break;
		if (write(fd, req, sizeof(req) - 1) != sizeof(req) - 1 ||
		    read_response(fd) == -1)
			break;
		hc->ok++;
		if (!hc->keepalive) {
			close(fd);
			fd = -1;
		}
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

static void
test_http_concurrent(void **state)
{
	const char *args[] = { "0", "2", NULL };
	struct http_client hc[HTTP_CLIENTS];
	pthread_t t[HTTP_CLIENTS];
	struct child c;
	int i;

	tu_deadline(30, "a sample process and four client threads");
	start(&c, "THREADED_HTTP", "threaded-http", args, NULL, NULL, 0);
	memset(hc, 0, sizeof(hc));
	for (i = 0; i < HTTP_CLIENTS; i++) {
		hc[i].port = c.port;
		hc[i].keepalive = i % 2; /* half reconnect each time */
	}
	start_threads(t, HTTP_CLIENTS, http_client_main, hc, sizeof(hc[0]));
	for (i = 0; i < HTTP_CLIENTS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < HTTP_CLIENTS; i++)
		assert_int_equal(hc[i].ok, HTTP_REQUESTS);
	assert_int_equal(stop(&c), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_concurrent),
		cmocka_unit_test(test_echo_worker_exits_early),
		cmocka_unit_test(test_echo_no_worker_left),
		cmocka_unit_test(test_echo_queue_full_backpressure),
		cmocka_unit_test(test_echo_bad_usage),
		cmocka_unit_test(test_http_concurrent),
	};

	return TU_RUN_PER_BACKEND("threaded_samples", tests);
}
