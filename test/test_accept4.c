/*
 * test_accept4.c: the HTTP server on a kernel without accept4(): it falls
 * back to accept() plus fcntl(), asks accept4() only once, and the
 * accepted sockets are still non-blocking and close-on-exec.
 *
 * Links the static copy of the library: the missing system call is
 * simulated through ev__accept4, the pointer the server calls it by.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "http-internal.h"
#include "test_util.h"

#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)

static int accept4_calls;

static int
no_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	accept4_calls++;
	errno = ENOSYS;
	return -1;
}

struct server_seen {
	int requests;
	int nonblock;
	int cloexec;
};

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct server_seen *seen = arg;
	int fd = req->evcon->fd;

	seen->requests++;
	if (fcntl(fd, F_GETFL) & O_NONBLOCK)
		seen->nonblock++;
	if (fcntl(fd, F_GETFD) & FD_CLOEXEC)
		seen->cloexec++;
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

struct client {
	char buf[1024];
	size_t len;
};

/* Collect the reply until the server closes (HTTP/1.0), then stop. */
static void
client_read_cb(int fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		return;
	}
	event_base_loopbreak(tu_base);
}

static void
one_request(unsigned short port)
{
	static const char req[] = "GET /x HTTP/1.0\r\n\r\n";
	struct client c;
	struct event ev;
	int fd;

	memset(&c, 0, sizeof(c));
	fd = tu_connect_loopback(port);
	assert_int_equal(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	event_set(&ev, fd, EV_READ | EV_PERSIST, client_read_cb, &c);
	event_base_set(tu_base, &ev);
	event_add(&ev, NULL);
	assert_int_equal(event_base_dispatch(tu_base), 0);
	event_del(&ev);
	close(fd);
	assert_true(c.len > 0);
	assert_non_null(strstr(c.buf, " 200 OK\r\n"));
}

static void
test_accept_without_accept4(void **state)
{
	int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
	struct server_seen seen = { 0, 0, 0 };
	struct evhttp *http;
	unsigned short port;
	int lfd;

	real_accept4 = ev__accept4;
	ev__accept4 = no_accept4;
	http = evhttp_new(tu_base);
	assert_non_null(http);
	evhttp_set_gencb(http, request_cb, &seen);
	lfd = tu_listen_loopback(&port);
	assert_int_equal(evhttp_accept_socket(http, lfd), 0);

	one_request(port);
	one_request(port);
	evhttp_free(http);
	ev__accept4 = real_accept4;

	assert_int_equal(seen.requests, 2);
	assert_int_equal(seen.nonblock, 2);
	assert_int_equal(seen.cloexec, 2);
	/* ENOSYS is remembered for the whole process: asked once, ever. */
	assert_int_equal(accept4_calls, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TEST(test_accept_without_accept4),
	};

	return TU_RUN_PER_BACKEND("accept4", tests);
}

#else /* no accept4() flags here: nothing to simulate */

int
main(void)
{
	return 77; /* automake: skipped */
}

#endif
