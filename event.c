/*
 * event.c: the event_base and its loop.
 *
 * A base owns the backend chosen at creation, one active queue per
 * priority, the timer heap and the list of inserted I/O and signal events.
 * Each turn of the loop computes how long it may block (the earliest
 * timer), lets the backend wait and activate ready events, activates
 * expired timers, and runs the callbacks of the most urgent non-empty
 * active queue.  Callbacks may do anything to any event, including
 * deleting or freeing the one that is running, so every queue walk takes
 * the next element only after the callback has returned.
 *
 * Time comes from CLOCK_MONOTONIC where it exists (a vDSO call, no system
 * call).  It is read where it is needed and never cached across callbacks:
 * before a wait to size it and after the wait to expire timers (only while
 * timers exist), and by event_add() for each timeout.  So a timer fires
 * neither early nor late by the time the turn's callbacks took.  Without a
 * monotonic clock the wall clock is used and pending timers are shifted if
 * it jumps backwards.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event-internal.h"
#include "evutil.h"
#include "log.h"
#include "mm-internal.h"

/* Backends in libevent 1.4's order of preference. */
static const struct {
	const struct eventop *op;
	const char *envvar;
} backends[] = {
#ifdef _EVENT_HAVE_EVENT_PORTS
	{ &ev__evportops, "EVENT_NOEVPORT" },
#endif
#ifdef _EVENT_HAVE_WORKING_KQUEUE
	{ &ev__kqops, "EVENT_NOKQUEUE" },
#endif
#ifdef _EVENT_HAVE_EPOLL
	{ &ev__epollops, "EVENT_NOEPOLL" },
#endif
#ifdef _EVENT_HAVE_DEVPOLL
	{ &ev__devpollops, "EVENT_NODEVPOLL" },
#endif
#ifdef _EVENT_HAVE_POLL
	{ &ev__pollops, "EVENT_NOPOLL" },
#endif
#ifdef _EVENT_HAVE_SELECT
	{ &ev__selectops, "EVENT_NOSELECT" },
#endif
	{ NULL, NULL }
};

/* The global base of the 1.4 API; event_init() sets it. */
struct event_base *current_base = NULL;

/* Legacy signal hooks (see event.h). */
int (*event_sigcb)(void);
volatile sig_atomic_t event_gotsig;

static void event_queue_insert(struct event_base *, struct event *, int);
static void event_queue_remove(struct event_base *, struct event *, int);

/* ---- Time ------------------------------------------------------------ */

static int
sys_monotonic(struct timeval *tp)
{
#ifdef _EVENT_HAVE_MONOTONIC_CLOCK
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return -1;
	tp->tv_sec = ts.tv_sec;
	tp->tv_usec = ts.tv_nsec / 1000;
	return 0;
#else
	errno = ENOSYS;
	return -1;
#endif
}

static int
sys_wall(struct timeval *tp)
{
	return gettimeofday(tp, NULL);
}

int (*ev__clock_monotonic)(struct timeval *) = sys_monotonic;
int (*ev__clock_wall)(struct timeval *) = sys_wall;

static int
read_clock(struct event_base *base, struct timeval *tp)
{
	if (base->use_monotonic)
		return ev__clock_monotonic(tp);
	return ev__clock_wall(tp);
}

static int64_t
tv_to_usec(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

/*
 * now + tv without overflow: a timeout too large to represent (INT_MAX
 * seconds and more, or garbage microseconds) saturates to "never" rather
 * than wrapping into the past.
 */
static void
deadline_after(const struct timeval *now, const struct timeval *tv,
    struct timeval *out)
{
	const time_t far = (time_t)1 << 40; /* ~35,000 years */
	time_t sec = tv->tv_sec;
	long usec = tv->tv_usec;

	if (sec < 0 || usec < 0) {
		sec = 0;
		usec = 0;
	}
	sec += usec / 1000000;
	usec %= 1000000;
	if (sec > far)
		sec = far;
	out->tv_sec = now->tv_sec + sec;
	out->tv_usec = now->tv_usec + usec;
	if (out->tv_usec >= 1000000) {
		out->tv_sec++;
		out->tv_usec -= 1000000;
	}
}

/*
 * Without a monotonic clock, a wall clock that went backwards would delay
 * every timer by the jump; shift them all back by the same amount.
 */
static void
timeout_correct(struct event_base *base, struct timeval *tv)
{
	struct timeval off;
	unsigned i;

	if (base->use_monotonic)
		return;
	read_clock(base, tv);
	if (evutil_timercmp(tv, &base->event_tv, >=)) {
		base->event_tv = *tv;
		return;
	}
	evutil_timersub(&base->event_tv, tv, &off);
	for (i = 0; i < base->timeheap.n; i++) {
		struct event *ev = base->timeheap.p[i].ev;
		evutil_timersub(&ev->ev_timeout, &off, &ev->ev_timeout);
		base->timeheap.p[i].when = tv_to_usec(&ev->ev_timeout);
	}
	base->event_tv = *tv;
}

/* ---- Creating and freeing bases -------------------------------------- */

static int
backend_disabled(const char *envvar)
{
	return ev__env_allowed() && getenv(envvar) != NULL;
}

struct event_base *
event_base_new(void)
{
	struct event_base *base;
	struct timeval tv;
	int i;

	if ((base = ev__calloc(1, sizeof(*base))) == NULL) {
		event_warn("%s: calloc", __func__);
		return NULL;
	}
	base->use_monotonic = ev__clock_monotonic(&tv) == 0;
	read_clock(base, &base->event_tv);
	min_heap_ctor(&base->timeheap);
	TAILQ_INIT(&base->eventqueue);

	for (i = 0; backends[i].op != NULL && base->evbase == NULL; i++) {
		if (backend_disabled(backends[i].envvar))
			continue;
		base->evsel = backends[i].op;
		base->evbase = base->evsel->init(base);
	}
	if (base->evbase == NULL) {
		event_warnx("%s: no event mechanism available", __func__);
		ev__free(base);
		return NULL;
	}
	if (ev__env_allowed() && getenv("EVENT_SHOW_METHOD"))
		event_msgx("libevent using: %s", base->evsel->name);

	if (event_base_priority_init(base, 1) == -1 ||
	    ev__sig_init(base) == -1) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

struct event_base *
event_init(void)
{
	struct event_base *base = event_base_new();

	if (base != NULL)
		current_base = base;
	return base;
}

static void
free_active_queues(struct event_base *base)
{
	int i;

	for (i = 0; i < base->nactivequeues; i++)
		ev__free(base->activequeues[i]);
	ev__free(base->activequeues);
	base->activequeues = NULL;
	base->nactivequeues = 0;
}

/* event_base_free(): an I/O event is no longer added. */
static void
unhook_io(struct event *ev, void *arg)
{
	struct event_base *base = arg;

	if (!(ev->ev_flags & EVLIST_INSERTED))
		return;
	ev->ev_flags &= ~EVLIST_INSERTED;
	if (!(ev->ev_flags & EVLIST_INTERNAL))
		base->event_count--;
}

void
event_base_free(struct event_base *base)
{
	struct event *ev;
	int i;

	if (base == NULL)
		base = current_base;
	if (base == NULL) {
		event_warnx("%s: no base to free", __func__);
		return;
	}
	if (base == current_base)
		current_base = NULL;

	/*
	 * Unhook whatever the program left registered (it owns the events):
	 * I/O events are simply marked so (the backend goes as a whole),
	 * signal events deleted; then the base's own wake-up event and
	 * socketpair.
	 */
	if (base->evsel != NULL && base->evbase != NULL)
		base->evsel->foreach(base->evbase, unhook_io, base);
	while ((ev = TAILQ_FIRST(&base->eventqueue)) != NULL) {
		event_del(ev);
		/* An event the program overwrote while added cannot be
		 * deleted normally; unlink it so freeing still ends. */
		if (TAILQ_FIRST(&base->eventqueue) == ev)
			TAILQ_REMOVE(&base->eventqueue, ev, ev_next);
	}
	ev__sig_dealloc(base);
	while ((ev = min_heap_pop(&base->timeheap)) != NULL)
		ev->ev_flags &= ~EVLIST_TIMEOUT;
	for (i = 0; i < base->nactivequeues; i++) {
		while ((ev = TAILQ_FIRST(base->activequeues[i])) != NULL)
			event_queue_remove(base, ev, EVLIST_ACTIVE);
	}
	if (base->evsel != NULL && base->evbase != NULL)
		base->evsel->dealloc(base, base->evbase);
	min_heap_dtor(&base->timeheap);
	free_active_queues(base);
	ev__free(base);
}

struct reinit {
	struct event_base *base;
	void *evbase; /* the new backend state */
	int res;
};

/* event_reinit(): register an I/O event with the new backend state. */
static void
readd_io(struct event *ev, void *arg)
{
	struct reinit *r = arg;

	if (r->base->evsel->add(r->evbase, ev) == -1)
		r->res = -1;
}

int
event_reinit(struct event_base *base)
{
	const struct eventop *evsel = base->evsel;
	struct reinit r = { base, NULL, 0 };

	/*
	 * A kernel queue such as epoll's is shared with the parent after
	 * fork(): build a new one and register every I/O event again (the
	 * old backend state says which), then give the base its own signal
	 * socketpair.  The old queue goes only once the new one holds every
	 * event, so a failure leaves a working base and calling this again
	 * makes it good.
	 */
	if (evsel->need_reinit) {
		if ((r.evbase = evsel->init(base)) == NULL) {
			event_warnx("%s: could not reinitialize %s", __func__,
			    evsel->name);
			return -1;
		}
		evsel->foreach(base->evbase, readd_io, &r);
		if (r.res == -1) {
			event_warnx("%s: could not register every event again",
			    __func__);
			evsel->dealloc(base, r.evbase);
			return -1;
		}
		evsel->dealloc(base, base->evbase);
		base->evbase = r.evbase;
	}
	return ev__sig_reinit(base);
}

int
event_priority_init(int npriorities)
{
	return event_base_priority_init(current_base, npriorities);
}

int
event_base_priority_init(struct event_base *base, int npriorities)
{
	struct event_list **queues;
	int i;

	if (base == NULL || base->event_count_active)
		return -1;
	if (npriorities < 1 || npriorities > EV__MAX_PRIORITIES) {
		event_warnx("%s: %d priorities: must be 1 to 256", __func__,
		    npriorities);
		return -1;
	}
	if (npriorities == base->nactivequeues)
		return 0;
	queues = ev__calloc(EV__MAX_PRIORITIES, sizeof(*queues));
	if (queues == NULL) {
		event_warn("%s: calloc", __func__);
		return -1;
	}
	for (i = 0; i < npriorities; i++) {
		queues[i] = ev__malloc(sizeof(struct event_list));
		if (queues[i] == NULL) {
			event_warn("%s: malloc", __func__);
			while (i--)
				ev__free(queues[i]);
			ev__free(queues);
			return -1;
		}
		TAILQ_INIT(queues[i]);
	}
	/* Priorities beyond the count share the last (least urgent) queue. */
	for (; i < EV__MAX_PRIORITIES; i++)
		queues[i] = queues[npriorities - 1];
	free_active_queues(base);
	base->activequeues = queues;
	base->nactivequeues = npriorities;
	return 0;
}

const char *
event_base_get_method(struct event_base *base)
{
	return base->evsel->name;
}

const char *
event_get_method(void)
{
	return current_base ? current_base->evsel->name : NULL;
}

const char *
event_get_version(void)
{
	return _EVENT_VERSION;
}

/* ---- Queues ---------------------------------------------------------- */

/*
 * The queue operations are inline and take the queue as a constant at
 * every call site, so each compiles down to its own few instructions: the
 * loop's hot path (activate, run, remove) stays short.
 */
static inline void
event_queue_insert(struct event_base *base, struct event *ev, int queue)
{
	if (ev->ev_flags & queue) {
		/* Double insertion is possible for active events. */
		if (queue & EVLIST_ACTIVE)
			return;
		event_errx(1, "%s: %p(fd %d) already on queue %x", __func__,
		    (void *)ev, ev->ev_fd, queue);
	}
	/* Active events are counted in event_count_active only. */
	if (!(ev->ev_flags & EVLIST_INTERNAL) && queue != EVLIST_ACTIVE)
		base->event_count++;
	ev->ev_flags |= queue;
	if (queue == EVLIST_INSERTED) {
		/* Only signal events: the backend knows the I/O ones. */
		if (ev->ev_flags & EVLIST_SIGNAL)
			TAILQ_INSERT_TAIL(&base->eventqueue, ev, ev_next);
	} else if (queue == EVLIST_ACTIVE) {
		base->event_count_active++;
		TAILQ_INSERT_TAIL(base->activequeues[ev->ev_pri], ev,
		    ev_active_next);
	}
}

static inline void
event_queue_remove(struct event_base *base, struct event *ev, int queue)
{
	if (!(ev->ev_flags & queue))
		return;
	if (!(ev->ev_flags & EVLIST_INTERNAL) && queue != EVLIST_ACTIVE)
		base->event_count--;
	ev->ev_flags &= ~queue;
	if (queue == EVLIST_INSERTED) {
		if (ev->ev_flags & EVLIST_SIGNAL)
			TAILQ_REMOVE(&base->eventqueue, ev, ev_next);
	} else if (queue == EVLIST_ACTIVE) {
		base->event_count_active--;
		TAILQ_REMOVE(base->activequeues[ev->ev_pri], ev,
		    ev_active_next);
	} else if (queue == EVLIST_TIMEOUT) {
		min_heap_erase(&base->timeheap, ev);
	}
}

/* ---- Events ---------------------------------------------------------- */

void
event_set(struct event *ev, int fd, short events,
    void (*callback)(int, short, void *), void *arg)
{
	ev->ev_base = current_base;
	ev->ev_callback = callback;
	ev->ev_arg = arg;
	ev->ev_fd = fd;
	ev->ev_events = events;
	ev->ev_res = 0;
	ev->ev_flags = EVLIST_INIT;
	ev->ev_ncalls = 0;
	ev->ev_pncalls = NULL;
	min_heap_elem_init(ev);
	/* The middle priority by default, as in 1.4. */
	ev->ev_pri = current_base ?
	    (int)((unsigned)current_base->nactivequeues >> 1) :
	    0;
}

int
event_base_set(struct event_base *base, struct event *ev)
{
	if (base == NULL || ev->ev_flags != EVLIST_INIT)
		return -1;
	ev->ev_base = base;
	ev->ev_pri = base->nactivequeues / 2;
	return 0;
}

int
event_priority_set(struct event *ev, int pri)
{
	if (ev->ev_flags & EVLIST_ACTIVE)
		return -1;
	if (ev->ev_base == NULL || pri < 0 || pri >= ev->ev_base->nactivequeues)
		return -1;
	ev->ev_pri = pri;
	return 0;
}

/* Checks that catch events that were never set or are corrupted. */
static int
event_usable(const struct event *ev, const char *fn)
{
	if (ev == NULL || !(ev->ev_flags & EVLIST_INIT) ||
	    (ev->ev_flags & ~EVLIST_ALL)) {
		event_warnx("%s: event %p was not set with event_set()", fn,
		    (const void *)ev);
		return 0;
	}
	if (ev->ev_base == NULL) {
		event_warnx("%s: event %p has no base (call event_init() or "
			    "event_base_set())",
		    fn, (const void *)ev);
		return 0;
	}
	return 1;
}

static int
register_fd_or_signal(struct event_base *base, struct event *ev)
{
	int res;

	if (ev->ev_events & EV_SIGNAL) {
		if (ev->ev_events & (EV_READ | EV_WRITE)) {
			event_warnx("event_add: EV_SIGNAL cannot be combined "
				    "with EV_READ or EV_WRITE");
			return -1;
		}
		res = ev__sig_add(ev);
	} else {
		if (ev->ev_fd < 0) {
			event_warnx("event_add: negative fd %d", ev->ev_fd);
			return -1;
		}
		res = base->evsel->add(base->evbase, ev);
	}
	if (res != -1)
		event_queue_insert(base, ev, EVLIST_INSERTED);
	return res;
}

static int event_add_slow(struct event *, const struct timeval *);

/* The backend refused what event_add() had already recorded: undo it. */
static int __attribute__((noinline)) event_add_failed(struct event *ev)
{
	struct event_base *base = ev->ev_base;

	base->event_count--;
	ev->ev_flags &= ~EVLIST_INSERTED;
	return -1;
}

int
event_add(struct event *ev, const struct timeval *tv)
{
	struct event_base *base;

	/*
	 * The common case, kept apart so it stays short: (re)registering a
	 * set, valid, non-internal I/O event that is not added yet, without
	 * a timeout.  Its bookkeeping is done before the backend is called,
	 * so that nothing but ev must survive the call.
	 */
	if (tv == NULL && ev != NULL &&
	    (ev->ev_flags &
		(~EVLIST_ALL | EVLIST_INIT | EVLIST_INSERTED |
		    EVLIST_INTERNAL)) == EVLIST_INIT &&
	    (base = ev->ev_base) != NULL &&
	    (ev->ev_events & (EV_READ | EV_WRITE | EV_SIGNAL)) != 0 &&
	    !(ev->ev_events & EV_SIGNAL) && ev->ev_fd >= 0) {
		/* event_queue_insert(), its checks already made above. */
		base->event_count++;
		ev->ev_flags |= EVLIST_INSERTED;
		if (base->evsel->add(base->evbase, ev) != 0)
			return event_add_failed(ev);
		return 0;
	}
	return event_add_slow(ev, tv);
}

/* Everything else event_add() does: checks, signals, timeouts. */
static int __attribute__((noinline))
event_add_slow(struct event *ev, const struct timeval *tv)
{
	struct event_base *base;
	struct timeval now;

	if (!event_usable(ev, "event_add"))
		return -1;
	base = ev->ev_base;
	/* A timer must never fire early: a fresh reading, or no timer. */
	if (tv != NULL && read_clock(base, &now) == -1) {
		event_warn("%s: cannot read the clock", __func__);
		return -1;
	}

	/* Reserve heap room first so a failure leaves nothing half done. */
	if (tv != NULL && !(ev->ev_flags & EVLIST_TIMEOUT) &&
	    min_heap_reserve(&base->timeheap, base->timeheap.n + 1) == -1) {
		event_warn("%s: no memory for the timer", __func__);
		return -1;
	}

	if ((ev->ev_events & (EV_READ | EV_WRITE | EV_SIGNAL)) &&
	    !(ev->ev_flags & EVLIST_INSERTED)) {
		if (register_fd_or_signal(base, ev) == -1)
			return -1;
	}

	if (tv != NULL) {
		if (ev->ev_flags & EVLIST_TIMEOUT)
			event_queue_remove(base, ev, EVLIST_TIMEOUT);
		/*
		 * A timeout-only event already active for EV_TIMEOUT would
		 * run twice; 1.4 took it off the active queue and kept its
		 * pending callback count from running it again.
		 */
		if ((ev->ev_flags & EVLIST_ACTIVE) &&
		    (ev->ev_res & EV_TIMEOUT)) {
			if (ev->ev_ncalls && ev->ev_pncalls)
				*ev->ev_pncalls = 0;
			event_queue_remove(base, ev, EVLIST_ACTIVE);
		}
		deadline_after(&now, tv, &ev->ev_timeout);
		min_heap_push(&base->timeheap, ev, tv_to_usec(&ev->ev_timeout));
		event_queue_insert(base, ev, EVLIST_TIMEOUT);
	}
	return 0;
}

static int event_del_slow(struct event *);

int
event_del(struct event *ev)
{
	struct event_base *base;

	/*
	 * The common case: an added, non-internal I/O event (an added signal
	 * event has EVLIST_SIGNAL) with no timeout, not active.  Only
	 * event_add() sets EVLIST_INSERTED, and only with a base.
	 */
	if (ev != NULL &&
	    (ev->ev_flags &
		(EVLIST_INSERTED | EVLIST_TIMEOUT | EVLIST_ACTIVE |
		    EVLIST_INTERNAL | EVLIST_SIGNAL)) == EVLIST_INSERTED &&
	    ev->ev_ncalls == 0) {
		base = ev->ev_base;
		/* event_queue_remove(), its checks already made above. */
		base->event_count--;
		ev->ev_flags &= ~EVLIST_INSERTED;
		return base->evsel->del(base->evbase, ev);
	}
	return event_del_slow(ev);
}

/* Everything else event_del() does: timers, active events, signals. */
static int __attribute__((noinline)) event_del_slow(struct event *ev)
{
	struct event_base *base;
	int res = 0;

	if (ev == NULL || ev->ev_base == NULL)
		return -1;
	base = ev->ev_base;

	/*
	 * Stop a signal callback that is being repeated.  The pointer is
	 * into the running loop's frame: forget it, so that no later call
	 * writes there after that loop has returned.
	 */
	if (ev->ev_ncalls && ev->ev_pncalls) {
		*ev->ev_pncalls = 0;
		ev->ev_pncalls = NULL;
		ev->ev_ncalls = 0;
	}

	if (ev->ev_flags & EVLIST_TIMEOUT)
		event_queue_remove(base, ev, EVLIST_TIMEOUT);
	if (ev->ev_flags & EVLIST_ACTIVE)
		event_queue_remove(base, ev, EVLIST_ACTIVE);
	if (ev->ev_flags & EVLIST_INSERTED) {
		event_queue_remove(base, ev, EVLIST_INSERTED);
		if (ev->ev_events & EV_SIGNAL)
			res = ev__sig_del(ev);
		else
			res = base->evsel->del(base->evbase, ev);
	}
	return res;
}

void
ev__activate(struct event *ev, int res, short ncalls)
{
	struct event_base *base;

	/* Already active: merge the new reasons into the pending call. */
	if (ev->ev_flags & EVLIST_ACTIVE) {
		ev->ev_res |= res;
		return;
	}
	base = ev->ev_base;
	ev->ev_res = res;
	ev->ev_ncalls = ncalls;
	ev->ev_pncalls = NULL;
	ev->ev_flags |= EVLIST_ACTIVE;
	base->event_count_active++;
	TAILQ_INSERT_TAIL(base->activequeues[ev->ev_pri], ev, ev_active_next);
}

void
event_active(struct event *ev, int res, short ncalls)
{
	if (!event_usable(ev, __func__))
		return;
	ev__activate(ev, res, ncalls);
}

int
event_pending(struct event *ev, short event, struct timeval *tv)
{
	struct timeval now, wall, left;
	int flags = 0;

	if (ev == NULL)
		return 0;
	if (ev->ev_flags & EVLIST_INSERTED)
		flags |= (ev->ev_events & (EV_READ | EV_WRITE | EV_SIGNAL));
	if (ev->ev_flags & EVLIST_ACTIVE)
		flags |= ev->ev_res;
	if (ev->ev_flags & EVLIST_TIMEOUT)
		flags |= EV_TIMEOUT;

	event &= (EV_TIMEOUT | EV_READ | EV_WRITE | EV_SIGNAL);

	/* Report the expiry on the wall clock, as programs expect. */
	if (tv != NULL && (flags & event & EV_TIMEOUT)) {
		gettimeofday(&wall, NULL);
		if (read_clock(ev->ev_base, &now) == 0 &&
		    evutil_timercmp(&ev->ev_timeout, &now, >))
			evutil_timersub(&ev->ev_timeout, &now, &left);
		else
			evutil_timerclear(&left);
		evutil_timeradd(&wall, &left, tv);
	}
	return flags & event;
}

/* ---- event_once and loopexit ----------------------------------------- */

struct event_once {
	struct event ev;
	void (*cb)(int, short, void *);
	void *arg;
};

static void
event_once_cb(int fd, short events, void *arg)
{
	struct event_once *eonce = arg;

	eonce->cb(fd, events, eonce->arg);
	ev__free(eonce);
}

int
event_once(int fd, short events, void (*callback)(int, short, void *),
    void *arg, const struct timeval *tv)
{
	return event_base_once(current_base, fd, events, callback, arg, tv);
}

int
event_base_once(struct event_base *base, int fd, short events,
    void (*callback)(int, short, void *), void *arg, const struct timeval *tv)
{
	struct event_once *eonce;
	struct timeval zero;

	if (base == NULL || callback == NULL)
		return -1;
	/* Signals and persistence make no sense for a one-shot. */
	if (events & (EV_SIGNAL | EV_PERSIST))
		return -1;
	if ((eonce = ev__calloc(1, sizeof(*eonce))) == NULL) {
		event_warn("%s: calloc", __func__);
		return -1;
	}
	eonce->cb = callback;
	eonce->arg = arg;

	if (events == EV_TIMEOUT || events == 0) {
		if (tv == NULL) {
			evutil_timerclear(&zero);
			tv = &zero;
		}
		evtimer_set(&eonce->ev, event_once_cb, eonce);
	} else if (events & (EV_READ | EV_WRITE)) {
		events &= EV_READ | EV_WRITE;
		event_set(&eonce->ev, fd, events, event_once_cb, eonce);
	} else {
		ev__free(eonce);
		return -1;
	}
	event_base_set(base, &eonce->ev);
	if (event_add(&eonce->ev, tv) == -1) {
		ev__free(eonce);
		return -1;
	}
	return 0;
}

static void
loopexit_cb(int fd, short what, void *arg)
{
	struct event_base *base = arg;

	base->event_gotterm = 1;
}

int
event_loopexit(const struct timeval *tv)
{
	return event_base_loopexit(current_base, tv);
}

int
event_base_loopexit(struct event_base *base, const struct timeval *tv)
{
	if (base == NULL)
		return -1;
	return event_base_once(base, -1, EV_TIMEOUT, loopexit_cb, base, tv);
}

int
event_loopbreak(void)
{
	return event_base_loopbreak(current_base);
}

int
event_base_loopbreak(struct event_base *base)
{
	if (base == NULL)
		return -1;
	__atomic_store_n(&base->event_break, 1, __ATOMIC_SEQ_CST);
	/*
	 * Only a loop blocked in its backend needs waking: from a callback
	 * (in_dispatch clear) the flag alone stops the loop.  The loop sets
	 * in_dispatch before it checks event_break, so one of the two sides
	 * always sees the other.
	 */
	if (__atomic_load_n(&base->in_dispatch, __ATOMIC_SEQ_CST))
		ev__sig_wakeup(base);
	return 0;
}

/* ---- The loop -------------------------------------------------------- */

/*
 * event_break and in_dispatch are the two fields another thread touches
 * (through event_base_loopbreak()), so the loop reads and writes them
 * atomically too; a plain access would be a data race.
 */
static int
stop_requested(struct event_base *base)
{
	return __atomic_load_n(&base->event_break, __ATOMIC_RELAXED);
}

static void
leave_dispatch(struct event_base *base)
{
	__atomic_store_n(&base->in_dispatch, 0, __ATOMIC_SEQ_CST);
}

/* How long the backend may block: until the earliest timer, or forever. */
static void
timeout_next(struct event_base *base, struct timeval **tv_p)
{
	struct min_heap_entry *top = min_heap_top(&base->timeheap);
	struct timeval now;
	int64_t left;

	if (top == NULL) {
		*tv_p = NULL;
		return;
	}
	if (read_clock(base, &now) == -1) {
		evutil_timerclear(*tv_p);
		return;
	}
	left = top->when - tv_to_usec(&now);
	if (left <= 0) {
		evutil_timerclear(*tv_p);
		return;
	}
	(*tv_p)->tv_sec = (time_t)(left / 1000000);
	(*tv_p)->tv_usec = (suseconds_t)(left % 1000000);
}

/* Activate every timer that has expired; the clock is read once for all. */
static void
timeout_process(struct event_base *base)
{
	struct min_heap_entry *top;
	struct timeval now;
	int64_t nowus;
	struct event *ev;

	/* No time, no expiry: a later turn (which will not block) retries. */
	if (read_clock(base, &now) == -1)
		return;
	nowus = tv_to_usec(&now);
	while ((top = min_heap_top(&base->timeheap)) != NULL &&
	    top->when <= nowus) {
		ev = top->ev;
		/* As in 1.4, an expired event is deleted, then run once. */
		event_del(ev);
		ev__activate(ev, EV_TIMEOUT, 1);
	}
}

/*
 * Run ev's callback ncalls times (a signal that arrived several times).
 * event_del() from a callback zeroes the count through ev_pncalls to stop
 * the repeats.  Returns non-zero when the loop must stop.  Out of line, so
 * that the usual single call keeps no counter in memory.
 */
static int __attribute__((noinline))
run_repeats(struct event_base *base, struct event *ev, short ncalls)
{
	ev->ev_pncalls = &ncalls;
	while (ncalls) {
		ncalls--;
		ev->ev_ncalls = ncalls;
		if (ncalls == 0)
			ev->ev_pncalls = NULL;
		(*ev->ev_callback)(ev->ev_fd, (short)ev->ev_res, ev->ev_arg);
		if (event_gotsig || stop_requested(base)) {
			/* ev may be gone; it must not point at us. */
			if (ncalls)
				ev->ev_pncalls = NULL;
			return 1;
		}
	}
	return 0;
}

/*
 * Run the callbacks of the most urgent non-empty queue.  Lower-priority
 * queues wait for a later turn, which is how 1.4 let urgent events starve
 * the rest.
 */
static void
event_process_active(struct event_base *base)
{
	struct event_list *activeq;
	struct event *ev;
	int i;

	for (i = 0; TAILQ_EMPTY(activeq = base->activequeues[i]); i++)
		if (i + 1 >= base->nactivequeues)
			return;

	while ((ev = TAILQ_FIRST(activeq)) != NULL) {
		if (ev->ev_events & EV_PERSIST) {
			/* event_queue_remove(), knowing ev is on activeq. */
			ev->ev_flags &= ~EVLIST_ACTIVE;
			base->event_count_active--;
			TAILQ_REMOVE(activeq, ev, ev_active_next);
		} else {
			event_del(ev);
		}

		if (ev->ev_ncalls != 1) {
			if (run_repeats(base, ev, ev->ev_ncalls))
				return;
			continue;
		}
		/* The usual case: one call, nothing to repeat. */
		ev->ev_ncalls = 0;
		(*ev->ev_callback)(ev->ev_fd, (short)ev->ev_res, ev->ev_arg);
		if (event_gotsig || stop_requested(base))
			return;
	}
}

static int
run_legacy_sigcb(void)
{
	while (event_gotsig) {
		event_gotsig = 0;
		if (event_sigcb != NULL && (*event_sigcb)() == -1) {
			errno = EINTR;
			return -1;
		}
	}
	return 0;
}

int
event_dispatch(void)
{
	return event_loop(0);
}

int
event_base_dispatch(struct event_base *base)
{
	return event_base_loop(base, 0);
}

int
event_loop(int flags)
{
	return event_base_loop(current_base, flags);
}

int
event_base_loop(struct event_base *base, int flags)
{
	const struct eventop *evsel;
	struct timeval tv, *tv_p;
	int res;

	if (base == NULL) {
		event_warnx("%s: no event base (call event_init())", __func__);
		return -1;
	}
	evsel = base->evsel;

	for (;;) {
		__atomic_store_n(&base->in_dispatch, 1, __ATOMIC_SEQ_CST);
		if (base->event_gotterm) {
			base->event_gotterm = 0;
			break;
		}
		if (__atomic_load_n(&base->event_break, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&base->event_break, 0,
			    __ATOMIC_RELAXED);
			break;
		}
		if (event_gotsig && run_legacy_sigcb() == -1) {
			leave_dispatch(base);
			return -1;
		}

		if (!base->use_monotonic)
			timeout_correct(base, &tv);
		tv_p = &tv;
		if (base->event_count_active || (flags & EVLOOP_NONBLOCK))
			evutil_timerclear(&tv);
		else
			timeout_next(base, &tv_p);

		/* Nothing left that could ever fire: the loop is done. */
		if (base->event_count <= 0 && base->event_count_active <= 0) {
			leave_dispatch(base);
			return 1;
		}

		res = evsel->dispatch(base, base->evbase, tv_p);
		leave_dispatch(base);
		if (res == -1)
			return -1;

		if (__atomic_load_n(&base->sig_any_caught, __ATOMIC_ACQUIRE))
			ev__sig_process(base);
		/* The clock is read after the wait only if a timer waits. */
		if (!min_heap_empty(&base->timeheap))
			timeout_process(base);

		if (base->event_count_active) {
			event_process_active(base);
			if (!base->event_count_active && (flags & EVLOOP_ONCE))
				break;
		} else if (flags & EVLOOP_NONBLOCK) {
			break;
		}
	}
	leave_dispatch(base);
	return 0;
}
