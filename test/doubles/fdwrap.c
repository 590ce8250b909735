/*
 * fdwrap.c: what the three doubles share: the wrapped close, open, write
 * and ioctl (the linker's --wrap sends the program's calls here), fault
 * injection, the lock and the time helpers.
 */
#define _GNU_SOURCE /* pipe2 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "doubles.h"

static pthread_mutex_t dbl_mutex = PTHREAD_MUTEX_INITIALIZER;
static int fail_err[DBL_NCALLS];
static int fail_times[DBL_NCALLS];
static unsigned long ncalls[DBL_NCALLS];

void
dbl__lock(void)
{
	pthread_mutex_lock(&dbl_mutex);
}

void
dbl__unlock(void)
{
	pthread_mutex_unlock(&dbl_mutex);
}

void
dbl_fail(enum dbl_call call, int err, int times)
{
	dbl__lock();
	fail_err[call] = err;
	fail_times[call] = times;
	dbl__unlock();
}

unsigned long
dbl_calls(enum dbl_call call)
{
	unsigned long n;

	dbl__lock();
	n = ncalls[call];
	dbl__unlock();
	return n;
}

void
dbl_reset(void)
{
	int i;

	dbl__lock();
	for (i = 0; i < DBL_NCALLS; i++)
		fail_times[i] = 0;
	dbl__unlock();
	dbl_kqueue_set_broken(0);
}

/* Called with the lock held. */
int
dbl__fault(enum dbl_call call)
{
	ncalls[call]++;
	if (fail_times[call] == 0)
		return 0;
	if (fail_times[call] > 0)
		fail_times[call]--;
	return fail_err[call];
}

int
dbl__handle(int fds[2])
{
	return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

/*
 * One read, not a loop until EAGAIN: a signal handler that writes to fd
 * during each read (a signal storm) would keep the loop going forever.
 * What is left only makes the next wait return at once.
 */
void
dbl__drain(int fd)
{
	char buf[1024];
	ssize_t n;

	n = read(fd, buf, sizeof(buf));
	(void)n;
}

int
dbl__deadline(const struct timespec *ts, struct timespec **deadline,
    struct timespec *store)
{
	if (ts == NULL) {
		*deadline = NULL;
		return 0;
	}
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, store);
	store->tv_sec += ts->tv_sec;
	store->tv_nsec += ts->tv_nsec;
	if (store->tv_nsec >= 1000000000) {
		store->tv_sec++;
		store->tv_nsec -= 1000000000;
	}
	*deadline = store;
	return 0;
}

int
dbl__ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	if (deadline == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (ms < 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- The wrapped calls ---- */

int __wrap_close(int fd);
int __wrap_open(const char *path, int flags, ...);
ssize_t __wrap_write(int fd, const void *buf, size_t len);
int __wrap_ioctl(int fd, unsigned long req, ...);

int
__wrap_close(int fd)
{
	dbl__kq_closing(fd);
	dbl__dp_closing(fd);
	dbl__port_closing(fd);
	return __real_close(fd);
}

int
__wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;
	int fd;

	if ((fd = dbl__dp_open(path, flags)) != -2)
		return fd;
	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return __real_open(path, flags, mode);
}

ssize_t
__wrap_write(int fd, const void *buf, size_t len)
{
	ssize_t n = dbl__dp_write(fd, buf, len);

	return n != -2 ? n : __real_write(fd, buf, len);
}

int
__wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int n;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if ((n = dbl__dp_ioctl(fd, req, arg)) != -2)
		return n;
	return __real_ioctl(fd, req, arg);
}
