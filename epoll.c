/*
 * epoll.c: the Linux epoll(7) backend.
 *
 * Per fd we remember which struct event wants reads and which wants writes
 * (they may be two different events), the interest we last gave the kernel
 * (kmask), and whether narrowed interest still has to be brought up to
 * date.  Why it is shaped this way:
 *
 *  - Re-arming is the common case: 1.4 programs event_del() and event_add()
 *    the same fd every turn.  Removing the last interest in an fd therefore
 *    does not call the kernel at all: the registration stays, possibly
 *    stale, and is removed only if the kernel reports the fd while nobody
 *    wants it.  Most such fds are simply closed, which removes them from
 *    the epoll set for free.  So a del+add costs at most one epoll_ctl.
 *  - Never naming an fd the program may have closed also matters to
 *    threaded programs: another thread may own that number by the time a
 *    deferred DEL went out (harmless to the kernel, which keys by open
 *    file, but a race on the fd to ThreadSanitizer).  Narrowed interest
 *    (read+write to read) is still settled at the next dispatch: an fd
 *    with an event on it is one the program has not closed.
 *  - A del+add that ends where it started still makes one EPOLL_CTL_ADD,
 *    at once, from event_add(), which normally fails with EEXIST at the
 *    cost of a lookup.  We cannot skip it: the program may have closed
 *    the fd in between and got the same number back for a new socket,
 *    and the kernel forgot the old registration on close.  Skipping the
 *    call would leave the new socket unwatched forever; the ADD succeeds
 *    instead, with a new generation.  (A MOD, failing with ENOENT, would
 *    tell as well, but makes the kernel poll the file again: twice the
 *    time.)  Made at once rather than queued for the next dispatch, it
 *    costs the library far fewer instructions, and an fd already closed
 *    is reported by event_add() as 1.4 did.
 *  - Adding interest is done at once, so that event_add() reports fds that
 *    epoll refuses (regular files: EPERM) as 1.4 did.
 *  - An fd closed while registered disappears from the epoll set by itself,
 *    so EPOLL_CTL_DEL/MOD on it fail with EBADF or ENOENT: the registration
 *    is gone either way, which is what we wanted.  MOD failing with ENOENT
 *    (a reused number) falls back to ADD; ADD failing with EEXIST (a dup'ed
 *    fd, or a table out of step) falls back to MOD.
 *  - EPOLLERR and EPOLLHUP are reported whatever we asked for; they wake
 *    both the reader and the writer so each sees the error in its own call.
 *  - The kernel queue is shared with a child after fork(), hence
 *    need_reinit.
 *  - Old kernels mishandled timeouts over ~35 minutes; we cap them (the
 *    loop just goes round again).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "log.h"
#include "mm-internal.h"

#define INITIAL_NEVENT	       32
#define INITIAL_NCHANGES       32 /* re-arming a few fds never allocates */
#define MAX_NEVENT	       4096
#define MAX_EPOLL_TIMEOUT_MSEC (35 * 60 * 1000)
#define NEXT_GENERATION	       ((uint64_t)1 << 32) /* added to a slot's data */

struct epoll_slot {
	struct event *evread;
	struct event *evwrite;
	/*
	 * What an ADD of the fd would register now: in events the interest
	 * the kernel has (EPOLLIN/EPOLLOUT, "kmask"), in data what the kernel
	 * is to hand back, the fd and in the high half the next generation
	 * (see cur_data()).  Kept ready so that a re-arm passes it as is.
	 */
	struct epoll_event next;
	unsigned char umask;  /* EPOLLIN/EPOLLOUT the events want */
	unsigned char queued; /* on the change list */
};

#define KMASK(s) ((s)->next.events)

struct epollop {
	struct epoll_slot *fds;
	int nfds;
	struct epoll_event *events;
	int nevents;
	int *changes; /* fds whose kernel state may be stale */
	int nchanges, achanges;
	int epfd;
};

static void *
epoll_init(struct event_base *base)
{
	struct epollop *op;
	int epfd;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		if (errno != ENOSYS)
			event_warn("epoll_create1");
		return NULL;
	}
	if ((op = ev__calloc(1, sizeof(*op))) == NULL) {
		event_warn("%s: calloc", __func__);
		close(epfd);
		return NULL;
	}
	op->epfd = epfd;
	op->events = ev__calloc(INITIAL_NEVENT, sizeof(*op->events));
	op->changes = ev__calloc(INITIAL_NCHANGES, sizeof(*op->changes));
	if (op->events == NULL || op->changes == NULL) {
		event_warn("%s: calloc", __func__);
		ev__free(op->events);
		ev__free(op->changes);
		ev__free(op);
		close(epfd);
		return NULL;
	}
	op->nevents = INITIAL_NEVENT;
	op->achanges = INITIAL_NCHANGES;
	return op;
}

static unsigned
slot_mask(const struct epoll_slot *s)
{
	return s->umask;
}

/*
 * What the current registration hands back: the fd and the generation
 * bumped by each fresh registration, so that an event from one that
 * outlived our wish (see epoll_dispatch) can be told from a current one.
 */
static uint64_t
cur_data(const struct epoll_slot *s)
{
	return s->next.data.u64 - NEXT_GENERATION;
}

/* Before a fresh registration of fd: it gets a generation of its own. */
static void
new_generation(struct epoll_slot *s, int fd)
{
	s->next.data.u64 = (uint32_t)fd |
	    ((s->next.data.u64 >> 32 << 32) + NEXT_GENERATION);
}

static int
ctl(struct epollop *op, int how, int fd, const struct epoll_slot *s,
    unsigned mask)
{
	struct epoll_event ee;

	memset(&ee, 0, sizeof(ee));
	ee.events = mask;
	ee.data.u64 = cur_data(s);
	return epoll_ctl(op->epfd, how, fd, &ee);
}

/* Register mask for fd, whatever the kernel has now.  Returns 0 or -1. */
static int
register_mask(struct epollop *op, int fd, struct epoll_slot *s, unsigned mask)
{
	int how = KMASK(s) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	/* A fresh registration gets a generation of its own. */
	if (how == EPOLL_CTL_ADD)
		new_generation(s, fd);
	if (ctl(op, how, fd, s, mask) == 0)
		goto done;
	if (how == EPOLL_CTL_MOD && errno == ENOENT) {
		/* A new file under the number: anything the old one left
		 * behind must not pass for it. */
		how = EPOLL_CTL_ADD;
		new_generation(s, fd);
	} else if (how == EPOLL_CTL_ADD && errno == EEXIST)
		how = EPOLL_CTL_MOD;
	else
		goto fail;
	if (ctl(op, how, fd, s, mask) == 0)
		goto done;
fail:
	event_warn("epoll_ctl(%s, %d)", how == EPOLL_CTL_ADD ? "ADD" : "MOD",
	    fd);
	return -1;
done:
	KMASK(s) = (unsigned char)mask;
	return 0;
}

/* Out of line, like rebuild(): rare, and kept out of the dispatch loop. */
static void __attribute__((noinline))
unregister(struct epollop *op, int fd, struct epoll_slot *s)
{
	if (ctl(op, EPOLL_CTL_DEL, fd, s, 0) == -1 && errno != ENOENT &&
	    errno != EBADF && errno != EPERM)
		event_warn("epoll_ctl(DEL, %d)", fd);
	KMASK(s) = 0;
	/* Anything the DEL could not reach now carries an old generation. */
	new_generation(s, fd);
}

/* Bring every fd on the change list up to date with the kernel. */
static void
flush_changes(struct epollop *op)
{
	int i;

	for (i = 0; i < op->nchanges; i++) {
		int fd = op->changes[i];
		struct epoll_slot *s = &op->fds[fd];
		unsigned want = slot_mask(s);

		s->queued = 0;
		/* Emptied interest stays lazy: see epoll_dispatch(). */
		if (want != 0 && want != KMASK(s))
			register_mask(op, fd, s, want);
	}
	op->nchanges = 0;
}

/* Put fd on a full change list (epoll_del() appends when there is room). */
static int __attribute__((noinline))
queue_change(struct epollop *op, int fd, struct epoll_slot *s)
{
	if (ev__grow_array(&op->changes, &op->achanges, op->nchanges + 1,
		sizeof(int)) == -1) {
		/* No memory for the list: settle it now instead. */
		return register_mask(op, fd, s, slot_mask(s));
	}
	op->changes[op->nchanges++] = fd;
	s->queued = 1;
	return 0;
}

/* EPOLLIN/EPOLLOUT for each EV_READ (2) and EV_WRITE (4) combination. */
static const unsigned char event_masks[8] = { 0, 0, EPOLLIN, EPOLLIN, EPOLLOUT,
	EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLIN | EPOLLOUT };

static unsigned
event_mask(const struct event *ev)
{
	return event_masks[ev->ev_events & (EV_READ | EV_WRITE)];
}

/* epoll_add() when the table must grow or the kernel must be told more. */
static int __attribute__((noinline))
epoll_add_slow(struct epollop *op, struct event *ev)
{
	struct epoll_slot *s;
	unsigned mask = event_mask(ev);
	int fd = ev->ev_fd;

	if (fd >= op->nfds &&
	    ev__grow_array(&op->fds, &op->nfds, fd + 1, sizeof(*op->fds)) == -1)
		return -1;
	s = &op->fds[fd];
	if (s->umask == 0 && KMASK(s) != 0) {
		/* Re-added over a registration that may be stale: see
		 * epoll_add(); MOD exactly to what is wanted now. */
		if (register_mask(op, fd, s, mask) == -1)
			return -1;
	} else if (((s->umask | mask) & ~KMASK(s)) &&
	    register_mask(op, fd, s, s->umask | mask | KMASK(s)) == -1) {
		return -1;
	}
	if (mask & EPOLLIN)
		s->evread = ev;
	if (mask & EPOLLOUT)
		s->evwrite = ev;
	s->umask = (unsigned char)(s->umask | mask);
	return 0;
}

/*
 * The ADD of a re-arm (see epoll_add()) went through: the number had been
 * closed and reused, and the new file has a fresh registration, made with
 * the next generation.  Only ev is passed, so that the fast path keeps just
 * one register across its system call: the state is its base's.
 * (event_reinit() adds to a state that is not the base's yet, but every
 * slot of that one starts empty, so no re-arm happens there.)
 */
static int __attribute__((noinline)) rearm_added(struct event *ev)
{
	struct epollop *op = ev->ev_base->evbase;

	op->fds[ev->ev_fd].next.data.u64 += NEXT_GENERATION;
	return 0;
}

/*
 * The ADD of a re-arm failed otherwise than with EEXIST, so nothing is
 * registered under this file (the fd was closed, or its new file cannot be
 * watched): forget what epoll_add() recorded and go the long way, which
 * reports the error.
 */
static int __attribute__((noinline)) rearm_failed(struct event *ev)
{
	struct epollop *op = ev->ev_base->evbase;
	struct epoll_slot *s = &op->fds[ev->ev_fd];

	KMASK(s) = 0;
	s->evread = NULL;
	s->evwrite = NULL;
	s->umask = 0;
	return epoll_add_slow(op, ev);
}

static int
epoll_add(void *arg, struct event *ev)
{
	struct epollop *op = arg;
	struct epoll_slot *s;
	unsigned fd = (unsigned)ev->ev_fd;
	unsigned mask = event_mask(ev);

	if (fd >= (unsigned)op->nfds)
		return epoll_add_slow(op, ev);
	s = &op->fds[fd];
	if (s->umask != 0) {
		/* A second event on a watched fd: no system call. */
		if ((s->umask | mask) & ~KMASK(s))
			return epoll_add_slow(op, ev);
		if (mask & EPOLLIN)
			s->evread = ev;
		if (mask & EPOLLOUT)
			s->evwrite = ev;
		s->umask = (unsigned char)(s->umask | mask);
		return 0;
	}
	if (KMASK(s) != mask)
		return epoll_add_slow(op, ev);
	/*
	 * The re-arm: added back with what the kernel has, but the
	 * registration may be stale: the program may have closed the fd and
	 * got the number back for another file, which the kernel does not
	 * watch.  An ADD tells: it normally fails with EEXIST, which costs
	 * the kernel a lookup (a MOD would poll the file again, for twice
	 * the time).  It is the one system call a re-arm costs.
	 */
	if (mask & EPOLLIN)
		s->evread = ev;
	if (mask & EPOLLOUT)
		s->evwrite = ev;
	s->umask = (unsigned char)mask;
	if (epoll_ctl(op->epfd, EPOLL_CTL_ADD, (int)fd, &s->next) == 0)
		return rearm_added(ev);
	if (errno != EEXIST)
		return rearm_failed(ev);
	return 0;
}

static int
epoll_del(void *arg, struct event *ev)
{
	struct epollop *op = arg;
	struct epoll_slot *s;
	unsigned fd = (unsigned)ev->ev_fd;

	if (fd >= (unsigned)op->nfds)
		return 0;
	s = &op->fds[fd];
	/* ev holds a side only if epoll_add() gave it that side. */
	if (s->evread == ev) {
		s->evread = NULL;
		s->umask &= ~EPOLLIN;
	}
	if (s->evwrite == ev) {
		s->evwrite = NULL;
		s->umask &= ~EPOLLOUT;
	}
	/* Narrowed interest is settled at the next dispatch; emptied
	 * interest lazily (see the header). */
	if (s->umask != 0 && s->umask != KMASK(s) && !s->queued) {
		if (op->nchanges == op->achanges)
			return queue_change(op, (int)fd, s);
		op->changes[op->nchanges++] = (int)fd;
		s->queued = 1;
	}
	return 0;
}

/*
 * The kernel keys a registration by open file and fd number.  If the
 * program closes an fd whose file stays open elsewhere (a dup, a child
 * after fork) while it is still registered, a DEL by number can no
 * longer reach it, and level-triggered readiness of that file would wake
 * every epoll_wait.  Such events carry a generation (or an fd) we no
 * longer want; when one shows up we start a new epoll set holding exactly
 * what we want and drop the old one with everything stale in it.
 */
static void __attribute__((noinline)) rebuild(struct epollop *op)
{
	int epfd, fd;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		event_warn("epoll_create1");
		return;
	}
	event_debug(("%s: dropping stale epoll registrations", __func__));
	close(op->epfd);
	op->epfd = epfd;
	for (fd = 0; fd < op->nfds; fd++) {
		struct epoll_slot *s = &op->fds[fd];

		KMASK(s) = 0;
		if (s->umask != 0)
			register_mask(op, fd, s, s->umask);
	}
}

static int
epoll_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct epollop *op = arg;
	struct epoll_event *e, *end;
	struct epoll_slot *fds;
	unsigned nfds;
	long long ms = -1;
	int n, stale = 0; /* a registration we cannot remove exists */

	if (op->nchanges)
		flush_changes(op);
	if (tv == NULL) {
		/* forever */
	} else if (tv->tv_sec == 0 && tv->tv_usec == 0) {
		ms = 0; /* polling: the common case when busy */
	} else {
		ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
		if (ms > MAX_EPOLL_TIMEOUT_MSEC)
			ms = MAX_EPOLL_TIMEOUT_MSEC;
	}
	n = epoll_wait(op->epfd, op->events, op->nevents, (int)ms);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		event_warn("epoll_wait");
		return -1;
	}
	/* Locals: the compiler cannot tell activation leaves op alone. */
	fds = op->fds;
	nfds = (unsigned)op->nfds;
	for (e = op->events, end = e + n; e < end; e++) {
		unsigned what = e->events;
		uint64_t data = e->data.u64;
		unsigned fd = (uint32_t)data;
		struct epoll_slot *s;
		struct event *rd, *wr;

		if (fd >= nfds) {
			stale = 1;
			continue;
		}
		s = &fds[fd];
		if (data != cur_data(s)) {
			/* A registration that outlived us: see rebuild(). */
			stale = 1;
			continue;
		}
		/* Errors and hangups wake both sides. */
		rd = s->evread;
		wr = s->evwrite;
		if (rd != NULL && (what & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			ev__activate_io(base, rd, EV_READ);
		if (wr != NULL && (what & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
			ev__activate_io(base, wr, EV_WRITE);
		if (rd == NULL && wr == NULL) {
			/* Reported, so still open: the lazy DEL, now. */
			unregister(op, (int)fd, s);
		}
	}
	if (stale)
		rebuild(op);
	/* A full batch suggests a busy set: take more next time. */
	if (n == op->nevents && op->nevents < MAX_NEVENT) {
		struct epoll_event *more = ev__realloc(op->events,
		    2 * op->nevents * sizeof(*more));
		if (more != NULL) {
			op->events = more;
			op->nevents *= 2;
		} else {
			/* Harmless: the rest waits for the next wait. */
			event_warn("epoll: keeping %d events per wait",
			    op->nevents);
		}
	}
	return 0;
}

static void
epoll_dealloc(struct event_base *base, void *arg)
{
	struct epollop *op = arg;

	ev__free(op->fds);
	ev__free(op->events);
	ev__free(op->changes);
	if (op->epfd >= 0)
		close(op->epfd);
	ev__free(op);
}

/* eventop.foreach: each watched event once (one may read and write). */
static void
epoll_foreach(void *arg, void (*fn)(struct event *, void *), void *fnarg)
{
	struct epollop *op = arg;

	ev__foreach_rw(op->fds, op->nfds, sizeof(*op->fds),
	    offsetof(struct epoll_slot, evread),
	    offsetof(struct epoll_slot, evwrite), fn, fnarg);
}

const struct eventop ev__epollops = { "epoll", epoll_init, epoll_add, epoll_del,
	epoll_dispatch, epoll_dealloc, 1, /* need_reinit */
	NULL, NULL,			  /* signals go through signal.c */
	epoll_foreach };
