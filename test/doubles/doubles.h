/*
 * doubles.h: what the tests may ask of the OS doubles, and what the three
 * doubles share.
 *
 * The doubles (kqueue_double.c, devpoll_double.c, port_double.c) implement
 * the BSD and Solaris event interfaces in user space on top of poll(2) and
 * sigaction(2).  Each kernel object is a pipe whose read end is the
 * descriptor handed to the program, so it is a real fd that close()
 * releases and that no other file can share; the write end wakes a wait.
 * The program is linked with --wrap=close (and for /dev/poll with
 * --wrap=open,write,ioctl), so closing a watched fd drops what the kernel
 * would drop, and open("/dev/poll") reaches the double.
 *
 * Faults: dbl_fail() makes the next calls of one kind fail with an errno,
 * so tests can check that a backend returns -1 with a log line instead of
 * spinning; dbl_calls() counts calls.
 */
#ifndef DOUBLES_H
#define DOUBLES_H

#include <sys/types.h>

enum dbl_call {
	DBL_KQUEUE,
	DBL_KEVENT,
	DBL_DP_OPEN,
	DBL_DP_WRITE,
	DBL_DP_POLL,
	DBL_PORT_CREATE,
	DBL_PORT_ASSOCIATE,
	DBL_PORT_GETN,
	DBL_NCALLS
};

/* The next times calls of kind call fail with err (times -1: all). */
void dbl_fail(enum dbl_call call, int err, int times);
/* Calls of kind call made so far (failed ones included). */
unsigned long dbl_calls(enum dbl_call call);
/* Forget injected faults. */
void dbl_reset(void);
/*
 * A kqueue like the broken macOS one 1.4 guarded against: a change that
 * fails makes kevent() fail as a whole instead of landing in the list.
 */
void dbl_kqueue_set_broken(int broken);

/* ---- Shared by the doubles, not for tests ---- */

/* Count a call of kind call; returns the errno to fail with, or 0. */
int dbl__fault(enum dbl_call call);
/* The doubles' lock (not taken in signal handlers). */
void dbl__lock(void);
void dbl__unlock(void);
/* A new handle: a non-blocking pipe, read end returned in fds[0]. */
int dbl__handle(int fds[2]);
/* poll() timeout in ms for what is left until deadline (-1: none). */
int dbl__ms_left(const struct timespec *deadline);
/* *deadline = now + ts (ts NULL: no deadline).  -1 if ts is invalid. */
int dbl__deadline(const struct timespec *ts, struct timespec **deadline,
    struct timespec *store);
/* Empty a handle's wake-up pipe. */
void dbl__drain(int fd);

/* Each double's part of close(): forget fd as a handle or a watched fd. */
void dbl__kq_closing(int fd);
void dbl__dp_closing(int fd);
void dbl__port_closing(int fd);
/* Each double's part of open/write/ioctl; -2 means "not mine". */
int dbl__dp_open(const char *path, int flags);
ssize_t dbl__dp_write(int fd, const void *buf, size_t len);
int dbl__dp_ioctl(int fd, unsigned long req, void *arg);

/* The real calls behind the wrapped ones. */
int __real_close(int fd);
int __real_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t len);
int __real_ioctl(int fd, unsigned long req, ...);

#endif /* DOUBLES_H */
