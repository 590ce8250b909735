/*
 * poll.c: the poll(2) backend.
 *
 * The pollfd array is kept dense: each watched fd has one entry, found
 * through an fd-indexed table of entry numbers (0 meaning none, so the
 * table can start zeroed), and the last entry moves into the hole when an
 * fd stops being watched.  Beside each entry we keep the read and the write
 * event, which may be two different struct events.  POLLHUP, POLLERR and
 * POLLNVAL wake both so each sees the condition in its own call.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/time.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "event-internal.h"
#include "log.h"
#include "mm-internal.h"

struct poll_watch {
	struct event *evread;
	struct event *evwrite;
};

struct pollop {
	struct pollfd *pfds;	  /* dense, npfds used */
	struct poll_watch *watch; /* parallel to pfds */
	int npfds, apfds, awatch;
	int *idxplus1; /* by fd: entry + 1, or 0 */
	int nidx;
};

static void *
poll_init(struct event_base *base)
{
	struct pollop *op = ev__calloc(1, sizeof(*op));

	if (op == NULL)
		event_warn("%s: calloc", __func__);
	return op;
}

static int
poll_add(void *arg, struct event *ev)
{
	struct pollop *op = arg;
	int fd = ev->ev_fd, i;

	if (fd >= op->nidx &&
	    ev__grow_array(&op->idxplus1, &op->nidx, fd + 1, sizeof(int)) == -1)
		return -1;
	i = op->idxplus1[fd] - 1;
	if (i < 0) {
		if (ev__grow_array(&op->pfds, &op->apfds, op->npfds + 1,
			sizeof(*op->pfds)) == -1 ||
		    ev__grow_array(&op->watch, &op->awatch, op->npfds + 1,
			sizeof(*op->watch)) == -1)
			return -1;
		i = op->npfds++;
		op->pfds[i].fd = fd;
		op->pfds[i].events = 0;
		op->watch[i].evread = op->watch[i].evwrite = NULL;
		op->idxplus1[fd] = i + 1;
	}
	if (ev->ev_events & EV_READ) {
		op->pfds[i].events |= POLLIN;
		op->watch[i].evread = ev;
	}
	if (ev->ev_events & EV_WRITE) {
		op->pfds[i].events |= POLLOUT;
		op->watch[i].evwrite = ev;
	}
	return 0;
}

static int
poll_del(void *arg, struct event *ev)
{
	struct pollop *op = arg;
	int fd = ev->ev_fd, i, last;

	if (fd < 0 || fd >= op->nidx || op->idxplus1[fd] == 0)
		return 0;
	i = op->idxplus1[fd] - 1;
	if ((ev->ev_events & EV_READ) && op->watch[i].evread == ev) {
		op->pfds[i].events &= ~POLLIN;
		op->watch[i].evread = NULL;
	}
	if ((ev->ev_events & EV_WRITE) && op->watch[i].evwrite == ev) {
		op->pfds[i].events &= ~POLLOUT;
		op->watch[i].evwrite = NULL;
	}
	if (op->pfds[i].events != 0)
		return 0;
	/* Nothing left on this fd: fill its entry with the last one. */
	op->idxplus1[fd] = 0;
	last = --op->npfds;
	if (i != last) {
		op->pfds[i] = op->pfds[last];
		op->watch[i] = op->watch[last];
		op->idxplus1[op->pfds[i].fd] = i + 1;
	}
	return 0;
}

static int
poll_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct pollop *op = arg;
	long long ms = -1;
	int i, n;

	if (tv != NULL) {
		ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
		if (ms > INT_MAX)
			ms = INT_MAX;
	}
	n = poll(op->pfds, (nfds_t)op->npfds, (int)ms);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		event_warn("poll");
		return -1;
	}
	for (i = 0; i < op->npfds && n > 0; i++) {
		short what = op->pfds[i].revents;

		if (what == 0)
			continue;
		n--;
		if (what & (POLLHUP | POLLERR | POLLNVAL))
			what |= POLLIN | POLLOUT;
		if ((what & POLLIN) && op->watch[i].evread != NULL)
			ev__activate(op->watch[i].evread, EV_READ, 1);
		if ((what & POLLOUT) && op->watch[i].evwrite != NULL)
			ev__activate(op->watch[i].evwrite, EV_WRITE, 1);
	}
	return 0;
}

static void
poll_dealloc(struct event_base *base, void *arg)
{
	struct pollop *op = arg;

	ev__free(op->pfds);
	ev__free(op->watch);
	ev__free(op->idxplus1);
	ev__free(op);
}

/* eventop.foreach: each watched event once (one may read and write). */
static void
poll_foreach(void *arg, void (*fn)(struct event *, void *), void *fnarg)
{
	struct pollop *op = arg;

	ev__foreach_rw(op->watch, op->npfds, sizeof(*op->watch),
	    offsetof(struct poll_watch, evread),
	    offsetof(struct poll_watch, evwrite), fn, fnarg);
}

const struct eventop ev__pollops = { "poll", poll_init, poll_add, poll_del,
	poll_dispatch, poll_dealloc, 0, /* need_reinit */
	NULL, NULL,			/* signals go through signal.c */
	poll_foreach };
