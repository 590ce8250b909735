/*
 * test_http_fake.c: a scripted raw HTTP server for testing our client
 * (see struct th_fake in test_http_util.h).
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "test_util.h"
#include "test_http_util.h"

static void
th_fake_close(struct th_fake_conn *c, int reset)
{
	struct linger lg = { 1, 0 };

	if (reset)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	event_del(&c->ev);
	close(c->fd);
	c->fd = -1;
}

static void
th_fake_read_cb(int fd, short what, void *arg)
{
	struct th_fake_conn *c = arg;
	struct th_fake *f = c->f;
	ssize_t n, off;
	int i;

	n = read(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n <= 0) {
		th_fake_close(c, 0);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (strstr(c->in, "\r\n\r\n") == NULL)
		return;
	c->inlen = 0;
	f->nseen++;
	if (f->nreqs == f->nsteps)
		return;
	i = f->nreqs++;
	for (off = 0; off < (ssize_t)f->script[i].len; off += n) {
		n = write(fd, f->script[i].reply + off,
		    f->script[i].len - (size_t)off);
		if (n <= 0)
			break;
	}
	if (f->script[i].then != TH_KEEP)
		th_fake_close(c, f->script[i].then == TH_RESET);
}

static void
th_fake_accept_cb(int fd, short what, void *arg)
{
	struct th_fake *f = arg;
	struct th_fake_conn *c;
	int nfd = accept(fd, NULL, NULL);

	if (nfd == -1)
		return;
	if (f->nconns == TH_FAKE_MAX) {
		close(nfd);
		return;
	}
	c = &f->conns[f->nconns++];
	c->fd = nfd;
	c->f = f;
	event_set(&c->ev, nfd, EV_READ | EV_PERSIST, th_fake_read_cb, c);
	event_base_set(th_base, &c->ev);
	event_add(&c->ev, NULL);
}

void
th_fake_step(struct th_fake *f, const char *text, size_t len,
    enum th_fake_then then)
{
	assert_true(f->nsteps < TH_FAKE_MAX);
	f->script[f->nsteps].reply = text;
	f->script[f->nsteps].len = len;
	f->script[f->nsteps].then = then;
	f->nsteps++;
}

struct evhttp_connection *
th_fake_start(struct th_fake *f)
{
	struct evhttp_connection *evcon;
	unsigned short fport;

	f->lfd = tu_listen_loopback(&fport);
	event_set(&f->ev_accept, f->lfd, EV_READ | EV_PERSIST,
	    th_fake_accept_cb, f);
	event_base_set(th_base, &f->ev_accept);
	event_add(&f->ev_accept, NULL);
	evcon = evhttp_connection_new("127.0.0.1", fport);
	assert_non_null(evcon);
	evhttp_connection_set_base(evcon, th_base);
	return evcon;
}

void
th_fake_stop(struct th_fake *f, struct evhttp_connection *evcon)
{
	int i;

	evhttp_connection_free(evcon);
	event_del(&f->ev_accept);
	close(f->lfd);
	for (i = 0; i < f->nconns; i++)
		if (f->conns[i].fd != -1)
			th_fake_close(&f->conns[i], 0);
}

void
th_fake_queue(struct evhttp_connection *evcon, struct th_result *r)
{
	struct evhttp_request *req = evhttp_request_new(th_result_cb, r);

	assert_int_equal(evhttp_make_request(evcon, req, EVHTTP_REQ_GET, "/"),
	    0);
}

void
th_fake_request(struct evhttp_connection *evcon, struct th_result *r)
{
	th_fake_queue(evcon, r);
	assert_true(th_run_until(th_base, &r->done, 5000));
}
