/*
 * evutil.h: small portable helpers and fixed-width types, as libevent 1.4
 * declared them.  Programs use these to stay portable between systems; the
 * library uses them internally too.
 */
#ifndef _EVUTIL_H_
#define _EVUTIL_H_

#ifdef __cplusplus
extern "C" {
#endif

#include <event-config.h>
#ifdef _EVENT_HAVE_SYS_TIME_H
#include <sys/time.h>
#endif
#ifdef _EVENT_HAVE_STDINT_H
#include <stdint.h>
#elif defined(_EVENT_HAVE_INTTYPES_H)
#include <inttypes.h>
#endif
#ifdef _EVENT_HAVE_SYS_TYPES_H
#include <sys/types.h>
#endif
#include <stdarg.h>
#include <stddef.h>

/* Fixed-width integer types under the names 1.4 used. */
#define ev_uint64_t uint64_t
#define ev_int64_t  int64_t
#define ev_uint32_t uint32_t
#define ev_uint16_t uint16_t
#define ev_uint8_t  uint8_t

/**
 * Create a pair of connected sockets, like socketpair(2); family must be
 * AF_UNIX (or AF_INET, emulated over 127.0.0.1 where AF_UNIX is missing).
 * Returns 0, or -1 with errno set.
 */
int evutil_socketpair(int d, int type, int protocol, int sv[2]);

/** Put fd in non-blocking mode.  Returns 0, or -1 on failure. */
int evutil_make_socket_nonblocking(int sock);

/** Close a socket. */
#define EVUTIL_CLOSESOCKET(s) close(s)

/** The error number of the last failed socket call (errno here). */
#define EVUTIL_SOCKET_ERROR() (errno)
/** Set the socket error number (errno here). */
#define EVUTIL_SET_SOCKET_ERROR(errcode) \
	do { \
		errno = (errcode); \
	} while (0)

/* Timeval arithmetic, mirroring the BSD timer* macros. */
#ifdef _EVENT_HAVE_TIMERADD
#define evutil_timeradd(tvp, uvp, vvp) timeradd((tvp), (uvp), (vvp))
#define evutil_timersub(tvp, uvp, vvp) timersub((tvp), (uvp), (vvp))
#else
#define evutil_timeradd(tvp, uvp, vvp) \
	do { \
		(vvp)->tv_sec = (tvp)->tv_sec + (uvp)->tv_sec; \
		(vvp)->tv_usec = (tvp)->tv_usec + (uvp)->tv_usec; \
		if ((vvp)->tv_usec >= 1000000) { \
			(vvp)->tv_sec++; \
			(vvp)->tv_usec -= 1000000; \
		} \
	} while (0)
#define evutil_timersub(tvp, uvp, vvp) \
	do { \
		(vvp)->tv_sec = (tvp)->tv_sec - (uvp)->tv_sec; \
		(vvp)->tv_usec = (tvp)->tv_usec - (uvp)->tv_usec; \
		if ((vvp)->tv_usec < 0) { \
			(vvp)->tv_sec--; \
			(vvp)->tv_usec += 1000000; \
		} \
	} while (0)
#endif

#ifdef _EVENT_HAVE_TIMERCLEAR
#define evutil_timerclear(tvp) timerclear(tvp)
#else
#define evutil_timerclear(tvp) (tvp)->tv_sec = (tvp)->tv_usec = 0
#endif

/* cmp is one of <, >, ==, !=, <=, >=. */
#define evutil_timercmp(tvp, uvp, cmp) \
	(((tvp)->tv_sec == (uvp)->tv_sec) ? \
		((tvp)->tv_usec cmp(uvp)->tv_usec) : \
		((tvp)->tv_sec cmp(uvp)->tv_sec))

#ifdef _EVENT_HAVE_TIMERISSET
#define evutil_timerisset(tvp) timerisset(tvp)
#else
#define evutil_timerisset(tvp) ((tvp)->tv_sec || (tvp)->tv_usec)
#endif

/** Parse a 64-bit integer, like strtoll(3). */
ev_int64_t evutil_strtoll(const char *s, char **endptr, int base);

/** Get the wall-clock time, like gettimeofday(2). */
#define evutil_gettimeofday(tv, tz) gettimeofday((tv), (tz))

/**
 * Format into buf like snprintf(3), always NUL-terminating when buflen > 0.
 * Returns the length the whole output would have had, or -1 on error.
 */
int evutil_snprintf(char *buf, size_t buflen, const char *format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/** The va_list form of evutil_snprintf(). */
int evutil_vsnprintf(char *buf, size_t buflen, const char *format, va_list ap);

#ifdef __cplusplus
}
#endif

#endif /* _EVUTIL_H_ */
