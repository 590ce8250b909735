/*
 * devpoll.c: the Solaris /dev/poll backend (poll(7D)).
 *
 * Each base opens the device once; the kernel keeps the set of watched
 * fds.  What the device does that shapes this file:
 *
 *  - Writing struct pollfd entries adds fds, and an entry for an fd that is
 *    already in the set ORs its events into the old ones.  Narrowing a mask
 *    therefore takes two entries: POLLREMOVE, then the new mask.  Changes
 *    are kept per fd (the mask we want, the mask the device has) and
 *    written at the next dispatch, so a del+add of the same fd in one turn
 *    costs nothing.  The entries go through a stack buffer: flushing
 *    allocates nothing, and without memory for the change list a delete
 *    is written at once.
 *  - The set is keyed by fd number: an fd closed without POLLREMOVE shows
 *    POLLNVAL, and a number reused by a new file is polled as that file.
 *    POLLNVAL, POLLERR and POLLHUP wake both the reader and the writer, so
 *    each sees the condition in its own call (as poll.c does).
 *  - ioctl(DP_POLL) fills a buffer of dp_nfds entries, and dp_nfds must
 *    stay below the process's fd limit (EINVAL otherwise).  The buffer
 *    grows with the number of watched fds, up to that limit.
 *  - A child after fork() gets EACCES from the inherited device:
 *    need_reinit makes event_reinit() open a new one.
 *  - A failed write or ioctl other than EINTR makes dispatch fail with a
 *    log line, so the loop returns -1 instead of spinning.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/devpoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "log.h"
#include "mm-internal.h"

#define INITIAL_NEVENT 32

struct dp_slot {
	struct event *evread;
	struct event *evwrite;
	short umask; /* POLLIN/POLLOUT the events want */
	short kmask; /* POLLIN/POLLOUT the device has */
	int queued;  /* on the change list */
};

struct devpollop {
	struct dp_slot *fds;
	int nfds;
	int *changes; /* fds whose device state may be stale */
	int nchanges, achanges;
	struct pollfd *events; /* DP_POLL's result buffer */
	int nevents;
	int nwatched; /* fds the device has */
	int dpfd;
};

static void *
devpoll_init(struct event_base *base)
{
	struct devpollop *op;
	int dpfd;

	(void)base;
	if ((dpfd = open("/dev/poll", O_RDWR)) == -1) {
		if (errno != ENOENT)
			event_warn("open(/dev/poll)");
		return NULL;
	}
	if (fcntl(dpfd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (op = ev__calloc(1, sizeof(*op))) == NULL) {
		close(dpfd);
		return NULL;
	}
	op->dpfd = dpfd;
	op->events = ev__calloc(INITIAL_NEVENT, sizeof(*op->events));
	if (op->events == NULL) {
		close(dpfd);
		ev__free(op);
		return NULL;
	}
	op->nevents = INITIAL_NEVENT;
	return op;
}

static int
write_entries(struct devpollop *op, const struct pollfd *pfd, int n)
{
	ssize_t len = (ssize_t)((size_t)n * sizeof(*pfd)), res;

	if (n == 0 || (res = write(op->dpfd, pfd, (size_t)len)) == len)
		return 0;
	if (res == -1)
		event_warn("write(/dev/poll)");
	else
		event_warnx("write(/dev/poll): short write");
	return -1;
}

/* The entries that bring fd's device state to what we want: 0 to 2. */
static int
fd_entries(const struct dp_slot *s, int fd, struct pollfd *pfd)
{
	int n = 0;

	if (s->kmask & ~s->umask) {
		/* Narrowing: the device would OR the new mask in. */
		pfd[n].fd = fd;
		pfd[n++].events = POLLREMOVE;
	}
	if (s->umask != 0 && s->umask != s->kmask) {
		pfd[n].fd = fd;
		pfd[n++].events = s->umask;
	}
	return n;
}

static void
settled(struct devpollop *op, struct dp_slot *s)
{
	if (s->kmask == 0 && s->umask != 0)
		op->nwatched++;
	else if (s->kmask != 0 && s->umask == 0)
		op->nwatched--;
	s->kmask = s->umask;
	s->queued = 0;
}

/*
 * Write every pending change, a stack buffer at a time (no allocation on
 * this path).  On failure everything stays queued: writing an entry twice
 * is harmless.  Returns 0, or -1.
 */
static int
flush_changes(struct devpollop *op)
{
	struct pollfd buf[64];
	int i, n = 0;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < op->nchanges; i++) {
		int fd = op->changes[i];

		if (n + 2 > (int)(sizeof(buf) / sizeof(buf[0]))) {
			if (write_entries(op, buf, n) == -1)
				return -1;
			n = 0;
		}
		n += fd_entries(&op->fds[fd], fd, buf + n);
	}
	if (write_entries(op, buf, n) == -1)
		return -1;
	for (i = 0; i < op->nchanges; i++)
		settled(op, &op->fds[op->changes[i]]);
	op->nchanges = 0;
	return 0;
}

/*
 * Put fd on the change list.  Without memory for it, an add fails (so
 * event_add() reports it) and a delete is written at once (a deleted
 * event's fd must not stay in the device).
 */
static int
queue_change(struct devpollop *op, int fd, int is_del)
{
	struct dp_slot *s = &op->fds[fd];
	struct pollfd pfd[2];

	if (s->queued)
		return 0;
	if (ev__grow_array(&op->changes, &op->achanges, op->nchanges + 1,
		sizeof(int)) == -1) {
		if (!is_del)
			return -1;
		memset(pfd, 0, sizeof(pfd));
		if (write_entries(op, pfd, fd_entries(s, fd, pfd)) == -1)
			return -1;
		settled(op, s);
		return 0;
	}
	op->changes[op->nchanges++] = fd;
	s->queued = 1;
	return 0;
}

static int
devpoll_add(void *arg, struct event *ev)
{
	struct devpollop *op = arg;
	struct dp_slot *s;
	int fd = ev->ev_fd;
	short want, old;

	if (fd >= op->nfds &&
	    ev__grow_array(&op->fds, &op->nfds, fd + 1, sizeof(*op->fds)) == -1)
		return -1;
	s = &op->fds[fd];
	old = s->umask;
	want = old | ((ev->ev_events & EV_READ) ? POLLIN : 0) |
	    ((ev->ev_events & EV_WRITE) ? POLLOUT : 0);
	s->umask = want;
	if (want != s->kmask && queue_change(op, fd, 0) == -1) {
		s->umask = old;
		return -1;
	}
	if (ev->ev_events & EV_READ)
		s->evread = ev;
	if (ev->ev_events & EV_WRITE)
		s->evwrite = ev;
	return 0;
}

static int
devpoll_del(void *arg, struct event *ev)
{
	struct devpollop *op = arg;
	struct dp_slot *s;
	int fd = ev->ev_fd;

	if ((unsigned)fd >= (unsigned)op->nfds)
		return 0;
	s = &op->fds[fd];
	if (s->evread == ev) {
		s->evread = NULL;
		s->umask &= ~POLLIN;
	}
	if (s->evwrite == ev) {
		s->evwrite = NULL;
		s->umask &= ~POLLOUT;
	}
	if (s->umask != s->kmask)
		return queue_change(op, fd, 1);
	return 0;
}

/* Let DP_POLL return every watched fd at once, within the fd limit. */
static void
grow_events(struct devpollop *op)
{
	struct rlimit rl;
	struct pollfd *more;
	int want = op->nevents;

	while (want < op->nwatched && want < INT_MAX / 2)
		want *= 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (rlim_t)want >= rl.rlim_cur)
		want = rl.rlim_cur > 1 ? (int)rl.rlim_cur - 1 : 1;
	if (want <= op->nevents)
		return;
	/* Without memory we go on with the old buffer: fewer per call. */
	if ((more = ev__realloc(op->events, (size_t)want * sizeof(*more))) ==
	    NULL) {
		event_warn("devpoll: keeping %d events per call", op->nevents);
		return;
	}
	op->events = more;
	op->nevents = want;
}

static int
devpoll_dispatch(struct event_base *base, void *arg, struct timeval *tv)
{
	struct devpollop *op = arg;
	struct dvpoll dvp;
	long long ms = -1;
	int i, n;

	(void)base;
	if (op->nchanges && flush_changes(op) == -1)
		return -1;
	if (op->nwatched > op->nevents)
		grow_events(op);
	if (tv != NULL) {
		ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;
		if (ms > INT_MAX)
			ms = INT_MAX;
	}
	dvp.dp_fds = op->events;
	dvp.dp_nfds = op->nevents;
	dvp.dp_timeout = (int)ms;
	n = ioctl(op->dpfd, DP_POLL, &dvp);
	if (n == -1) {
		if (errno == EINTR)
			return 0;
		event_warn("ioctl(DP_POLL)");
		return -1;
	}
	for (i = 0; i < n; i++) {
		int fd = op->events[i].fd;
		short what = op->events[i].revents;
		struct dp_slot *s;

		if ((unsigned)fd >= (unsigned)op->nfds)
			continue;
		s = &op->fds[fd];
		if (what & (POLLHUP | POLLERR | POLLNVAL))
			what |= POLLIN | POLLOUT;
		if ((what & POLLIN) && s->evread != NULL)
			ev__activate(s->evread, EV_READ, 1);
		if ((what & POLLOUT) && s->evwrite != NULL)
			ev__activate(s->evwrite, EV_WRITE, 1);
	}
	return 0;
}

static void
devpoll_dealloc(struct event_base *base, void *arg)
{
	struct devpollop *op = arg;

	(void)base;
	ev__free(op->fds);
	ev__free(op->changes);
	ev__free(op->events);
	if (op->dpfd >= 0)
		close(op->dpfd);
	ev__free(op);
}

/* eventop.foreach: each watched event once (one may read and write). */
static void
devpoll_foreach(void *arg, void (*fn)(struct event *, void *), void *fnarg)
{
	struct devpollop *op = arg;

	ev__foreach_rw(op->fds, op->nfds, sizeof(*op->fds),
	    offsetof(struct dp_slot, evread), offsetof(struct dp_slot, evwrite),
	    fn, fnarg);
}

const struct eventop ev__devpollops = { "devpoll", devpoll_init, devpoll_add,
	devpoll_del, devpoll_dispatch, devpoll_dealloc, 1, /* need_reinit */
	NULL, NULL, /* signals go through signal.c */
	devpoll_foreach };
