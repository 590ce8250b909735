/*
 * sys/devpoll.h of the /dev/poll test double: the poll(7D) interface as
 * Solaris and illumos document it, for building devpoll.c on Linux.  Never
 * installed; the implementation is test/doubles/devpoll_double.c, reached
 * through the linker's --wrap of open, write, ioctl and close.
 */
#ifndef DOUBLES_SYS_DEVPOLL_H
#define DOUBLES_SYS_DEVPOLL_H

#include <poll.h>

#ifndef POLLREMOVE
#define POLLREMOVE 0x0800
#endif

struct dvpoll {
	struct pollfd *dp_fds;
	int dp_nfds;
	int dp_timeout;
};

#define DP_POLL	    (('D' << 8) | 1)
#define DP_ISPOLLED (('D' << 8) | 2)

#endif /* DOUBLES_SYS_DEVPOLL_H */
