/*
 * evsignal.h: the per-base signal and wake-up state kept by signal.c.
 *
 * Every base owns a socketpair.  Its read end is an internal persistent read
 * event of the base, so a byte written to the other end wakes a loop blocked
 * in its backend: the signal handler writes one when a signal the base
 * watches arrives, and event_base_loopbreak() writes one from other threads.
 */
#ifndef EVSIGNAL_H
#define EVSIGNAL_H

#include <sys/queue.h>
#include <signal.h>

#include "event.h"

#ifdef NSIG
#define EV__NSIG NSIG
#else
#define EV__NSIG 65
#endif

struct event_base;

/* A base's place in the process-wide list of watchers of one signal. */
struct ev__sig_watcher {
	struct ev__sig_watcher *next;
	struct event_base *base;
};

struct ev__signal_info {
	struct event ev_wakeup; /* internal read event on pair[1] */
	int pair[2];		/* [0] written by handler, [1] read */
	int wakeup_added;
	/* Events per signal, linked through ev_signal_next. */
	struct event_list evsigevents[EV__NSIG];
	struct ev__sig_watcher watchers[EV__NSIG];
	volatile sig_atomic_t caught[EV__NSIG]; /* arrivals since last look */
};

#endif /* EVSIGNAL_H */
