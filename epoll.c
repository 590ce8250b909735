/*
 * epoll.c: the Linux epoll(7) backend.
 *
 * Per fd we remember which struct event wants reads and which wants writes
 * (they may be two different events), and register the union with the
 * kernel.  Quirks handled here:
 *  - An fd closed while registered disappears from the epoll set by
 *    itself, so EPOLL_CTL_DEL/MOD on it fails with EBADF or ENOENT: that is
 *    not an error for us, the registration is gone either way.
 *  - An fd number reused after such a close is still marked in our table;
 *    MOD then fails with ENOENT and we ADD instead.  ADD failing with
 *    EEXIST (a dup'ed fd, or a table out of step) falls back to MOD.
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "log.h"

#define INITIAL_NEVENT 32
#define MAX_NEVENT 4096
#define MAX_EPOLL_TIMEOUT_MSEC (35 * 60 * 1000)

struct epoll_slot {
	struct event *evread;
	struct event *evwrite;
};

struct epollop {
	struct epoll_slot *fds;
	int nfds;
	struct epoll_event *events;
	int nevents;
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
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		close(epfd);
		return NULL;
	}
	op->epfd = epfd;
	op->events = calloc(INITIAL_NEVENT, sizeof(*op->events));
	if (op->events == NULL) {
		free(op);
		close(epfd);
		return NULL;
	}
	op->nevents = INITIAL_NEVENT;
	return op;
}

static unsigned
slot_mask(const struct epoll_slot *s)
{
	return (s->evread ? EPOLLIN : 0) | (s->evwrite ? EPOLLOUT : 0);
}

/* Tell the kernel the slot's interest changed from old to new mask. */
static int
epoll_apply(struct epollop *op, int fd, unsigned old, unsigned new)
{
	struct epoll_event ee;
	int how;

	memset(&ee, 0, sizeof(ee));
	ee.events = new;
	ee.data.fd = fd;
	if (new == 0) {
		if (epoll_ctl(op->epfd, EPOLL_CTL_DEL, fd, &ee) == -1 &&
		    errno != ENOENT && errno != EBADF && errno != EPERM) {
			event_warn("epoll_ctl(DEL, %d)", fd);
			return -1;
		}
		return 0;
	}
	how = old ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(op->epfd, how, fd, &ee) == 0)
		return 0;
	if (how == EPOLL_CTL_MOD && errno == ENOENT)
		how = EPOLL_CTL_ADD;
	else if (how == EPOLL_CTL_ADD && errno == EEXIST)
		how = EPOLL_CTL_MOD;
	else
		goto fail;
	if (epoll_ctl(op->epfd, how, fd, &ee) == 0)
		return 0;
fail:
	event_warn("epoll_ctl(%s, %d)", how == EPOLL_CTL_ADD ? "ADD" : "MOD",
	    fd);
	return -1;
}

static int
epoll_add(void *arg, struct event *ev)
{
	struct epollop *op = arg;
	struct epoll_slot *s, want;
	int fd = ev->ev_fd;

	if (fd >= op->nfds &&
	    ev__grow_array(&op->fds, &op->nfds, fd + 1, sizeof(*op->fds)) == -1)
		return -1;
	s = &op->fds[fd];
	want = *s;
	if (ev->ev_events & EV_READ)
		want.evread = ev;
	if (ev->ev_events & EV_WRITE)
		want.evwrite = ev;
	if (epoll_apply(op, fd, slot_mask(s), slot_mask(&want)) == -1)
		return -1;
	*s = want;
	return 0;
}

static int
epoll_del(void *arg, struct event *ev)
{
	struct epollop *op = arg;
	struct epoll_slot *s, want;
	unsigned old;
	int fd = ev->ev_fd;

	if (fd < 0 || fd >= op->nfds)
		return 0;
	s = &op->fds[fd];
	want = *s;
	if ((ev->ev_events & EV_READ) && want.evread == ev)
		want.evread = NULL;
	if ((ev->ev_events & EV_WRITE) && want.evwrite == ev)
		want.evwrite = NULL;
	old = slot_mask(s);
	*s = want;
	if (slot_mask(&want) == old)
		return 0;
	return epoll_apply(op, fd, old, slot_mask(&want));
}

static int
epoll_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct epollop *op = arg;
	long long ms = -1;
	int i, n;

	if (tv != NULL) {
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
	for (i = 0; i < n; i++) {
		unsigned what = op->events[i].events;
		int fd = op->events[i].data.fd;
		struct epoll_slot *s;

		if (fd < 0 || fd >= op->nfds)
			continue;
		s = &op->fds[fd];
		if (what & (EPOLLHUP | EPOLLERR))
			what |= EPOLLIN | EPOLLOUT;
		if ((what & EPOLLIN) && s->evread != NULL)
			ev__activate(s->evread, EV_READ, 1);
		if ((what & EPOLLOUT) && s->evwrite != NULL)
			ev__activate(s->evwrite, EV_WRITE, 1);
	}
	/* A full batch suggests a busy set: take more next time. */
	if (n == op->nevents && op->nevents < MAX_NEVENT) {
		struct epoll_event *more = realloc(op->events,
		    2 * op->nevents * sizeof(*more));
		if (more != NULL) {
			op->events = more;
			op->nevents *= 2;
		}
	}
	return 0;
}

static void
epoll_dealloc(struct event_base *base, void *arg)
{
	struct epollop *op = arg;

	free(op->fds);
	free(op->events);
	if (op->epfd >= 0)
		close(op->epfd);
	free(op);
}

const struct eventop ev__epollops = {
	"epoll",
	epoll_init,
	epoll_add,
	epoll_del,
	epoll_dispatch,
	epoll_dealloc,
	1 /* need_reinit */
};
