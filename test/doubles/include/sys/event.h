/*
 * sys/event.h of the kqueue test double: the kqueue(2) interface as
 * FreeBSD documents it, for building kqueue.c on Linux.  Never installed;
 * the implementation is test/doubles/kqueue_double.c.
 */
#ifndef DOUBLES_SYS_EVENT_H
#define DOUBLES_SYS_EVENT_H

#include <stdint.h>
#include <time.h>

struct kevent {
	uintptr_t ident; /* fd, or signal number */
	short filter;
	unsigned short flags;
	unsigned int fflags;
	int64_t data;
	void *udata;
};

#define EV_SET(kevp, a, b, c, d, e, f) \
	do { \
		struct kevent *ev__kevp = (kevp); \
		ev__kevp->ident = (a); \
		ev__kevp->filter = (b); \
		ev__kevp->flags = (c); \
		ev__kevp->fflags = (d); \
		ev__kevp->data = (e); \
		ev__kevp->udata = (f); \
	} while (0)

#define EVFILT_READ   (-1)
#define EVFILT_WRITE  (-2)
#define EVFILT_SIGNAL (-6)

#define EV_ADD	   0x0001
#define EV_DELETE  0x0002
#define EV_ENABLE  0x0004
#define EV_DISABLE 0x0008
#define EV_ONESHOT 0x0010
#define EV_CLEAR   0x0020
#define EV_RECEIPT 0x0040
#define EV_ERROR   0x4000
#define EV_EOF	   0x8000

int kqueue(void);
int kevent(int kq, const struct kevent *changelist, int nchanges,
    struct kevent *eventlist, int nevents, const struct timespec *timeout);

#endif /* DOUBLES_SYS_EVENT_H */
