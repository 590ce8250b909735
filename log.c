/*
 * log.c: formats the library's messages and delivers them to the program's
 * log callback (event_set_log_callback) or to stderr.
 *
 * The callback is the one piece of process-wide state here; 1.4's API makes
 * it global.  Threads running their own bases log concurrently, so the
 * pointer is stored and loaded atomically (a program may set it while they
 * run); the callback itself must then be safe to call from any thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"

static event_log_cb log_fn;

void
event_set_log_callback(event_log_cb cb)
{
	__atomic_store_n(&log_fn, cb, __ATOMIC_RELEASE);
}

static void
emit(int severity, const char *msg)
{
	event_log_cb fn = __atomic_load_n(&log_fn, __ATOMIC_ACQUIRE);
	const char *what;

	if (fn != NULL) {
		fn(severity, msg);
		return;
	}
	switch (severity) {
	case _EVENT_LOG_DEBUG: what = "debug"; break;
	case _EVENT_LOG_MSG: what = "msg"; break;
	case _EVENT_LOG_WARN: what = "warn"; break;
	case _EVENT_LOG_ERR: what = "err"; break;
	default: what = "???"; break;
	}
	(void)fprintf(stderr, "[%s] %s\n", what, msg);
}

/* Format fmt into one message, appending ": strerror(errnum)" if errnum. */
static void
logv(int severity, int errnum, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len;

	if (fmt != NULL)
		(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	else
		buf[0] = '\0';
	if (errnum != 0) {
		len = strlen(buf);
		if (len < sizeof(buf) - 3)
			(void)snprintf(buf + len, sizeof(buf) - len, ": %s",
			    strerror(errnum));
	}
	emit(severity, buf);
}

void
event_err(int eval, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	logv(_EVENT_LOG_ERR, e, fmt, ap);
	va_end(ap);
	exit(eval);
}

void
event_warn(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	logv(_EVENT_LOG_WARN, e, fmt, ap);
	va_end(ap);
	errno = e;
}

void
event_errx(int eval, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	logv(_EVENT_LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(eval);
}

void
event_warnx(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	logv(_EVENT_LOG_WARN, 0, fmt, ap);
	va_end(ap);
	errno = e;
}

void
event_msgx(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	logv(_EVENT_LOG_MSG, 0, fmt, ap);
	va_end(ap);
	errno = e;
}

void
_event_debugx(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	logv(_EVENT_LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
	errno = e;
}
