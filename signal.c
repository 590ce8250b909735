/*
 * signal.c: signal events, and the socketpair that wakes a base's loop.
 *
 * One process-wide handler serves every signal any base watches.  It only
 * counts the arrival in each watching base and writes one byte to that
 * base's socketpair (async-signal-safe: no locks, no allocation, errno
 * preserved).  The read end is an internal persistent read event of the
 * base, so the byte wakes its loop, which then runs the callbacks of the
 * signal's events from the loop, never from the handler.
 *
 * Several bases may watch one signal: each signal number has a list of
 * watchers, one node per base embedded in the base itself, so every base
 * gets every arrival (1.4 delivered only to the base that looped last).
 * The handler a program had before is saved when the first base starts
 * watching a signal and restored when the last one stops.
 *
 * The same socketpair carries event_base_loopbreak()'s wake-up from other
 * threads.
 *
 * A backend whose kernel counts signals itself (kqueue's EVFILT_SIGNAL)
 * provides sig_add/sig_del.  Its bases still count towards installing our
 * handler, which keeps the signal's default action (often: terminate) from
 * running, but they stay off the watcher list: the kernel wakes them, and
 * the backend reports the counts through ev__sig_deliver().
 *
 * Threads: each base is run by one thread, but the watcher lists are
 * shared by all of them.  sig_lock (a spin lock: the library links no
 * thread library) serialises the threads that change the lists; the
 * handler never takes it, since it may have interrupted the holder, and
 * reads the lists with acquire loads instead.  sig_inflight counts the
 * handlers walking a list (in any thread), so a base that stops watching
 * waits until none can still hold a pointer to it before it may be freed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "evsignal.h"
#include "log.h"
#include "mm-internal.h"

/* Per signal: the bases watching it, and the handler to restore. */
static struct ev__sig_watcher *volatile sig_watchers[EV__NSIG];
static struct sigaction sig_saved[EV__NSIG];
static int sig_nbases[EV__NSIG];
static int sig_lock;	 /* guards the three arrays above */
static int sig_inflight; /* handlers running, in any thread */

static void
lock_watchers(void)
{
	while (__atomic_exchange_n(&sig_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void
unlock_watchers(void)
{
	__atomic_store_n(&sig_lock, 0, __ATOMIC_RELEASE);
}

static void
sig_handler(int sig)
{
	int saved_errno = errno;
	struct ev__sig_watcher *w;
	ssize_t n;

	if (sig <= 0 || sig >= EV__NSIG)
		return;
	/* Lock-free atomics are async-signal-safe; the base's thread reads
	 * the counts concurrently. */
	__atomic_fetch_add(&sig_inflight, 1, __ATOMIC_SEQ_CST);
	w = __atomic_load_n(&sig_watchers[sig], __ATOMIC_SEQ_CST);
	for (; w != NULL; w = __atomic_load_n(&w->next, __ATOMIC_ACQUIRE)) {
		/* Another thread may be unwatching this base right now: read
		 * its base once, and skip it once it is gone. */
		struct event_base *b = __atomic_load_n(&w->base,
		    __ATOMIC_ACQUIRE);

		if (b == NULL)
			continue;
		__atomic_fetch_add(&b->sig->caught[sig], 1, __ATOMIC_RELAXED);
		__atomic_store_n(&b->sig_any_caught, 1, __ATOMIC_RELEASE);
		n = write(b->sig->pair[0], "", 1);
		(void)n; /* a full pipe already wakes the loop */
	}
	__atomic_fetch_sub(&sig_inflight, 1, __ATOMIC_SEQ_CST);
	errno = saved_errno;
}

/*
 * Drain the wake-up bytes with one read: the counts are in caught[], the
 * bytes only wake the loop.  Reading until EAGAIN never ended under a
 * steady stream of signals (each one handled during the read writes the
 * byte the next read returns), so the loop hung here; what one read
 * leaves keeps the socket readable for the next pass.
 */
static void
wakeup_cb(int fd, short what, void *arg)
{
	char buf[1024];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	(void)n;
}

static int
make_pair(struct event_base *base)
{
	int i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, base->sig->pair) == -1) {
		event_warn("%s: socketpair", __func__);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		if (fcntl(base->sig->pair[i], F_SETFD, FD_CLOEXEC) == -1 ||
		    evutil_make_socket_nonblocking(base->sig->pair[i]) == -1) {
			close(base->sig->pair[0]);
			close(base->sig->pair[1]);
			base->sig->pair[0] = base->sig->pair[1] = -1;
			return -1;
		}
	}
	return 0;
}

static int
add_wakeup_event(struct event_base *base)
{
	struct event *ev = &base->sig->ev_wakeup;

	event_set(ev, base->sig->pair[1], EV_READ | EV_PERSIST, wakeup_cb,
	    base);
	ev->ev_base = base;
	ev->ev_pri = 0;
	ev->ev_flags |= EVLIST_INTERNAL;
	if (event_add(ev, NULL) == -1)
		return -1;
	base->sig->wakeup_added = 1;
	return 0;
}

static void
close_pair(struct event_base *base)
{
	if (base->sig->wakeup_added) {
		event_del(&base->sig->ev_wakeup);
		base->sig->wakeup_added = 0;
	}
	if (base->sig->pair[0] != -1)
		close(base->sig->pair[0]);
	if (base->sig->pair[1] != -1)
		close(base->sig->pair[1]);
	base->sig->pair[0] = base->sig->pair[1] = -1;
}

int
ev__sig_init(struct event_base *base)
{
	int i;

	if ((base->sig = ev__calloc(1, sizeof(*base->sig))) == NULL) {
		event_warn("%s: calloc", __func__);
		return -1;
	}
	base->sig->pair[0] = base->sig->pair[1] = -1;
	for (i = 0; i < EV__NSIG; i++)
		TAILQ_INIT(&base->sig->evsigevents[i]);
	if (make_pair(base) == -1)
		return -1;
	if (add_wakeup_event(base) == -1) {
		close_pair(base);
		return -1;
	}
	return 0;
}

/* Block sig in this thread while its watcher list changes. */
static void
block_signal(int sig, sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, old);
}

static int
kernel_watches(const struct event_base *base)
{
	return base->evsel->sig_add != NULL;
}

static int
watch_signal(struct event_base *base, int sig)
{
	struct ev__sig_watcher *w = &base->sig->watchers[sig];
	struct sigaction sa;
	sigset_t old;
	int res = 0;

	block_signal(sig, &old);
	lock_watchers();
	if (sig_nbases[sig] == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sig_handler;
		sa.sa_flags = SA_RESTART;
		sigfillset(&sa.sa_mask);
		if (sigaction(sig, &sa, &sig_saved[sig]) == -1) {
			event_warn("%s: sigaction(%d)", __func__, sig);
			res = -1;
		}
	}
	if (res == 0) {
		__atomic_store_n(&w->base, base, __ATOMIC_RELEASE);
		if (!kernel_watches(base)) {
			w->next = sig_watchers[sig];
			__atomic_store_n(&sig_watchers[sig], w,
			    __ATOMIC_RELEASE);
		}
		sig_nbases[sig]++;
	}
	unlock_watchers();
	sigprocmask(SIG_SETMASK, &old, NULL);
	return res;
}

static int
unwatch_signal(struct event_base *base, int sig)
{
	struct ev__sig_watcher *w = &base->sig->watchers[sig];
	struct ev__sig_watcher *volatile *pp;
	sigset_t old;
	int res = 0;

	block_signal(sig, &old);
	lock_watchers();
	if (kernel_watches(base)) {
		if (w->base == base) {
			__atomic_store_n(&w->base, NULL, __ATOMIC_RELEASE);
			sig_nbases[sig]--;
		}
	} else {
		for (pp = &sig_watchers[sig]; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == w) {
				__atomic_store_n(pp, w->next, __ATOMIC_SEQ_CST);
				__atomic_store_n(&w->base, NULL,
				    __ATOMIC_RELEASE);
				sig_nbases[sig]--;
				break;
			}
		}
	}
	if (sig_nbases[sig] == 0 &&
	    sigaction(sig, &sig_saved[sig], NULL) == -1) {
		event_warn("%s: sigaction(%d)", __func__, sig);
		res = -1;
	}
	unlock_watchers();
	/*
	 * A handler that loaded w before the unlink counted itself first;
	 * wait for it, so the caller may free the base.  Handlers never
	 * block, and none runs on this thread: a handler returns before the
	 * code it interrupted resumes.
	 */
	while (__atomic_load_n(&sig_inflight, __ATOMIC_SEQ_CST) != 0)
		sched_yield();
	sigprocmask(SIG_SETMASK, &old, NULL);
	return res;
}

int
ev__sig_add(struct event *ev)
{
	struct event_base *base = ev->ev_base;
	int sig = ev->ev_fd;

	if (sig <= 0 || sig >= EV__NSIG) {
		event_warnx("%s: %d is not a signal number", __func__, sig);
		return -1;
	}
	if (TAILQ_EMPTY(&base->sig->evsigevents[sig])) {
		if (watch_signal(base, sig) == -1)
			return -1;
		if (kernel_watches(base) &&
		    base->evsel->sig_add(base->evbase, sig) == -1) {
			unwatch_signal(base, sig);
			return -1;
		}
	}
	ev->ev_flags |= EVLIST_SIGNAL;
	TAILQ_INSERT_TAIL(&base->sig->evsigevents[sig], ev, ev_signal_next);
	return 0;
}

int
ev__sig_del(struct event *ev)
{
	struct event_base *base = ev->ev_base;
	int sig = ev->ev_fd;

	if (sig <= 0 || sig >= EV__NSIG || !(ev->ev_flags & EVLIST_SIGNAL))
		return -1;
	ev->ev_flags &= ~EVLIST_SIGNAL;
	TAILQ_REMOVE(&base->sig->evsigevents[sig], ev, ev_signal_next);
	if (!TAILQ_EMPTY(&base->sig->evsigevents[sig]))
		return 0;
	/* The kernel stops counting before our handler goes. */
	if (kernel_watches(base))
		base->evsel->sig_del(base->evbase, sig);
	return unwatch_signal(base, sig);
}

void
ev__sig_deliver(struct event_base *base, int sig, int count)
{
	if (sig <= 0 || sig >= EV__NSIG || count <= 0)
		return;
	if (count > SHRT_MAX - base->sig->caught[sig])
		count = SHRT_MAX - base->sig->caught[sig];
	base->sig->caught[sig] += count;
	base->sig_any_caught = 1;
}

void
ev__sig_process(struct event_base *base)
{
	struct event *ev, *next;
	sig_atomic_t n;
	int sig;

	__atomic_store_n(&base->sig_any_caught, 0, __ATOMIC_SEQ_CST);
	for (sig = 1; sig < EV__NSIG; sig++) {
		if (__atomic_load_n(&base->sig->caught[sig],
			__ATOMIC_RELAXED) == 0)
			continue;
		n = __atomic_exchange_n(&base->sig->caught[sig], 0,
		    __ATOMIC_ACQ_REL);
		if (n > SHRT_MAX)
			n = SHRT_MAX;
		for (ev = TAILQ_FIRST(&base->sig->evsigevents[sig]); ev != NULL;
		     ev = next) {
			next = TAILQ_NEXT(ev, ev_signal_next);
			if (!(ev->ev_events & EV_PERSIST))
				event_del(ev);
			ev__activate(ev, EV_SIGNAL, (short)n);
		}
	}
}

void
ev__sig_wakeup(struct event_base *base)
{
	ssize_t n = write(base->sig->pair[0], "", 1);

	(void)n; /* a full socketpair wakes the loop just as well */
}

int
ev__sig_reinit(struct event_base *base)
{
	int sig;

	close_pair(base);
	for (sig = 0; sig < EV__NSIG; sig++)
		base->sig->caught[sig] = 0;
	base->sig_any_caught = 0;
	if (make_pair(base) == -1 || add_wakeup_event(base) == -1)
		return -1;
	/* A backend rebuilt by event_reinit() watches no signal yet. */
	if (kernel_watches(base)) {
		for (sig = 1; sig < EV__NSIG; sig++) {
			if (!TAILQ_EMPTY(&base->sig->evsigevents[sig]) &&
			    base->evsel->sig_add(base->evbase, sig) == -1)
				return -1;
		}
	}
	return 0;
}

void
ev__sig_dealloc(struct event_base *base)
{
	if (base->sig == NULL)
		return;
	close_pair(base);
	ev__free(base->sig);
	base->sig = NULL;
}
