/*
 * event-internal.h: what the loop (event.c), the backends and signal.c share,
 * and nothing a program may see.
 *
 * The seam between the loop and the operating system is struct eventop: a
 * backend keeps its own per-fd state, is told about I/O events through
 * add/del, and reports readiness only through ev__activate().  Signal events
 * go to signal.c; a backend whose kernel watches signals itself (kqueue's
 * EVFILT_SIGNAL) sets sig_add/sig_del and hands arrival counts back
 * through ev__sig_deliver().
 *
 * Internal names start with "ev__" so the libraries' export filter keeps
 * them out of the public ABI.
 */
#ifndef EVENT_INTERNAL_H
#define EVENT_INTERNAL_H

#include <sys/queue.h>
#include <sys/time.h>
#include <signal.h>

#include "event.h"
#include "min_heap.h"

/* One backend.  The function signatures are those of libevent 1.4. */
struct eventop {
	const char *name;
	/* Create the backend state for a base, or NULL if unusable here. */
	void *(*init)(struct event_base *);
	/* Start watching ev->ev_fd for ev->ev_events (EV_READ/EV_WRITE). */
	int (*add)(void *, struct event *);
	/* Stop watching for ev; ev->ev_events still says what it had. */
	int (*del)(void *, struct event *);
	/* Wait up to tv (NULL: forever), then ev__activate() what is ready. */
	int (*dispatch)(struct event_base *, void *, struct timeval *);
	/* Free the backend state. */
	void (*dealloc)(struct event_base *, void *);
	/* Non-zero if the state cannot survive fork() (event_reinit rebuilds). */
	int need_reinit;
	/*
	 * Optional (NULL for most backends): start or stop watching signal
	 * sig in the kernel.  signal.c calls sig_add when the base's first
	 * event for sig is added (after installing its handler, so the
	 * default action cannot kill the process) and sig_del when the last
	 * one goes (before restoring the old handler).  Such a base never
	 * joins the handler's wake-up list: the kernel wakes it instead.
	 */
	int (*sig_add)(void *, int sig);
	int (*sig_del)(void *, int sig);
	/*
	 * Call fn(ev, arg) once for each I/O event the backend watches (the
	 * events its add accepted and its del has not taken back); fn must
	 * not add or delete events of this backend.  The loop keeps no list
	 * of its own of added I/O events, so that adding and deleting stays
	 * short: event_reinit() and event_base_free() find them here.
	 */
	void (*foreach)(void *, void (*fn)(struct event *, void *), void *);
};

struct event_base {
	const struct eventop *evsel;
	void *evbase; /* the backend's state */

	/*
	 * Non-internal events inserted or waiting on a timer (one count per
	 * list).  Unlike 1.4, active events are not counted here: the loop
	 * ends when this and event_count_active are both zero, which keeps
	 * activation free of the bookkeeping.
	 */
	int event_count;
	int event_count_active; /* events on the active queues */

	int event_gotterm;	  /* loopexit: stop after this turn */
	volatile int event_break; /* loopbreak: stop now */
	volatile int in_dispatch; /* blocked (or about to) in dispatch */

	/*
	 * One queue per priority, indexed by ev_pri.  The array always has
	 * EV__MAX_PRIORITIES entries: those from nactivequeues up point at
	 * the last queue, so an event whose priority was set before
	 * event_base_priority_init() lowered the count needs no clamping.
	 */
	struct event_list **activequeues;
	int nactivequeues;

	struct ev__signal_info *sig; /* signal.c's state (evsignal.h) */
	/* Set by the signal handler when any signal arrived for this base. */
	volatile sig_atomic_t sig_any_caught;

	struct event_list eventqueue; /* every inserted signal event */

	struct timeval event_tv; /* time before dispatch (clock jumps) */
	int use_monotonic;

	struct min_heap timeheap;
};

/*
 * signal.c's side of the loop: the per-base signal and wake-up state
 * (struct ev__signal_info, private to signal.c in evsignal.h) behind these
 * calls, so the loop needs nothing of signal.c but this seam.
 */
struct ev__signal_info;
/* Set up a base's socketpair and wake-up event.  Returns 0, or -1. */
int ev__sig_init(struct event_base *base);
/* Register a signal event (ev->ev_fd is the signal).  Returns 0, or -1. */
int ev__sig_add(struct event *ev);
/* Unregister a signal event; restores the old handler after the last one. */
int ev__sig_del(struct event *ev);
/* Activate the events of every signal caught since the last call. */
void ev__sig_process(struct event_base *base);
/* A backend's report that sig arrived count times (kqueue's EVFILT_SIGNAL). */
void ev__sig_deliver(struct event_base *base, int sig, int count);
/* Wake the base's loop from another thread or a signal handler. */
void ev__sig_wakeup(struct event_base *base);
/* After fork(): a fresh socketpair, the wake-up event added again. */
int ev__sig_reinit(struct event_base *base);
/* Remove every signal registration of the base and close its socketpair. */
void ev__sig_dealloc(struct event_base *base);

/* event_base_priority_init() accepts 1 to this many priorities. */
#define EV__MAX_PRIORITIES 256

/*
 * Make ev active with the flags res, ncalls times (signals may have been
 * delivered several times).  The only way a backend or signal.c reports
 * readiness.
 */
void ev__activate(struct event *ev, int res, short ncalls);

/*
 * ev__activate() for a backend's dispatch loop: ev is one of base's I/O
 * events, ready once.  Inline, because it runs once per ready fd.
 */
static inline void
ev__activate_io(struct event_base *base, struct event *ev, int res)
{
	struct event_list *q;

	/* Already active: merge the new reason into the pending call. */
	if (ev->ev_flags & EVLIST_ACTIVE) {
		ev->ev_res |= res;
		return;
	}
	ev->ev_res = res;
	ev->ev_ncalls = 1;
	ev->ev_pncalls = NULL;
	ev->ev_flags |= EVLIST_ACTIVE;
	base->event_count_active++;
	q = base->activequeues[ev->ev_pri];
	TAILQ_INSERT_TAIL(q, ev, ev_active_next);
}

/*
 * Grow an array of elsize-byte items so index need - 1 is valid; new items
 * are zeroed.  *pn is the current count.  Returns 0, or -1 on failure.
 */
int ev__grow_array(void *parray, int *pn, int need, size_t elsize);

/*
 * For eventop.foreach: call fn(ev, arg) once for each event of n per-fd
 * slots of size bytes each, whose struct event pointers for reading and
 * writing are at rd_off and wr_off (an event doing both comes once).
 */
void ev__foreach_rw(const void *slots, int n, size_t size, size_t rd_off,
    size_t wr_off, void (*fn)(struct event *, void *), void *arg);

/* True when the environment may be trusted (not setuid/setgid). */
int ev__env_allowed(void);

/*
 * Non-zero when the process runs with privileges it did not get from its
 * user (setuid/setgid): issetugid(), or the real and effective ids differ.
 * A pointer so tests can simulate such a program.
 */
extern int (*ev__issetugid)(void);

/*
 * The clocks the loop reads: CLOCK_MONOTONIC (fails with ENOSYS where the
 * system lacks it; a base then uses the wall clock for good) and
 * gettimeofday().  Pointers so tests can simulate a missing monotonic
 * clock or a wall clock that jumps.
 */
extern int (*ev__clock_monotonic)(struct timeval *);
extern int (*ev__clock_wall)(struct timeval *);

/* Backends compiled in, in the order of preference. */
#ifdef _EVENT_HAVE_EVENT_PORTS
extern const struct eventop ev__evportops;
#endif
#ifdef _EVENT_HAVE_WORKING_KQUEUE
extern const struct eventop ev__kqops;
#endif
#ifdef _EVENT_HAVE_EPOLL
extern const struct eventop ev__epollops;
#endif
#ifdef _EVENT_HAVE_DEVPOLL
extern const struct eventop ev__devpollops;
#endif
#ifdef _EVENT_HAVE_POLL
extern const struct eventop ev__pollops;
#endif
#ifdef _EVENT_HAVE_SELECT
extern const struct eventop ev__selectops;
#endif

#endif /* EVENT_INTERNAL_H */
