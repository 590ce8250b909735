/*
 * evport.c: the event ports backend (illumos, Solaris: port_create(3C)).
 *
 * What event ports do that shapes this file:
 *
 *  - port_associate() is one-shot: once an fd's event is retrieved, the fd
 *    is no longer associated.  Every fd whose event we retrieved and that
 *    is still wanted is associated again, but only at the start of the
 *    next dispatch, after the callbacks ran: associating an fd that still
 *    has unread data posts an event at once, so doing it before the
 *    callback read the data would report it twice.
 *  - Associating an fd that is already associated replaces its events, so
 *    an add or a narrowing del is one call; the last del dissociates
 *    (ENOENT: the event was retrieved and not yet re-associated; EBADFD:
 *    the fd was closed, which removed the association).  Adds associate at
 *    once, so event_add() reports an fd the port refuses.
 *  - port_getn() may fail with ETIME or EINTR after retrieving events:
 *    *nget says how many, and those are processed, not dropped.
 *  - POLLERR, POLLHUP and POLLNVAL wake both the reader and the writer.
 *  - A port is shared with a child after fork(), so the child would take
 *    the parent's events: need_reinit.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/time.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <port.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "log.h"
#include "mm-internal.h"

#define INITIAL_NEVENT 32
#define MAX_NEVENT     4096

struct port_slot {
	struct event *evread;
	struct event *evwrite;
	short umask; /* POLLIN/POLLOUT the events want */
	int fired;   /* retrieved, association used up */
};

struct evportop {
	struct port_slot *fds;
	int nfds;
	int *fired; /* fds to associate again */
	int nfired, afired;
	port_event_t *events;
	int nevents;
	int port;
};

static void *
evport_init(struct event_base *base)
{
	struct evportop *op;
	int port;

	(void)base;
	if ((port = port_create()) == -1) {
		event_warn("port_create");
		return NULL;
	}
	if ((op = ev__calloc(1, sizeof(*op))) == NULL) {
		close(port);
		return NULL;
	}
	op->port = port;
	op->events = ev__calloc(INITIAL_NEVENT, sizeof(*op->events));
	if (op->events == NULL) {
		close(port);
		ev__free(op);
		return NULL;
	}
	op->nevents = INITIAL_NEVENT;
	return op;
}

static int
associate(struct evportop *op, int fd, short mask)
{
	if (port_associate(op->port, PORT_SOURCE_FD, (uintptr_t)fd, mask,
		NULL) == -1) {
		event_warn("port_associate(%d)", fd);
		return -1;
	}
	return 0;
}

static int
evport_add(void *arg, struct event *ev)
{
	struct evportop *op = arg;
	struct port_slot *s;
	int fd = ev->ev_fd;
	short want;

	if (fd >= op->nfds &&
	    ev__grow_array(&op->fds, &op->nfds, fd + 1, sizeof(*op->fds)) == -1)
		return -1;
	s = &op->fds[fd];
	want = s->umask | ((ev->ev_events & EV_READ) ? POLLIN : 0) |
	    ((ev->ev_events & EV_WRITE) ? POLLOUT : 0);
	/* A fired fd is associated again at the next dispatch anyway. */
	if (want != s->umask && !s->fired && associate(op, fd, want) == -1)
		return -1;
	if (ev->ev_events & EV_READ)
		s->evread = ev;
	if (ev->ev_events & EV_WRITE)
		s->evwrite = ev;
	s->umask = want;
	return 0;
}

static int
evport_del(void *arg, struct event *ev)
{
	struct evportop *op = arg;
	struct port_slot *s;
	int fd = ev->ev_fd;
	short old;

	if ((unsigned)fd >= (unsigned)op->nfds)
		return 0;
	s = &op->fds[fd];
	old = s->umask;
	if (s->evread == ev) {
		s->evread = NULL;
		s->umask &= ~POLLIN;
	}
	if (s->evwrite == ev) {
		s->evwrite = NULL;
		s->umask &= ~POLLOUT;
	}
	if (s->umask == old || s->fired)
		return 0;
	if (s->umask != 0)
		return associate(op, fd, s->umask);
	if (port_dissociate(op->port, PORT_SOURCE_FD, (uintptr_t)fd) == -1 &&
	    errno != ENOENT && errno != EBADFD && errno != EBADF) {
		event_warn("port_dissociate(%d)", fd);
		return -1;
	}
	return 0;
}

/* Associate again every fd whose event was retrieved and is still wanted. */
static void
reassociate(struct evportop *op)
{
	int i;

	for (i = 0; i < op->nfired; i++) {
		int fd = op->fired[i];
		struct port_slot *s = &op->fds[fd];

		s->fired = 0;
		if (s->umask == 0)
			continue;
		if (port_associate(op->port, PORT_SOURCE_FD, (uintptr_t)fd,
			s->umask, NULL) == 0)
			continue;
		/*
		 * Closed while still added: wake what wants it, so its
		 * callback's read() or write() sees the error.
		 */
		event_debug(("port_associate(%d): %s", fd, strerror(errno)));
		if (s->evread != NULL)
			ev__activate(s->evread, EV_READ, 1);
		if (s->evwrite != NULL)
			ev__activate(s->evwrite, EV_WRITE, 1);
	}
	op->nfired = 0;
}

static void
deliver(struct evportop *op, const port_event_t *pe)
{
	int fd = (int)pe->portev_object, what = pe->portev_events;
	struct port_slot *s;

	if (pe->portev_source != PORT_SOURCE_FD ||
	    (unsigned)fd >= (unsigned)op->nfds)
		return;
	s = &op->fds[fd];
	if (!s->fired) {
		if (ev__grow_array(&op->fired, &op->afired, op->nfired + 1,
			sizeof(int)) == -1) {
			/* Without the list, associate again at once. */
			if (s->umask)
				associate(op, fd, s->umask);
		} else {
			op->fired[op->nfired++] = fd;
			s->fired = 1;
		}
	}
	if (what & (POLLERR | POLLHUP | POLLNVAL))
		what |= POLLIN | POLLOUT;
	if ((what & POLLIN) && s->evread != NULL)
		ev__activate(s->evread, EV_READ, 1);
	if ((what & POLLOUT) && s->evwrite != NULL)
		ev__activate(s->evwrite, EV_WRITE, 1);
}

static int
evport_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct evportop *op = arg;
	struct timespec ts, *tsp = NULL;
	uint_t i, nget = 1;
	int res;

	if (op->nfired)
		reassociate(op);
	/* A failed re-association woke someone: do not wait. */
	if (base->event_count_active) {
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
		tsp = &ts;
	} else if (tv != NULL) {
		ts.tv_sec = tv->tv_sec;
		ts.tv_nsec = tv->tv_usec * 1000;
		tsp = &ts;
	}
	/* An entry the call did not fill must not look like an event. */
	op->events[0].portev_source = 0;
	res = port_getn(op->port, op->events, (uint_t)op->nevents, &nget, tsp);
	if (res == -1 && errno != ETIME && errno != EINTR) {
		event_warn("port_getn");
		return -1;
	}
	/* ETIME and EINTR may still come with events: *nget says. */
	if (nget > (uint_t)op->nevents)
		nget = 0;
	for (i = 0; i < nget; i++)
		deliver(op, &op->events[i]);
	if (nget == (uint_t)op->nevents && op->nevents < MAX_NEVENT) {
		port_event_t *more = ev__realloc(op->events,
		    2 * (size_t)op->nevents * sizeof(*more));
		if (more != NULL) {
			op->events = more;
			op->nevents *= 2;
		} else {
			/* Harmless: the rest waits for the next call. */
			event_warn("evport: keeping %d events per call",
			    op->nevents);
		}
	}
	return 0;
}

static void
evport_dealloc(struct event_base *base, void *arg)
{
	struct evportop *op = arg;

	(void)base;
	ev__free(op->fds);
	ev__free(op->fired);
	ev__free(op->events);
	if (op->port >= 0)
		close(op->port);
	ev__free(op);
}

/* eventop.foreach: each watched event once (one may read and write). */
static void
evport_foreach(void *arg, void (*fn)(struct event *, void *), void *fnarg)
{
	struct evportop *op = arg;

	ev__foreach_rw(op->fds, op->nfds, sizeof(*op->fds),
	    offsetof(struct port_slot, evread),
	    offsetof(struct port_slot, evwrite), fn, fnarg);
}

const struct eventop ev__evportops = { "evport", evport_init, evport_add,
	evport_del, evport_dispatch, evport_dealloc, 1, /* need_reinit */
	NULL, NULL, /* signals go through signal.c */
	evport_foreach };
