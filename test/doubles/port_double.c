/*
 * port_double.c: event ports in user space, on poll(2), following
 * illumos port_create(3C), port_associate(3C), port_get(3C),
 * port_send(3C) and port_alert(3C):
 *
 *  - port_associate(PORT_SOURCE_FD) associates an fd with poll(2) events
 *    and a user cookie, or updates both if it is associated already.  At
 *    most one event is delivered per association: retrieving it ends the
 *    association.  Readiness is evaluated when events are retrieved, so an
 *    fd made ready and then drained before port_getn() delivers nothing.
 *    Errors: EBADF (not a port; a child after fork), EINVAL (a source
 *    other than PORT_SOURCE_FD: the others are not modelled), EBADFD (not
 *    an open fd).
 *  - port_dissociate() ends an association: ENOENT if there is none,
 *    EACCES from a process other than the one that associated.
 *  - Closing an fd ends its associations; closing the port frees it.
 *  - port_getn() blocks until *nget events (at least one) are available,
 *    the timeout passes (-1, ETIME), or a signal handler runs (-1, EINTR);
 *    in every case *nget is set to the number of events stored in list[],
 *    which may be more than zero on ETIME and EINTR.  max == 0 only counts
 *    what is pending.  EINVAL for a NULL list or nget, *nget > max, or a
 *    bad timeout.  port_get() is port_getn() for one event.
 *  - port_send() queues a PORT_SOURCE_USER event; port_alert() with
 *    PORT_ALERT_SET/UPDATE puts the port in alert mode (every retrieval
 *    returns one PORT_SOURCE_ALERT event until events 0 clears it; SET on
 *    a port already in alert mode fails with EBUSY).
 *
 * Not modelled, so untested here: the AIO, TIMER, MQ and FILE sources
 * (EINVAL), resource limits (EAGAIN at process.max-port-events) and
 * ENOMEM, an event posted at association time and found stale at
 * retrieval (readiness is checked when events are retrieved), a port
 * closed by another thread waking port_getn(), fairness between threads,
 * and sharing across fork(): the double's state is private memory, so the
 * child sees EBADF instead of a port it shares with its parent, and the
 * parent never loses events to the child (the reason evport.c needs
 * event_reinit()).
 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <port.h>

#include "doubles.h"

struct assoc {
	struct assoc *next;
	int fd;
	int events;
	void *user;
	pid_t owner;
	short revents; /* this wait's poll() result */
};

struct user_ev {
	struct user_ev *next;
	int events;
	void *user;
};

struct port {
	struct port *next;
	int fd, wfd;
	pid_t pid;
	struct assoc *fds;
	struct user_ev *uhead, **utail;
	int alert, alert_events;
	void *alert_user;
};

static struct port *ports;

static struct port *
find_port(int fd)
{
	struct port *p;

	for (p = ports; p != NULL; p = p->next)
		if (p->fd == fd)
			return p->pid == getpid() ? p : NULL;
	return NULL;
}

int
port_create(void)
{
	struct port *p;
	int fds[2], err;

	dbl__lock();
	err = dbl__fault(DBL_PORT_CREATE);
	if (err == 0 && (p = calloc(1, sizeof(*p))) == NULL)
		err = EAGAIN;
	if (err == 0 && dbl__handle(fds) == -1) {
		err = errno;
		free(p);
	}
	if (err != 0) {
		dbl__unlock();
		errno = err;
		return -1;
	}
	p->fd = fds[0];
	p->wfd = fds[1];
	p->pid = getpid();
	p->utail = &p->uhead;
	p->next = ports;
	ports = p;
	dbl__unlock();
	return p->fd;
}

static struct assoc **
find_assoc(struct port *p, int fd)
{
	struct assoc **a;

	for (a = &p->fds; *a != NULL; a = &(*a)->next)
		if ((*a)->fd == fd)
			return a;
	return NULL;
}

static int
fail(int err)
{
	dbl__unlock();
	errno = err;
	return -1;
}

int
port_associate(int port, int source, uintptr_t object, int events, void *user)
{
	struct port *p;
	struct assoc **ap, *a;
	int fd = (int)object, err;

	dbl__lock();
	if ((p = find_port(port)) == NULL)
		return fail(EBADF);
	if (source != PORT_SOURCE_FD)
		return fail(EINVAL);
	if ((err = dbl__fault(DBL_PORT_ASSOCIATE)) != 0)
		return fail(err);
	if (object > INT32_MAX || fcntl(fd, F_GETFD) == -1)
		return fail(EBADFD);
	if ((ap = find_assoc(p, fd)) != NULL) {
		a = *ap;
	} else {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return fail(ENOMEM);
		a->fd = fd;
		a->owner = getpid();
		a->next = p->fds;
		p->fds = a;
	}
	a->events = events;
	a->user = user;
	dbl__unlock();
	return 0;
}

int
port_dissociate(int port, int source, uintptr_t object)
{
	struct port *p;
	struct assoc **ap, *a;
	int fd = (int)object;

	dbl__lock();
	if ((p = find_port(port)) == NULL)
		return fail(EBADF);
	if (source != PORT_SOURCE_FD)
		return fail(EINVAL);
	if (object > INT32_MAX || fcntl(fd, F_GETFD) == -1)
		return fail(EBADFD);
	if ((ap = find_assoc(p, fd)) == NULL)
		return fail(ENOENT);
	a = *ap;
	if (a->owner != getpid())
		return fail(EACCES);
	*ap = a->next;
	free(a);
	dbl__unlock();
	return 0;
}

/* poll() the associations and the wake pipe; the lock is dropped inside. */
static int
wait_fds(struct port *p, int ms)
{
	struct pollfd *pfd;
	struct assoc *a;
	int n = 1, i, res, saved;

	for (a = p->fds; a != NULL; a = a->next)
		n++;
	if ((pfd = calloc((size_t)n, sizeof(*pfd))) == NULL)
		return -1;
	pfd[0].fd = p->fd;
	pfd[0].events = POLLIN;
	for (i = 1, a = p->fds; a != NULL; a = a->next, i++) {
		a->revents = 0;
		pfd[i].fd = a->fd;
		pfd[i].events = (short)a->events;
	}
	dbl__unlock();
	res = poll(pfd, (nfds_t)n, ms);
	saved = errno;
	dbl__lock();
	if (res > 0) {
		for (i = 1, a = p->fds; a != NULL && i < n; a = a->next, i++)
			if (pfd[i].fd == a->fd)
				a->revents = pfd[i].revents;
		dbl__drain(p->fd);
	}
	free(pfd);
	errno = saved;
	return res;
}

/* Move up to max - *got ready events into list; returns how many exist. */
static unsigned
take(struct port *p, port_event_t *list, unsigned max, unsigned *got,
    int count_only)
{
	struct assoc **ap = &p->fds, *a;
	struct user_ev *u;
	unsigned avail = 0;

	if (p->alert) {
		if (!count_only && *got < max) {
			memset(&list[*got], 0, sizeof(list[0]));
			list[*got].portev_source = PORT_SOURCE_ALERT;
			list[*got].portev_events = p->alert_events;
			list[*got].portev_user = p->alert_user;
			(*got)++;
		}
		return 1;
	}
	while ((u = p->uhead) != NULL && (count_only || *got < max)) {
		avail++;
		if (count_only)
			break;
		memset(&list[*got], 0, sizeof(list[0]));
		list[*got].portev_source = PORT_SOURCE_USER;
		list[*got].portev_events = u->events;
		list[*got].portev_user = u->user;
		(*got)++;
		if ((p->uhead = u->next) == NULL)
			p->utail = &p->uhead;
		free(u);
	}
	while ((a = *ap) != NULL) {
		if (a->revents == 0 || (!count_only && *got >= max)) {
			ap = &a->next;
			continue;
		}
		avail++;
		if (count_only) {
			ap = &a->next;
			continue;
		}
		memset(&list[*got], 0, sizeof(list[0]));
		list[*got].portev_source = PORT_SOURCE_FD;
		list[*got].portev_events = a->revents;
		list[*got].portev_object = (uintptr_t)a->fd;
		list[*got].portev_user = a->user;
		(*got)++;
		/* One-shot: the association ends with its event. */
		*ap = a->next;
		free(a);
	}
	return avail;
}

int
port_getn(int port, port_event_t list[], uint_t max, uint_t *nget,
    struct timespec *timeout)
{
	struct timespec store, *deadline;
	struct port *p;
	unsigned got = 0, want;
	int err = 0, res;

	dbl__lock();
	if ((p = find_port(port)) == NULL)
		return fail(EBADF);
	if (nget == NULL || (max > 0 && (list == NULL || *nget > max)) ||
	    dbl__deadline(timeout, &deadline, &store) == -1)
		return fail(EINVAL);
	if ((err = dbl__fault(DBL_PORT_GETN)) != 0)
		return fail(err);
	if (max == 0) {
		wait_fds(p, 0);
		*nget = take(p, NULL, 0, &got, 1);
		dbl__unlock();
		return 0;
	}
	want = *nget;
	for (;;) {
		wait_fds(p, 0);
		take(p, list, max, &got, 0);
		/* *nget == 0: take what is there, never wait. */
		if (got >= want && (got > 0 || want == 0))
			break;
		res = wait_fds(p, dbl__ms_left(deadline));
		if (res == -1 && errno == EINTR) {
			err = EINTR;
			break;
		}
		take(p, list, max, &got, 0);
		if (got >= want)
			break;
		if (dbl__ms_left(deadline) == 0) {
			err = ETIME;
			break;
		}
	}
	*nget = got;
	if (err != 0)
		return fail(err);
	dbl__unlock();
	return 0;
}

int
port_get(int port, port_event_t *pe, struct timespec *timeout)
{
	uint_t nget = 1;

	return port_getn(port, pe, 1, &nget, timeout);
}

static int
wake(struct port *p)
{
	if (__real_write(p->wfd, "", 1) == -1 && errno != EAGAIN)
		return -1;
	return 0;
}

int
port_send(int port, int events, void *user)
{
	struct port *p;
	struct user_ev *u;

	dbl__lock();
	if ((p = find_port(port)) == NULL)
		return fail(EBADF);
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return fail(EAGAIN);
	u->events = events;
	u->user = user;
	*p->utail = u;
	p->utail = &u->next;
	wake(p);
	dbl__unlock();
	return 0;
}

int
port_alert(int port, int flags, int events, void *user)
{
	struct port *p;

	dbl__lock();
	if ((p = find_port(port)) == NULL)
		return fail(EBADF);
	if (flags != PORT_ALERT_SET && flags != PORT_ALERT_UPDATE)
		return fail(EINVAL);
	if (flags == PORT_ALERT_SET && p->alert && events != 0)
		return fail(EBUSY);
	p->alert = events != 0;
	p->alert_events = events;
	p->alert_user = user;
	wake(p);
	dbl__unlock();
	return 0;
}

void
dbl__port_closing(int fd)
{
	struct port **pp, *p;
	struct assoc **ap, *a;
	struct user_ev *u;

	dbl__lock();
	for (pp = &ports; (p = *pp) != NULL;) {
		if (p->fd == fd) {
			*pp = p->next;
			while ((a = p->fds) != NULL) {
				p->fds = a->next;
				free(a);
			}
			while ((u = p->uhead) != NULL) {
				p->uhead = u->next;
				free(u);
			}
			__real_close(p->wfd);
			free(p);
			continue;
		}
		if ((ap = find_assoc(p, fd)) != NULL) {
			a = *ap;
			*ap = a->next;
			free(a);
		}
		pp = &p->next;
	}
	dbl__unlock();
}
