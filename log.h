/*
 * log.h: the library's messages.  Every one goes through log.c, which hands
 * it to the program's event_set_log_callback() callback or, without one,
 * prints it to stderr.  The _warn/_err forms append strerror(errno).
 *
 * The names are libevent 1.4's; 1.4 exported them without declaring them
 * publicly, and some programs call them, so they stay exported.
 */
#ifndef LOG_H
#define LOG_H

#ifdef __GNUC__
#define EV_CHECK_FMT(a, b) __attribute__((format(printf, a, b)))
#define EV_NORETURN	   __attribute__((noreturn))
#else
#define EV_CHECK_FMT(a, b)
#define EV_NORETURN
#endif

/* Log at _EVENT_LOG_ERR with strerror(errno), then exit(eval). */
void event_err(int eval, const char *fmt, ...) EV_CHECK_FMT(2, 3) EV_NORETURN;
/* Log at _EVENT_LOG_WARN with strerror(errno). */
void event_warn(const char *fmt, ...) EV_CHECK_FMT(1, 2);
/* Log at _EVENT_LOG_ERR, then exit(eval). */
void event_errx(int eval, const char *fmt, ...) EV_CHECK_FMT(2, 3) EV_NORETURN;
/* Log at _EVENT_LOG_WARN. */
void event_warnx(const char *fmt, ...) EV_CHECK_FMT(1, 2);
/* Log at _EVENT_LOG_MSG. */
void event_msgx(const char *fmt, ...) EV_CHECK_FMT(1, 2);
/* Log at _EVENT_LOG_DEBUG. */
void _event_debugx(const char *fmt, ...) EV_CHECK_FMT(1, 2);

/*
 * event_debug(("fmt", args)) compiles to nothing unless the library is
 * built with -DUSE_DEBUG, so debug messages cost nothing in production.
 */
#ifdef USE_DEBUG
#define event_debug(x) _event_debugx x
#else
#define event_debug(x) \
	do { \
	} while (0)
#endif

#endif /* LOG_H */
