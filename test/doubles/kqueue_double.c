/*
 * kqueue_double.c: kqueue() and kevent() in user space, on poll(2) and
 * sigaction(2), following FreeBSD's kqueue(2):
 *
 *  - A knote is keyed by (ident, filter) within one kqueue.  EV_ADD adds
 *    or modifies (udata, EV_ONESHOT) and enables unless EV_DISABLE is
 *    given; EV_DELETE, EV_ENABLE, EV_DISABLE of a missing knote fail with
 *    ENOENT; an fd filter on a descriptor that is not open fails with
 *    EBADF; an unknown filter, a bad signal number or a flag this double
 *    does not model (EV_CLEAR on an fd, EV_DISPATCH, ...) with EINVAL.
 *  - Changes are applied in order.  A failed change (and with EV_RECEIPT
 *    any change) is copied to the event list with flags = EV_ERROR and
 *    data = errno while there is room, else kevent() returns -1 with that
 *    errno and the rest of the list is not applied.  When the list holds
 *    such entries, kevent() returns them at once without waiting, as
 *    FreeBSD's kern_event.c does.
 *  - Delivery is level-triggered: EVFILT_READ while poll() says POLLIN or
 *    a hang-up, with data = FIONREAD and EV_EOF on POLLHUP/POLLRDHUP (and
 *    POLLERR; fflags stays 0); EVFILT_WRITE on POLLOUT, with
 *    EV_EOF on POLLHUP/POLLERR.  EV_ONESHOT knotes are deleted once
 *    delivered.  Closing an fd deletes its knotes in every kqueue.
 *  - EVFILT_SIGNAL counts each arrival in every kqueue that watches the
 *    signal, whatever its disposition, and returns the count since the
 *    last delivery in data.  To see arrivals, the double puts its own
 *    handler in front of the program's and then does what the program's
 *    disposition says, including the default action (a handler is
 *    reinstalled in front at each kevent() if the program replaced it).
 *  - kevent() fails with EBADF on a descriptor that is not a kqueue, and
 *    in a child after fork() (a kqueue is not inherited); EINVAL for a
 *    negative count or a bad timeout; EINTR when a signal handler ran
 *    during the wait, the changes having been applied.
 *
 * Not modelled, so untested here: filters other than READ, WRITE and
 * SIGNAL (TIMER, VNODE, PROC, USER), EV_CLEAR and EV_DISPATCH on fds
 * (refused with EINVAL so a backend that starts using them is caught),
 * NOTE_LOWAT, data for listening sockets (the backlog) and for EVFILT_WRITE
 * (buffer space), socket errors in fflags, what EV_EOF means for ttys and
 * FIFOs beyond what poll() reports, the order of results, a kqueue fd
 * being readable while events are pending, and two threads in kevent() on
 * one kqueue.  Knotes are removed only by the wrapped close(): a dup2()
 * over a watched fd, or a close() inside another shared library, leaves
 * them (their fd then shows POLLNVAL and they stay silent).  Signals are
 * counted only while the double's handler is in front: one arriving after
 * the program replaced the handler and before the next kevent() is lost
 * (the kernel counts every delivery attempt), and blocked signals count
 * when delivered, not when sent.  The broken-macOS mode imitates the
 * symptom 1.4 tested for, not the kernel bug.  Timeouts have poll()'s
 * millisecond resolution.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/event.h>

#include "doubles.h"

#define MAXKQ 256

struct knote {
	struct knote *next;
	uintptr_t ident;
	short filter;
	unsigned short flags; /* EV_ONESHOT as given */
	int enabled;
	void *udata;
	unsigned long seen; /* signals: arrivals already reported */
	short revents;	    /* fd filters: this wait's poll() result */
};

struct kq {
	struct kq *next;
	int fd, wfd;
	pid_t pid;
	struct knote *notes;
};

static struct kq *kqs;
static int broken;

/* Read by the signal handler without the lock. */
static volatile unsigned long sig_arrivals[NSIG];
static int wake_fds[MAXKQ];
static int wake_init;
static struct sigaction sig_prev[NSIG];
static int sig_nwatch[NSIG];

void
dbl_kqueue_set_broken(int b)
{
	dbl__lock();
	broken = b;
	dbl__unlock();
}

/* What the program's own disposition asks for, after we counted. */
static void
run_program_disposition(int sig, siginfo_t *info, void *ctx)
{
	struct sigaction *p = &sig_prev[sig];

	if (p->sa_flags & SA_SIGINFO) {
		p->sa_sigaction(sig, info, ctx);
	} else if (p->sa_handler == SIG_DFL) {
		if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH ||
		    sig == SIGCONT)
			return;
		/* The default action happens once our handler returns. */
		signal(sig, SIG_DFL);
		raise(sig);
	} else if (p->sa_handler != SIG_IGN) {
		p->sa_handler(sig);
	}
}

static void
kq_sig_handler(int sig, siginfo_t *info, void *ctx)
{
	int saved = errno, i, fd;

	if (sig > 0 && sig < NSIG) {
		__atomic_add_fetch(&sig_arrivals[sig], 1, __ATOMIC_SEQ_CST);
		for (i = 0; i < MAXKQ; i++) {
			fd = __atomic_load_n(&wake_fds[i], __ATOMIC_ACQUIRE);
			if (fd >= 0 && __real_write(fd, "", 1) == -1)
				continue; /* a full pipe wakes anyway */
		}
		run_program_disposition(sig, info, ctx);
	}
	errno = saved;
}

/* Put our handler in front of whatever the program has now. */
static void
sig_front(int sig)
{
	struct sigaction cur, sa;
	sigset_t block, old;

	sigaction(sig, NULL, &cur);
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == kq_sig_handler)
		return;
	sigemptyset(&block);
	sigaddset(&block, sig);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sig_prev[sig] = cur;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kq_sig_handler;
	sa.sa_flags = SA_SIGINFO |
	    (cur.sa_flags &
		(SA_RESTART | SA_NOCLDSTOP | SA_NOCLDWAIT | SA_ONSTACK));
	sa.sa_mask = cur.sa_mask;
	sigaction(sig, &sa, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
sig_unwatch(int sig)
{
	struct sigaction cur;

	if (--sig_nwatch[sig] > 0)
		return;
	sigaction(sig, NULL, &cur);
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == kq_sig_handler)
		sigaction(sig, &sig_prev[sig], NULL);
}

static struct kq *
find_kq(int fd)
{
	struct kq *kq;

	for (kq = kqs; kq != NULL; kq = kq->next)
		if (kq->fd == fd)
			return kq;
	return NULL;
}

int
kqueue(void)
{
	struct kq *kq;
	int fds[2], err, i, slot = -1;

	dbl__lock();
	if (!wake_init) {
		for (i = 0; i < MAXKQ; i++)
			wake_fds[i] = -1;
		wake_init = 1;
	}
	for (i = 0; i < MAXKQ && slot < 0; i++)
		if (wake_fds[i] < 0)
			slot = i;
	err = dbl__fault(DBL_KQUEUE);
	if (err == 0 && slot < 0)
		err = EMFILE;
	if (err == 0 && (kq = calloc(1, sizeof(*kq))) == NULL)
		err = ENOMEM;
	if (err == 0 && dbl__handle(fds) == -1) {
		err = errno;
		free(kq);
	}
	if (err != 0) {
		dbl__unlock();
		errno = err;
		return -1;
	}
	kq->fd = fds[0];
	kq->wfd = fds[1];
	kq->pid = getpid();
	kq->next = kqs;
	kqs = kq;
	__atomic_store_n(&wake_fds[slot], kq->wfd, __ATOMIC_RELEASE);
	dbl__unlock();
	return kq->fd;
}

static struct knote *
find_note(struct kq *kq, uintptr_t ident, short filter, struct knote ***pp)
{
	struct knote **p;

	for (p = &kq->notes; *p != NULL; p = &(*p)->next) {
		if ((*p)->ident == ident && (*p)->filter == filter) {
			if (pp != NULL)
				*pp = p;
			return *p;
		}
	}
	return NULL;
}

static void
drop_note(struct knote **p)
{
	struct knote *kn = *p;

	*p = kn->next;
	if (kn->filter == EVFILT_SIGNAL)
		sig_unwatch((int)kn->ident);
	free(kn);
}

/* Apply one change; returns 0 or an errno. */
static int
apply(struct kq *kq, const struct kevent *ch)
{
	unsigned known = EV_ADD | EV_DELETE | EV_ENABLE | EV_DISABLE |
	    EV_ONESHOT | EV_RECEIPT;
	struct knote *kn, **p;
	int sig = (int)ch->ident;

	if (ch->filter == EVFILT_SIGNAL) {
		if (ch->ident == 0 || ch->ident >= NSIG)
			return EINVAL;
		known |= EV_CLEAR; /* implied for signals anyway */
	} else if (ch->filter == EVFILT_READ || ch->filter == EVFILT_WRITE) {
		if (ch->ident > INT_MAX || fcntl((int)ch->ident, F_GETFD) == -1)
			return EBADF;
	} else {
		return EINVAL;
	}
	if (ch->flags & ~known)
		return EINVAL;
	kn = find_note(kq, ch->ident, ch->filter, &p);
	if (ch->flags & EV_DELETE) {
		if (kn == NULL)
			return ENOENT;
		drop_note(p);
		return 0;
	}
	if (kn == NULL && !(ch->flags & EV_ADD))
		return ENOENT;
	if (kn == NULL) {
		if ((kn = calloc(1, sizeof(*kn))) == NULL)
			return ENOMEM;
		kn->ident = ch->ident;
		kn->filter = ch->filter;
		kn->enabled = 1;
		if (ch->filter == EVFILT_SIGNAL) {
			if (sig_nwatch[sig]++ == 0)
				sig_front(sig);
			kn->seen = __atomic_load_n(&sig_arrivals[sig],
			    __ATOMIC_SEQ_CST);
		}
		kn->next = kq->notes;
		kq->notes = kn;
	}
	if (ch->flags & EV_ADD) {
		kn->udata = ch->udata;
		kn->flags = ch->flags & EV_ONESHOT;
		kn->enabled = 1;
	}
	if (ch->flags & EV_ENABLE)
		kn->enabled = 1;
	if (ch->flags & EV_DISABLE)
		kn->enabled = 0;
	return 0;
}

/* Fill one result from a ready knote; returns 1 if it is ready. */
static int
ready(struct knote *kn, struct kevent *out)
{
	unsigned long now;
	int avail = 0;
	short re = kn->revents;

	memset(out, 0, sizeof(*out));
	out->ident = kn->ident;
	out->filter = kn->filter;
	out->udata = kn->udata;
	out->flags = kn->flags;
	if (kn->filter == EVFILT_SIGNAL) {
		now = __atomic_load_n(&sig_arrivals[kn->ident],
		    __ATOMIC_SEQ_CST);
		if (now == kn->seen)
			return 0;
		out->data = (int64_t)(now - kn->seen);
		kn->seen = now;
		return 1;
	}
	if (kn->filter == EVFILT_READ) {
		if (!(re & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)))
			return 0;
		if (__real_ioctl((int)kn->ident, FIONREAD, &avail) == 0)
			out->data = avail;
		if (re & (POLLHUP | POLLRDHUP | POLLERR))
			out->flags |= EV_EOF;
	} else {
		if (!(re & (POLLOUT | POLLHUP | POLLERR)))
			return 0;
		if (re & (POLLHUP | POLLERR))
			out->flags |= EV_EOF;
	}
	/*
	 * The socket error is not put in fflags: reading SO_ERROR would
	 * clear it, and the program's read() must still see it.
	 */
	return 1;
}

/* poll() every enabled fd knote and the wake pipe; lock dropped inside. */
static int
wait_fds(struct kq *kq, int ms)
{
	struct pollfd *pfd;
	struct knote *kn;
	int n = 1, i, res, saved;

	for (kn = kq->notes; kn != NULL; kn = kn->next)
		n++;
	if ((pfd = calloc((size_t)n, sizeof(*pfd))) == NULL)
		return -1;
	pfd[0].fd = kq->fd;
	pfd[0].events = POLLIN;
	for (i = 1, kn = kq->notes; kn != NULL; kn = kn->next, i++) {
		pfd[i].fd = -1;
		kn->revents = 0;
		if (!kn->enabled || kn->filter == EVFILT_SIGNAL)
			continue;
		pfd[i].fd = (int)kn->ident;
		pfd[i].events = kn->filter == EVFILT_READ ? POLLIN | POLLRDHUP :
							    POLLOUT;
	}
	dbl__unlock();
	res = poll(pfd, (nfds_t)n, ms);
	saved = errno;
	dbl__lock();
	/* Knotes may have gone while unlocked (a close elsewhere). */
	if (res > 0) {
		for (i = 1, kn = kq->notes; kn != NULL && i < n;
		     kn = kn->next, i++) {
			if (pfd[i].fd == (int)kn->ident &&
			    !(pfd[i].revents & POLLNVAL))
				kn->revents = pfd[i].revents;
		}
		dbl__drain(kq->fd);
	}
	free(pfd);
	errno = saved;
	return res;
}

static int
collect(struct kq *kq, struct kevent *events, int nevents)
{
	struct knote **p = &kq->notes, *kn;
	int n = 0;

	while ((kn = *p) != NULL && n < nevents) {
		if (kn->enabled && ready(kn, &events[n])) {
			n++;
			if (kn->flags & EV_ONESHOT) {
				drop_note(p);
				continue;
			}
		}
		p = &kn->next;
	}
	return n;
}

static int
kevent_locked(struct kq *kq, const struct kevent *changes, int nchanges,
    struct kevent *events, int nevents, const struct timespec *timeout)
{
	struct timespec store, *deadline;
	int i, n = 0, err, sig, res;

	if (nchanges < 0 || nevents < 0 ||
	    dbl__deadline(timeout, &deadline, &store) == -1)
		return -EINVAL;
	if ((err = dbl__fault(DBL_KEVENT)) != 0)
		return -err;
	for (sig = 1; sig < NSIG; sig++)
		if (sig_nwatch[sig] > 0)
			sig_front(sig);
	for (i = 0; i < nchanges; i++) {
		err = apply(kq, &changes[i]);
		if (err == 0 && !(changes[i].flags & EV_RECEIPT))
			continue;
		if (n >= nevents || (err != 0 && broken))
			return err != 0 ? -err : n;
		events[n] = changes[i];
		events[n].flags = EV_ERROR;
		events[n].data = err;
		n++;
	}
	if (n > 0 || nevents == 0)
		return n;
	for (;;) {
		/* A first look without waiting, then wait if nothing. */
		if (wait_fds(kq, 0) == -1 && errno != EINTR)
			return -errno;
		if ((n = collect(kq, events, nevents)) > 0)
			return n;
		res = wait_fds(kq, dbl__ms_left(deadline));
		if (res == -1)
			return errno == EINTR ? -EINTR : -errno;
		if ((n = collect(kq, events, nevents)) > 0)
			return n;
		if (res == 0 && dbl__ms_left(deadline) == 0)
			return 0;
	}
}

int
kevent(int kqfd, const struct kevent *changes, int nchanges,
    struct kevent *events, int nevents, const struct timespec *timeout)
{
	struct kq *kq;
	int res;

	dbl__lock();
	kq = find_kq(kqfd);
	if (kq == NULL || kq->pid != getpid()) {
		dbl__unlock();
		errno = EBADF;
		return -1;
	}
	res = kevent_locked(kq, changes, nchanges, events, nevents, timeout);
	dbl__unlock();
	if (res < 0) {
		errno = -res;
		return -1;
	}
	return res;
}

void
dbl__kq_closing(int fd)
{
	struct kq **pp, *kq;
	struct knote **p;
	int i;

	dbl__lock();
	for (pp = &kqs; (kq = *pp) != NULL;) {
		if (kq->fd == fd) {
			*pp = kq->next;
			for (i = 0; i < MAXKQ; i++)
				if (wake_fds[i] == kq->wfd)
					__atomic_store_n(&wake_fds[i], -1,
					    __ATOMIC_RELEASE);
			while (kq->notes != NULL)
				drop_note(&kq->notes);
			__real_close(kq->wfd);
			free(kq);
			continue;
		}
		/* "Calling close() on a file descriptor will remove any
		 * kevents that reference the descriptor." */
		for (p = &kq->notes; *p != NULL;) {
			if ((*p)->filter != EVFILT_SIGNAL &&
			    (*p)->ident == (uintptr_t)fd)
				drop_note(p);
			else
				p = &(*p)->next;
		}
		pp = &kq->next;
	}
	dbl__unlock();
}
