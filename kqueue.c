/*
 * kqueue.c: the kqueue(2) backend (FreeBSD, OpenBSD, NetBSD, macOS).
 *
 * Changes are batched: event_add()/event_del() only append a struct
 * kevent to a change list, and dispatch hands the whole list to the one
 * kevent() call that also collects results.  What the kernel does that
 * shapes this file:
 *
 *  - A change that fails comes back in the result list with EV_ERROR in
 *    flags and the errno in data, beside the other results, as long as
 *    the result list has room; otherwise kevent() fails as a whole and the
 *    changes after the bad one are lost.  So the result list is always at
 *    least as long as the change list.  The kernel replaces the change's
 *    flags with EV_ERROR, so whether it was an add or a delete is read from
 *    our own table: a failed delete (ENOENT: the fd was closed and the
 *    number reused; EBADF: closed) is what we wanted anyway, and a failed
 *    add (EBADF, EPERM, EPIPE, ...) is reported to the event that wanted it
 *    as readiness, so its callback's read() or write() sees the error, as
 *    poll's POLLNVAL does.  Nothing else in the batch is lost.
 *  - Closing an fd removes its registrations; they are per fd number, so
 *    nothing stale survives a close as with epoll.
 *  - EV_EOF (peer closed, pipe writer gone) comes with EVFILT_READ: the
 *    read event is activated and the program's read() returns 0.
 *  - EVFILT_SIGNAL counts a signal for every kqueue that watches it,
 *    whatever the handler, but does not stop the signal's default action:
 *    signal.c installs its handler first (see sig_add in event-internal.h)
 *    and restores the old one after we stop watching.  The count since the
 *    last kevent() comes back in data and goes to ev__sig_deliver().
 *  - A kqueue is not inherited by fork(): need_reinit.
 *  - Some macOS releases had a kqueue that failed whole kevent() calls
 *    instead of reporting per-change errors (1.4 saw it with pipes and
 *    ttys).  We probe once per process by registering an invalid fd: a
 *    working kqueue answers with one EV_ERROR result, a broken one fails
 *    the call, and then the next backend is used.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "log.h"
#include "mm-internal.h"

#define INITIAL_NEVENT 64
#define MAX_NEVENT     4096

struct kq_slot {
	struct event *evread;
	struct event *evwrite;
};

struct kqop {
	struct kevent *changes;
	int nchanges, achanges;
	struct kevent *events;
	int nevents;
	struct kq_slot *fds;
	int nfds;
	struct event_base *base;
	int kq;
};

/*
 * 0: not probed yet, 1: works, -1: broken (see the comment on top).
 * Threads creating bases at once may both probe; they agree.
 */
static int kq_probed;

static int
kq_probe(int kq)
{
	struct kevent change, result;
	struct timespec zero = { 0, 0 };
	int n;

	memset(&result, 0, sizeof(result));
	EV_SET(&change, (uintptr_t)-1, EVFILT_READ, EV_ADD, 0, 0, 0);
	n = kevent(kq, &change, 1, &result, 1, &zero);
	if (n == 1 && (result.flags & EV_ERROR) &&
	    result.ident == (uintptr_t)-1)
		return 1;
	event_warnx("kqueue: kevent() does not report per-change errors; "
		    "not using kqueue");
	return -1;
}

static void *
kq_init(struct event_base *base)
{
	struct kqop *op;
	int kq;

	if (__atomic_load_n(&kq_probed, __ATOMIC_ACQUIRE) == -1)
		return NULL;
	if ((kq = kqueue()) == -1) {
		event_warn("kqueue");
		return NULL;
	}
	if (__atomic_load_n(&kq_probed, __ATOMIC_ACQUIRE) == 0)
		__atomic_store_n(&kq_probed, kq_probe(kq), __ATOMIC_RELEASE);
	if (__atomic_load_n(&kq_probed, __ATOMIC_ACQUIRE) == -1 ||
	    (op = ev__calloc(1, sizeof(*op))) == NULL) {
		close(kq);
		return NULL;
	}
	op->kq = kq;
	op->base = base;
	op->events = ev__calloc(INITIAL_NEVENT, sizeof(*op->events));
	if (op->events == NULL) {
		close(kq);
		ev__free(op);
		return NULL;
	}
	op->nevents = INITIAL_NEVENT;
	return op;
}

/* Append one change; the result list grows with it (see the top). */
static int
kq_change(struct kqop *op, uintptr_t ident, short filter, unsigned short flags)
{
	struct kevent *more;

	if (ev__grow_array(&op->changes, &op->achanges, op->nchanges + 1,
		sizeof(*op->changes)) == -1) {
		event_warn("%s: no memory for the change list", __func__);
		return -1;
	}
	if (op->nchanges + 1 > op->nevents) {
		more = ev__realloc(op->events,
		    (size_t)op->achanges * sizeof(*more));
		if (more == NULL) {
			event_warn("%s: no memory for the result list",
			    __func__);
			return -1;
		}
		op->events = more;
		op->nevents = op->achanges;
	}
	EV_SET(&op->changes[op->nchanges], ident, filter, flags, 0, 0, 0);
	op->nchanges++;
	return 0;
}

static int
kq_add(void *arg, struct event *ev)
{
	struct kqop *op = arg;
	struct kq_slot *s;
	int fd = ev->ev_fd;

	if (fd >= op->nfds &&
	    ev__grow_array(&op->fds, &op->nfds, fd + 1, sizeof(*op->fds)) == -1)
		return -1;
	s = &op->fds[fd];
	if ((ev->ev_events & EV_READ) && s->evread == NULL) {
		if (kq_change(op, (uintptr_t)fd, EVFILT_READ, EV_ADD) == -1)
			return -1;
		s->evread = ev;
	}
	if ((ev->ev_events & EV_WRITE) && s->evwrite == NULL) {
		if (kq_change(op, (uintptr_t)fd, EVFILT_WRITE, EV_ADD) == -1) {
			/* Leave nothing half added. */
			if ((ev->ev_events & EV_READ) && s->evread == ev) {
				s->evread = NULL;
				op->nchanges--;
			}
			return -1;
		}
		s->evwrite = ev;
	}
	/* Taking over a side another event held needs no kernel change. */
	if (ev->ev_events & EV_READ)
		s->evread = ev;
	if (ev->ev_events & EV_WRITE)
		s->evwrite = ev;
	return 0;
}

/*
 * Queue a delete; without memory for the list, send it at once, since a
 * registration nobody wants would be reported at every call.
 */
static void
kq_delete(struct kqop *op, int fd, short filter)
{
	struct kevent change;

	if (kq_change(op, (uintptr_t)fd, filter, EV_DELETE) == 0)
		return;
	EV_SET(&change, (uintptr_t)fd, filter, EV_DELETE, 0, 0, 0);
	/* ENOENT or EBADF (closed) leave nothing behind either. */
	if (kevent(op->kq, &change, 1, NULL, 0, NULL) == -1 &&
	    errno != ENOENT && errno != EBADF)
		event_warn("kevent(delete %d)", fd);
}

static int
kq_del(void *arg, struct event *ev)
{
	struct kqop *op = arg;
	struct kq_slot *s;
	int fd = ev->ev_fd;

	if ((unsigned)fd >= (unsigned)op->nfds)
		return 0;
	s = &op->fds[fd];
	if (s->evread == ev) {
		s->evread = NULL;
		kq_delete(op, fd, EVFILT_READ);
	}
	if (s->evwrite == ev) {
		s->evwrite = NULL;
		kq_delete(op, fd, EVFILT_WRITE);
	}
	return 0;
}

/*
 * A change came back with EV_ERROR.  Returns the event to wake, if the
 * failed change was an add that an event still wants.
 */
static struct event *
kq_failed_change(struct kqop *op, const struct kevent *kev, int *what)
{
	int fd = (int)kev->ident, err = (int)kev->data;
	struct kq_slot *s;

	if (kev->filter == EVFILT_SIGNAL) {
		event_warnx("kqueue: signal %d: %s", fd, strerror(err));
		return NULL;
	}
	/* ENOENT: a delete of what a close already removed. */
	if (err == ENOENT || kev->ident >= (uintptr_t)op->nfds)
		return NULL;
	s = &op->fds[fd];
	if (kev->filter == EVFILT_READ && s->evread != NULL) {
		*what = EV_READ;
		event_debug(("kqueue: fd %d: read: %s", fd, strerror(err)));
		return s->evread;
	}
	if (kev->filter == EVFILT_WRITE && s->evwrite != NULL) {
		*what = EV_WRITE;
		event_debug(("kqueue: fd %d: write: %s", fd, strerror(err)));
		return s->evwrite;
	}
	/* A delete that found the fd closed: what we wanted. */
	return NULL;
}

static void
kq_result(struct kqop *op, const struct kevent *kev)
{
	struct event *ev = NULL;
	int what = 0;

	if (kev->flags & EV_ERROR) {
		ev = kq_failed_change(op, kev, &what);
	} else if (kev->filter == EVFILT_SIGNAL) {
		ev__sig_deliver(op->base, (int)kev->ident,
		    kev->data > INT_MAX ? INT_MAX : (int)kev->data);
	} else if (kev->ident < (uintptr_t)op->nfds) {
		/* EV_EOF needs nothing more: the read() sees the EOF. */
		if (kev->filter == EVFILT_READ) {
			ev = op->fds[kev->ident].evread;
			what = EV_READ;
		} else if (kev->filter == EVFILT_WRITE) {
			ev = op->fds[kev->ident].evwrite;
			what = EV_WRITE;
		}
	}
	if (ev != NULL) {
		ev__activate(ev, what, 1);
	} else if (!(kev->flags & EV_ERROR) &&
	    (kev->filter == EVFILT_READ || kev->filter == EVFILT_WRITE)) {
		/*
		 * A registration nobody wants (left by a delete that found
		 * no memory) would come back at every call: drop it.
		 */
		kq_delete(op, (int)kev->ident, kev->filter);
	}
}

static int
kq_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct kqop *op = arg;
	struct timespec ts, *tsp = NULL;
	int i, n, nchanges = op->nchanges;

	(void)base;
	if (tv != NULL) {
		/*
		 * A day at most: some kernels refuse very long timeouts
		 * (macOS's select() does above 10^8 s); the loop just goes
		 * round again.
		 */
		ts.tv_sec = tv->tv_sec > 86400 ? 86400 : tv->tv_sec;
		ts.tv_nsec = tv->tv_usec * 1000;
		tsp = &ts;
	}
	n = kevent(op->kq, op->changes, nchanges, op->events, op->nevents, tsp);
	if (n == -1 && errno != EINTR) {
		/*
		 * The changes may not have reached the kernel: they go again
		 * with the next call (an add twice is harmless, a repeated
		 * delete fails with ENOENT, which we ignore).
		 */
		event_warn("kevent");
		return -1;
	}
	/* Applied, even when a signal interrupted the wait (EINTR). */
	op->nchanges = 0;
	if (n == -1)
		return 0;
	for (i = 0; i < n; i++)
		kq_result(op, &op->events[i]);
	/* A full batch suggests a busy set: take more next time. */
	if (n == op->nevents && op->nevents < MAX_NEVENT) {
		struct kevent *more = ev__realloc(op->events,
		    2 * (size_t)op->nevents * sizeof(*more));
		if (more != NULL) {
			op->events = more;
			op->nevents *= 2;
		} else {
			/* Harmless: the rest waits for the next call. */
			event_warn("kqueue: keeping %d events per call",
			    op->nevents);
		}
	}
	return 0;
}

static int
kq_sig_change(struct kqop *op, int sig, unsigned short flags)
{
	struct kevent change;

	/* Signals change at once, so an error reaches event_add(). */
	EV_SET(&change, (uintptr_t)sig, EVFILT_SIGNAL, flags, 0, 0, 0);
	if (kevent(op->kq, &change, 1, NULL, 0, NULL) == -1) {
		event_warn("kevent(signal %d, %s)", sig,
		    (flags & EV_ADD) ? "add" : "delete");
		return -1;
	}
	return 0;
}

static int
kq_sig_add(void *arg, int sig)
{
	return kq_sig_change(arg, sig, EV_ADD);
}

static int
kq_sig_del(void *arg, int sig)
{
	return kq_sig_change(arg, sig, EV_DELETE);
}

static void
kq_dealloc(struct event_base *base, void *arg)
{
	struct kqop *op = arg;

	(void)base;
	ev__free(op->changes);
	ev__free(op->events);
	ev__free(op->fds);
	if (op->kq >= 0)
		close(op->kq);
	ev__free(op);
}

/* eventop.foreach: each watched event once (one may read and write). */
static void
kq_foreach(void *arg, void (*fn)(struct event *, void *), void *fnarg)
{
	struct kqop *op = arg;

	ev__foreach_rw(op->fds, op->nfds, sizeof(*op->fds),
	    offsetof(struct kq_slot, evread), offsetof(struct kq_slot, evwrite),
	    fn, fnarg);
}

const struct eventop ev__kqops = { "kqueue", kq_init, kq_add, kq_del,
	kq_dispatch, kq_dealloc, 1, /* need_reinit */
	kq_sig_add, kq_sig_del, kq_foreach };
