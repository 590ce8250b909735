/*
 * devpoll_double.c: the /dev/poll driver in user space, on poll(2),
 * following Solaris/illumos poll(7D).  The program reaches it through the
 * linker's --wrap of open, write and ioctl (see fdwrap.c):
 *
 *  - open("/dev/poll") gives a new, empty set.
 *  - write() of an array of struct pollfd adds each fd to the set; an fd
 *    already in the set gets the new events ORed into its old ones, and
 *    POLLREMOVE removes it.  A length that is not a whole number of
 *    entries fails with EINVAL.  Negative fds are skipped, as poll() does.
 *  - ioctl(DP_POLL) waits dp_timeout ms (-1: forever, 0: not at all) until
 *    an fd of the set is ready, and returns how many entries it wrote to
 *    dp_fds (fd, the events asked for, revents), at most dp_nfds;
 *    dp_nfds at or above the open-file limit fails with EINVAL.  The set
 *    is keyed by fd number: a closed fd shows POLLNVAL, a reused number is
 *    polled as the new file.  A signal handler running during the wait
 *    makes it fail with EINTR.
 *  - ioctl(DP_ISPOLLED) returns 1 and the watched events in revents if
 *    the fd is in the set, else 0.  Other requests fail with EINVAL.
 *  - After fork(), write and ioctl by the child fail with EACCES.
 *
 * Not modelled, so untested here: partial writes and the errors a real
 * write() may give for an entry (the double takes any fd number and lets
 * DP_POLL report POLLNVAL), the order of results, polling the /dev/poll fd
 * itself (POLLERR on Solaris), open flags (an O_RDONLY handle still takes
 * writes), any path but "/dev/poll", and ENOMEM or EFAULT from the kernel
 * (dbl_fail() injects them).  The fd limit is RLIMIT_NOFILE's soft value.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/devpoll.h>

#include "doubles.h"

/* Handles are marked here so the wrapped write() can tell without the lock
 * (signal handlers call write()). */
#define DP_MAXFD 4096

struct dpset {
	struct dpset *next;
	int fd, wfd;
	pid_t pid;
	struct pollfd *set;
	int n, a;
};

static struct dpset *sets;
static unsigned char is_dp[DP_MAXFD];

static struct dpset *
find_set(int fd)
{
	struct dpset *dp;

	if (fd < 0 || fd >= DP_MAXFD ||
	    !__atomic_load_n(&is_dp[fd], __ATOMIC_ACQUIRE))
		return NULL;
	for (dp = sets; dp != NULL; dp = dp->next)
		if (dp->fd == fd)
			return dp;
	return NULL;
}

int
dbl__dp_open(const char *path, int flags)
{
	struct dpset *dp;
	int fds[2], err;

	if (path == NULL || strcmp(path, "/dev/poll") != 0)
		return -2;
	dbl__lock();
	err = dbl__fault(DBL_DP_OPEN);
	if (err == 0 && (dp = calloc(1, sizeof(*dp))) == NULL)
		err = ENOMEM;
	if (err == 0 && dbl__handle(fds) == -1) {
		err = errno;
		free(dp);
	}
	if (err == 0 && fds[0] >= DP_MAXFD) {
		__real_close(fds[0]);
		__real_close(fds[1]);
		free(dp);
		err = EMFILE;
	}
	if (err != 0) {
		dbl__unlock();
		errno = err;
		return -1;
	}
	dp->fd = fds[0];
	dp->wfd = fds[1];
	dp->pid = getpid();
	dp->next = sets;
	sets = dp;
	__atomic_store_n(&is_dp[dp->fd], 1, __ATOMIC_RELEASE);
	dbl__unlock();
	return dp->fd;
}

static int
find_entry(const struct dpset *dp, int fd)
{
	int i;

	for (i = 0; i < dp->n; i++)
		if (dp->set[i].fd == fd)
			return i;
	return -1;
}

static int
add_entries(struct dpset *dp, const struct pollfd *in, size_t count)
{
	size_t k;
	int i;

	for (k = 0; k < count; k++) {
		if (in[k].fd < 0)
			continue;
		i = find_entry(dp, in[k].fd);
		if (in[k].events & POLLREMOVE) {
			if (i >= 0)
				dp->set[i] = dp->set[--dp->n];
			continue;
		}
		if (i >= 0) {
			dp->set[i].events |= in[k].events;
			continue;
		}
		if (dp->n == dp->a) {
			int a = dp->a ? 2 * dp->a : 16;
			struct pollfd *more = realloc(dp->set,
			    (size_t)a * sizeof(*more));
			if (more == NULL)
				return ENOMEM;
			dp->set = more;
			dp->a = a;
		}
		dp->set[dp->n].fd = in[k].fd;
		dp->set[dp->n].events = in[k].events;
		dp->set[dp->n].revents = 0;
		dp->n++;
	}
	return 0;
}

ssize_t
dbl__dp_write(int fd, const void *buf, size_t len)
{
	struct dpset *dp;
	int err;

	/* Lock-free first: most writes are not ours. */
	if (fd < 0 || fd >= DP_MAXFD ||
	    !__atomic_load_n(&is_dp[fd], __ATOMIC_ACQUIRE))
		return -2;
	dbl__lock();
	if ((dp = find_set(fd)) == NULL) {
		dbl__unlock();
		return -2;
	}
	if (dp->pid != getpid())
		err = EACCES;
	else if ((err = dbl__fault(DBL_DP_WRITE)) == 0 &&
	    len % sizeof(struct pollfd) != 0)
		err = EINVAL;
	if (err == 0)
		err = add_entries(dp, buf, len / sizeof(struct pollfd));
	dbl__unlock();
	if (err != 0) {
		errno = err;
		return -1;
	}
	return (ssize_t)len;
}

/* DP_POLL, with the lock held (dropped around the wait). */
static int
dp_poll(struct dpset *dp, struct dvpoll *dvp)
{
	struct pollfd *copy;
	struct rlimit rl;
	int n, i, k = 0, err;

	if ((err = dbl__fault(DBL_DP_POLL)) != 0)
		return -err;
	if (dvp->dp_nfds < 0 ||
	    (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		rl.rlim_cur != RLIM_INFINITY &&
		(rlim_t)dvp->dp_nfds >= rl.rlim_cur))
		return -EINVAL;
	n = dp->n;
	if ((copy = calloc((size_t)n + 1, sizeof(*copy))) == NULL)
		return -ENOMEM;
	memcpy(copy, dp->set, (size_t)n * sizeof(*copy));
	copy[n].fd = dp->fd; /* wakes a blocked wait on close */
	copy[n].events = POLLIN;
	dbl__unlock();
	i = poll(copy, (nfds_t)n + 1,
	    dvp->dp_timeout < 0 ? -1 : dvp->dp_timeout);
	err = errno;
	dbl__lock();
	if (i == -1) {
		free(copy);
		return -err;
	}
	for (i = 0; i < n && k < dvp->dp_nfds; i++) {
		if (copy[i].revents == 0)
			continue;
		dvp->dp_fds[k++] = copy[i];
	}
	free(copy);
	return k;
}

int
dbl__dp_ioctl(int fd, unsigned long req, void *arg)
{
	struct dpset *dp;
	struct pollfd *pfd;
	int res, i;

	if (fd < 0 || fd >= DP_MAXFD ||
	    !__atomic_load_n(&is_dp[fd], __ATOMIC_ACQUIRE))
		return -2;
	dbl__lock();
	if ((dp = find_set(fd)) == NULL) {
		dbl__unlock();
		return -2;
	}
	if (dp->pid != getpid()) {
		res = -EACCES;
	} else if (req == (unsigned long)DP_POLL) {
		res = dp_poll(dp, arg);
	} else if (req == (unsigned long)DP_ISPOLLED) {
		pfd = arg;
		i = find_entry(dp, pfd->fd);
		res = i >= 0;
		pfd->events = 0;
		pfd->revents = i >= 0 ? dp->set[i].events : 0;
	} else {
		res = -EINVAL;
	}
	dbl__unlock();
	if (res < 0) {
		errno = -res;
		return -1;
	}
	return res;
}

void
dbl__dp_closing(int fd)
{
	struct dpset **pp, *dp;

	if (fd < 0 || fd >= DP_MAXFD ||
	    !__atomic_load_n(&is_dp[fd], __ATOMIC_ACQUIRE))
		return;
	dbl__lock();
	for (pp = &sets; (dp = *pp) != NULL; pp = &dp->next) {
		if (dp->fd == fd) {
			*pp = dp->next;
			__atomic_store_n(&is_dp[fd], 0, __ATOMIC_RELEASE);
			__real_close(dp->wfd);
			free(dp->set);
			free(dp);
			break;
		}
	}
	dbl__unlock();
}
