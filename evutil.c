/*
 * evutil.c: portable helpers declared in evutil.h, plus ev__ helpers the
 * library shares internally (environment checks, array growth).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event-internal.h"
#include "evutil.h"
#include "log.h"
#include "mm-internal.h"

int
evutil_socketpair(int family, int type, int protocol, int fd[2])
{
	return socketpair(family, type, protocol, fd);
}

int
evutil_make_socket_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL, 0);

	if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		event_warn("fcntl(%d, F_SETFL)", fd);
		return -1;
	}
	return 0;
}

ev_int64_t
evutil_strtoll(const char *s, char **endptr, int base)
{
	return (ev_int64_t)strtoll(s, endptr, base);
}

int
evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
{
	int r;
	va_list ap;

	va_start(ap, format);
	r = evutil_vsnprintf(buf, buflen, format, ap);
	va_end(ap);
	return r;
}

int
evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap)
{
	int r;

	if (buflen == 0)
		return vsnprintf(NULL, 0, format, ap);
	r = vsnprintf(buf, buflen, format, ap);
	buf[buflen - 1] = '\0';
	return r;
}

static int
sys_issetugid(void)
{
#ifdef _EVENT_HAVE_ISSETUGID
	return issetugid();
#else
	return getuid() != geteuid() || getgid() != getegid();
#endif
}

int (*ev__issetugid)(void) = sys_issetugid;

int
ev__env_allowed(void)
{
	return !ev__issetugid();
}

int
ev__grow_array(void *parray, int *pn, int need, size_t elsize)
{
	void **array = parray;
	size_t n = (size_t)*pn, want;
	void *p;

	if (need <= *pn)
		return 0;
	want = n ? n : 32;
	while (want < (size_t)need)
		want *= 2;
	if (want > (size_t)0x7fffffff || want > SIZE_MAX / elsize) {
		event_warnx("%s: %d elements are too many", __func__, need);
		return -1;
	}
	p = ev__realloc(*array, want * elsize);
	if (p == NULL) {
		event_warn("%s: cannot allocate %zu bytes", __func__,
		    want * elsize);
		return -1;
	}
	memset((char *)p + n * elsize, 0, (want - n) * elsize);
	*array = p;
	*pn = (int)want;
	return 0;
}

void
ev__foreach_rw(const void *slots, int n, size_t size, size_t rd_off,
    size_t wr_off, void (*fn)(struct event *, void *), void *arg)
{
	const char *slot = slots;
	struct event *rd, *wr;
	int i;

	for (i = 0; i < n; i++, slot += size) {
		rd = *(struct event *const *)(const void *)(slot + rd_off);
		wr = *(struct event *const *)(const void *)(slot + wr_off);
		if (rd != NULL)
			fn(rd, arg);
		if (wr != NULL && wr != rd)
			fn(wr, arg);
	}
}
