/*
 * event.h: the public interface of the event notification library, as
 * libevent 1.4 declared it.
 *
 * A program creates an event_base (or uses the global one made by
 * event_init()), fills in struct event objects that it owns with
 * event_set(), registers them with event_add(), and runs the loop with
 * event_dispatch() / event_base_loop().  Callbacks run from the loop with the
 * fd (or signal number), the flags that fired (EV_READ, EV_WRITE, EV_SIGNAL,
 * EV_TIMEOUT) and the user's argument.
 *
 * The same header declares the buffered I/O layer (evbuffer, bufferevent)
 * and the tagged marshalling functions (evtag_*), as 1.4 did.
 *
 * Every struct that is public here has exactly libevent 1.4.15's layout,
 * because 1.4 programs embed them and read their fields through macros.
 */
#ifndef _EVENT_H_
#define _EVENT_H_

#ifdef __cplusplus
extern "C" {
#endif

#include <event-config.h>
#ifdef _EVENT_HAVE_SYS_TYPES_H
#include <sys/types.h>
#endif
#ifdef _EVENT_HAVE_SYS_TIME_H
#include <sys/time.h>
#endif
#ifdef _EVENT_HAVE_STDINT_H
#include <stdint.h>
#endif
#include <stdarg.h>
#include <signal.h>

/* For the ev_uint*_t types. */
#include <evutil.h>

/* Flags a program passes to event_set() and receives in its callback. */
#define EV_TIMEOUT 0x01 /* the event's timeout expired */
#define EV_READ	   0x02 /* the fd is readable */
#define EV_WRITE   0x04 /* the fd is writable */
#define EV_SIGNAL  0x08 /* the signal was delivered */
#define EV_PERSIST 0x10 /* stay registered after the callback */

/* Internal state bits kept in ev_flags; programs may read them. */
#define EVLIST_TIMEOUT	0x01 /* on the timer heap */
#define EVLIST_INSERTED 0x02 /* registered with the backend */
#define EVLIST_SIGNAL	0x04 /* registered for a signal */
#define EVLIST_ACTIVE	0x08 /* on an active queue, waiting to run */
#define EVLIST_INTERNAL 0x10 /* owned by the library, not counted */
#define EVLIST_INIT	0x80 /* event_set() has been called */

/* Every bit that may appear in ev_flags. */
#define EVLIST_ALL (0xf000 | 0x9f)

/*
 * struct event embeds three list links.  Programs that include <sys/queue.h>
 * first get that header's TAILQ_ENTRY; others get this equivalent one, which
 * is removed again at the end of the header.
 */
#ifndef TAILQ_ENTRY
#define _EVENT_DEFINED_TQENTRY
#define TAILQ_ENTRY(type) \
	struct { \
		struct type *tqe_next;	/* the next element */ \
		struct type **tqe_prev; /* the previous element's next link */ \
	}
#endif

struct event_base;

/* One registration: an fd or signal, the flags wanted, a timeout, a callback. */
struct event {
	TAILQ_ENTRY(event) ev_next;	   /* link in the base's event list */
	TAILQ_ENTRY(event) ev_active_next; /* link in an active queue */
	TAILQ_ENTRY(event) ev_signal_next; /* link in a signal's list */
	unsigned int min_heap_idx;	   /* index in the timer heap */

	struct event_base *ev_base; /* the base it belongs to */

	int ev_fd;	   /* fd, or signal number */
	short ev_events;   /* EV_* flags asked for */
	short ev_ncalls;   /* callbacks still to run */
	short *ev_pncalls; /* lets a callback stop them */

	struct timeval ev_timeout; /* absolute expiry time */

	int ev_pri; /* priority, 0 runs first */

	void (*ev_callback)(int, short, void *arg);
	void *ev_arg;

	int ev_res;   /* flags passed to the callback */
	int ev_flags; /* EVLIST_* state */
};

/* A header line (name and value), as evhttp keeps them in a list. */
struct evkeyval {
	TAILQ_ENTRY(evkeyval) next;

	char *key;
	char *value;
};

/* The fd (or, for a signal event, the signal number) an event watches. */
#define EVENT_SIGNAL(ev) (int)(ev)->ev_fd
#define EVENT_FD(ev)	 (int)(ev)->ev_fd

/* Older code passes the global event_base to event_base_set(); it is here. */
extern struct event_base *current_base;

/*
 * Legacy signal hooks from before signal events existed: when event_gotsig
 * is set by a program's own signal handler, the loop calls event_sigcb and
 * stops if it returns -1.
 */
extern int (*event_sigcb)(void);
extern volatile sig_atomic_t event_gotsig;

#ifdef _EVENT_DEFINED_TQENTRY
#undef TAILQ_ENTRY
struct event_list;
struct evkeyvalq;
#undef _EVENT_DEFINED_TQENTRY
#else
TAILQ_HEAD(event_list, event);
TAILQ_HEAD(evkeyvalq, evkeyval);
#endif

/**
 * Create a new event_base, choosing the best backend available (see the
 * EVENT_NO* environment variables).  Returns NULL on failure.
 */
struct event_base *event_base_new(void);

/**
 * Create a new event_base and make it the global current base used by the
 * calls that take no base (event_add() on an event that was event_set(),
 * event_dispatch(), ...).  Returns NULL on failure.
 */
struct event_base *event_init(void);

/**
 * Re-create the backend state of a base in a child after fork(), and
 * re-register every event.  Returns 0 on success, -1 on failure (logged);
 * after a failure the base still runs, and calling this again finishes
 * the job.
 */
int event_reinit(struct event_base *base);

/** Run the loop of the global base until no events remain.  */
int event_dispatch(void);

/** Run the loop of a base until no events remain or it is told to stop. */
int event_base_dispatch(struct event_base *);

/** Name of the backend a base uses ("epoll", "poll", "select", ...). */
const char *event_base_get_method(struct event_base *);

/**
 * Free a base and its backend.  Events still registered are left
 * registered in nobody's loop; the program still owns them.
 */
void event_base_free(struct event_base *);

#define _EVENT_LOG_DEBUG 0
#define _EVENT_LOG_MSG	 1
#define _EVENT_LOG_WARN	 2
#define _EVENT_LOG_ERR	 3
typedef void (*event_log_cb)(int severity, const char *msg);

/**
 * Send every message the library logs to cb (severity is one of the
 * _EVENT_LOG_* values) instead of stderr.  NULL restores stderr.
 */
void event_set_log_callback(event_log_cb cb);

/**
 * Replace the allocator the library uses for all its memory (an addition
 * from libevent 2, with its name and signature).  Every later allocation
 * goes through malloc_fn or realloc_fn, and every free through free_fn;
 * calloc and strdup are done with malloc_fn.  Pass all three, or three
 * NULLs to go back to the C library's.  Call it once, before any other
 * call into the library: memory allocated before the change would be freed
 * with the new free_fn.  Strings the library returns for the program to
 * free (evbuffer_readline(), evhttp_encode_uri(), ...) then come from
 * malloc_fn and must be freed with free_fn.
 */
void event_set_mem_functions(void *(*malloc_fn)(size_t sz),
    void *(*realloc_fn)(void *ptr, size_t sz), void (*free_fn)(void *ptr));

/** Move an event that was event_set() to another base before adding it. */
int event_base_set(struct event_base *, struct event *);

/* Flags for event_loop() and event_base_loop(). */
#define EVLOOP_ONCE	0x01 /* block once, run what is ready, return */
#define EVLOOP_NONBLOCK 0x02 /* do not block: run what is ready now */

/** event_base_loop() on the global base. */
int event_loop(int);

/**
 * Run the loop of a base.  Returns 0 when it stopped because it was asked
 * to or EVLOOP_ONCE/EVLOOP_NONBLOCK were done, 1 when no events were
 * registered, -1 on a backend error.
 */
int event_base_loop(struct event_base *, int);

/** event_base_loopexit() on the global base. */
int event_loopexit(const struct timeval *);

/**
 * Make the loop return after tv has passed (NULL: after the current
 * iteration), once the callbacks active then have run.
 */
int event_base_loopexit(struct event_base *, const struct timeval *);

/** event_base_loopbreak() on the global base. */
int event_loopbreak(void);

/**
 * Make the loop return right after the callback now running, without
 * running other active events.  Safe to call from another thread or a
 * signal handler: it wakes a loop blocked in the backend.
 */
int event_base_loopbreak(struct event_base *);

/* Shorthands for timer-only events. */
#define evtimer_add(ev, tv)	 event_add(ev, tv)
#define evtimer_set(ev, cb, arg) event_set(ev, -1, 0, cb, arg)
#define evtimer_del(ev)		 event_del(ev)
#define evtimer_pending(ev, tv)	 event_pending(ev, EV_TIMEOUT, tv)
#define evtimer_initialized(ev)	 ((ev)->ev_flags & EVLIST_INIT)

/* The older names of the same shorthands. */
#define timeout_add(ev, tv)	 event_add(ev, tv)
#define timeout_set(ev, cb, arg) event_set(ev, -1, 0, cb, arg)
#define timeout_del(ev)		 event_del(ev)
#define timeout_pending(ev, tv)	 event_pending(ev, EV_TIMEOUT, tv)
#define timeout_initialized(ev)	 ((ev)->ev_flags & EVLIST_INIT)

/* Shorthands for signal events, which are always persistent. */
#define signal_add(ev, tv) event_add(ev, tv)
#define signal_set(ev, x, cb, arg) \
	event_set(ev, x, EV_SIGNAL | EV_PERSIST, cb, arg)
#define signal_del(ev)	       event_del(ev)
#define signal_pending(ev, tv) event_pending(ev, EV_SIGNAL, tv)
#define signal_initialized(ev) ((ev)->ev_flags & EVLIST_INIT)

/**
 * Prepare an event: watch fd (or the signal number, with EV_SIGNAL) for
 * the EV_* flags in events, and call fn(fd, flags, arg) when they occur.
 * The event belongs to the global base until event_base_set() moves it.
 * Must not be called on an event that is still added.
 */
void
event_set(struct event *, int, short, void (*)(int, short, void *), void *);

/** event_base_once() on the global base. */
int event_once(int, short, void (*)(int, short, void *), void *,
    const struct timeval *);

/**
 * Run fn once, when fd becomes ready for events or tv passes, with no
 * struct event for the caller to manage; the library frees its own.
 * EV_SIGNAL is not supported.  Returns 0, or -1 on failure.
 */
int event_base_once(struct event_base *base, int fd, short events,
    void (*callback)(int, short, void *), void *arg,
    const struct timeval *timeout);

/**
 * Register an event that was event_set().  With tv non-NULL the callback
 * also runs (with EV_TIMEOUT) once tv has passed; adding an event that is
 * already added reschedules its timeout.  Returns 0, or -1 on failure.
 */
int event_add(struct event *ev, const struct timeval *tv);

/**
 * Unregister an event; its callback will not run afterwards, even if it
 * was already active.  Deleting an event that is not added is harmless.
 * Returns 0, or -1 on failure.
 */
int event_del(struct event *);

/** Make an event active with the flags res, as if they had occurred. */
void event_active(struct event *, int, short);

/**
 * Tell which of the EV_* flags in event the event is added or active for.
 * With EV_TIMEOUT and tv non-NULL, stores when the timeout expires, as a
 * wall-clock time.
 */
int event_pending(struct event *ev, short event, struct timeval *tv);

/** Non-zero once event_set() has been called on ev. */
#define event_initialized(ev) ((ev)->ev_flags & EVLIST_INIT)

/** The library's version, "1.4.15". */
const char *event_get_version(void);

/** The backend name of the global base. */
const char *event_get_method(void);

/** event_base_priority_init() on the global base. */
int event_priority_init(int);

/**
 * Give a base npriorities priority levels (0 is the most urgent).  Events
 * set afterwards get the middle level.  Only allowed while no event is
 * active.  Returns 0, or -1 on failure.
 */
int event_base_priority_init(struct event_base *, int);

/** Set an event's priority; fails (-1) if the event is active. */
int event_priority_set(struct event *, int);

/* ---- Buffered I/O ---------------------------------------------------- */

struct evbuffer {
	u_char *buffer;	     /* the first byte of data */
	u_char *orig_buffer; /* the start of the allocation */

	size_t misalign; /* bytes drained from the front */
	size_t totallen; /* allocation size */
	size_t off;	 /* bytes of data, starting at buffer */

	void (*cb)(struct evbuffer *, size_t, size_t, void *);
	void *cbarg;
};

/* "what" bits passed to a bufferevent's error callback. */
#define EVBUFFER_READ	 0x01 /* during a read */
#define EVBUFFER_WRITE	 0x02 /* during a write */
#define EVBUFFER_EOF	 0x10 /* the peer closed */
#define EVBUFFER_ERROR	 0x20 /* an error occurred */
#define EVBUFFER_TIMEOUT 0x40 /* the read or write timed out */

struct bufferevent;
typedef void (*evbuffercb)(struct bufferevent *, void *);
typedef void (*everrorcb)(struct bufferevent *, short what, void *);

struct event_watermark {
	size_t low;
	size_t high;
};

/* An fd with an input and an output evbuffer and callbacks around them. */
struct bufferevent {
	struct event_base *ev_base;

	struct event ev_read;
	struct event ev_write;

	struct evbuffer *input;
	struct evbuffer *output;

	struct event_watermark wm_read;
	struct event_watermark wm_write;

	evbuffercb readcb;
	evbuffercb writecb;
	everrorcb errorcb;
	void *cbarg;

	int timeout_read;  /* seconds; 0 means none */
	int timeout_write; /* seconds; 0 means none */

	short enabled; /* EV_READ and/or EV_WRITE */
};

/**
 * Create a bufferevent on fd.  readcb runs when input reaches the read low
 * watermark, writecb when output drains to the write low watermark, errorcb
 * on EOF, error or timeout.  As in 1.4, only EV_WRITE starts enabled:
 * call bufferevent_enable(bufev, EV_READ) to start reading.
 * Returns NULL on failure.
 */
struct bufferevent *bufferevent_new(int fd, evbuffercb readcb,
    evbuffercb writecb, everrorcb errorcb, void *cbarg);

/** Move a bufferevent to base.  Returns 0, or -1 on failure. */
int bufferevent_base_set(struct event_base *base, struct bufferevent *bufev);

/** Set the priority of a bufferevent's events.  Returns 0, or -1. */
int bufferevent_priority_set(struct bufferevent *bufev, int pri);

/** Free a bufferevent and its buffers (not its fd).  Safe from callbacks. */
void bufferevent_free(struct bufferevent *bufev);

/** Replace a bufferevent's callbacks and argument. */
void bufferevent_setcb(struct bufferevent *bufev, evbuffercb readcb,
    evbuffercb writecb, everrorcb errorcb, void *cbarg);

/** Make a bufferevent use another fd. */
void bufferevent_setfd(struct bufferevent *bufev, int fd);

/** Queue data for writing.  Returns 0, or -1 on failure. */
int bufferevent_write(struct bufferevent *bufev, const void *data, size_t size);

/** Move all of buf into the output queue.  Returns 0, or -1 on failure. */
int bufferevent_write_buffer(struct bufferevent *bufev, struct evbuffer *buf);

/** Take up to size bytes of input into data; returns how many. */
size_t bufferevent_read(struct bufferevent *bufev, void *data, size_t size);

/** Enable EV_READ and/or EV_WRITE.  Returns 0, or -1 on failure. */
int bufferevent_enable(struct bufferevent *bufev, short event);

/** Disable EV_READ and/or EV_WRITE.  Returns 0, or -1 on failure. */
int bufferevent_disable(struct bufferevent *bufev, short event);

/** Set read and write timeouts in seconds (0: none). */
void bufferevent_settimeout(struct bufferevent *bufev, int timeout_read,
    int timeout_write);

/**
 * Set the low and high watermarks for EV_READ and/or EV_WRITE.  Reading
 * pauses while the input holds high bytes or more (high 0: no limit).
 */
void bufferevent_setwatermark(struct bufferevent *bufev, short events,
    size_t lowmark, size_t highmark);

#define EVBUFFER_LENGTH(x) (x)->off
#define EVBUFFER_DATA(x)   (x)->buffer
#define EVBUFFER_INPUT(x)  (x)->input
#define EVBUFFER_OUTPUT(x) (x)->output

/** A new empty evbuffer, or NULL. */
struct evbuffer *evbuffer_new(void);

/** Free an evbuffer and its data. */
void evbuffer_free(struct evbuffer *);

/**
 * Make room for datlen more bytes without another allocation.
 * Returns 0, or -1 (buffer unchanged) when memory or size_t runs out.
 */
int evbuffer_expand(struct evbuffer *, size_t);

/** Append datlen bytes.  Returns 0, or -1 (buffer unchanged). */
int evbuffer_add(struct evbuffer *, const void *, size_t);

/** Move up to datlen bytes from the front into data; returns how many. */
int evbuffer_remove(struct evbuffer *, void *, size_t);

/**
 * Remove one line ending in CR, LF, CRLF or LFCR and return it as a new
 * NUL-terminated string (the caller frees it), or NULL if there is none.
 */
char *evbuffer_readline(struct evbuffer *);

/* How evbuffer_readln() finds the end of a line. */
enum evbuffer_eol_style {
	EVBUFFER_EOL_ANY,	  /* any run of CR and LF */
	EVBUFFER_EOL_CRLF,	  /* LF, optionally preceded by CR */
	EVBUFFER_EOL_CRLF_STRICT, /* exactly CR LF */
	EVBUFFER_EOL_LF		  /* exactly LF */
};

/**
 * Remove one line, its end found by eol_style, and return it as a new
 * NUL-terminated string (stores its length in *n_read_out if non-NULL),
 * or NULL if there is no complete line.
 */
char *evbuffer_readln(struct evbuffer *, size_t *, enum evbuffer_eol_style);

/** Move all data of inbuf to the end of outbuf.  Returns 0, or -1. */
int evbuffer_add_buffer(struct evbuffer *, struct evbuffer *);

/** Append printf-formatted text; returns the bytes added, or -1. */
int evbuffer_add_printf(struct evbuffer *, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** Append vprintf-formatted text; returns the bytes added, or -1. */
int evbuffer_add_vprintf(struct evbuffer *, const char *fmt, va_list ap);

/** Discard up to len bytes from the front. */
void evbuffer_drain(struct evbuffer *, size_t);

/** Write as much data as the fd takes; returns bytes written, or -1. */
int evbuffer_write(struct evbuffer *, int);

/**
 * Read up to howmuch bytes (a negative value: what is available, within a
 * cap) from fd.  Returns bytes read, 0 on EOF, -1 on error.
 */
int evbuffer_read(struct evbuffer *, int, int);

/** The first occurrence of what in the buffer, or NULL (also if empty). */
u_char *evbuffer_find(struct evbuffer *, const u_char *, size_t);

/**
 * Call cb(buffer, old_length, new_length, cbarg) after every change of the
 * buffer's length.  NULL removes it.
 */
void evbuffer_setcb(struct evbuffer *,
    void (*)(struct evbuffer *, size_t, size_t, void *), void *);

/* ---- Tagged data marshalling (libevent_extra) -------------------------- */

/** Nothing to set up; kept for 1.4 programs that call it. */
void evtag_init(void);

/** Append tag, the length of data, then data. */
void evtag_marshal(struct evbuffer *evbuf, ev_uint32_t tag, const void *data,
    ev_uint32_t len);

/** Append number in the compact variable-length integer encoding. */
void encode_int(struct evbuffer *evbuf, ev_uint32_t number);

/** Append tag and an encoded integer. */
void
evtag_marshal_int(struct evbuffer *evbuf, ev_uint32_t tag, ev_uint32_t integer);

/** Append tag and a string (without its NUL). */
void
evtag_marshal_string(struct evbuffer *buf, ev_uint32_t tag, const char *string);

/** Append tag and a timeval. */
void evtag_marshal_timeval(struct evbuffer *evbuf, ev_uint32_t tag,
    struct timeval *tv);

/**
 * Take one tagged item from src: store its tag and append its payload to
 * dst.  Returns the payload length, or -1 on malformed or short input.
 */
int
evtag_unmarshal(struct evbuffer *src, ev_uint32_t *ptag, struct evbuffer *dst);

/** Read the next tag without removing it.  Returns its size, or -1. */
int evtag_peek(struct evbuffer *evbuf, ev_uint32_t *ptag);

/** The whole length (tag, length and payload) of the next item, or -1. */
int evtag_peek_length(struct evbuffer *evbuf, ev_uint32_t *plength);

/** The payload length of the next item, or -1. */
int evtag_payload_length(struct evbuffer *evbuf, ev_uint32_t *plength);

/** Drop the next item.  Returns 0, or -1. */
int evtag_consume(struct evbuffer *evbuf);

/** Take an integer item whose tag must be need_tag.  Returns 0, or -1. */
int evtag_unmarshal_int(struct evbuffer *evbuf, ev_uint32_t need_tag,
    ev_uint32_t *pinteger);

/** Take an item of exactly len bytes with tag need_tag.  Returns 0, or -1. */
int evtag_unmarshal_fixed(struct evbuffer *src, ev_uint32_t need_tag,
    void *data, size_t len);

/** Take a string item; *pstring is malloc'ed.  Returns 0, or -1. */
int evtag_unmarshal_string(struct evbuffer *evbuf, ev_uint32_t need_tag,
    char **pstring);

/** Take a timeval item.  Returns 0, or -1. */
int evtag_unmarshal_timeval(struct evbuffer *evbuf, ev_uint32_t need_tag,
    struct timeval *ptv);

#ifdef __cplusplus
}
#endif

#endif /* _EVENT_H_ */
