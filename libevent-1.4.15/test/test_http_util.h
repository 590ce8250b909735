/*
 * test_http_util.h: what the HTTP test programs share: a server on a
 * loopback port, a loop runner with a deadline, a raw client that sends
 * exact bytes (all at once or one at a time) and collects the reply, a
 * small response splitter, and a way to run curl while the loop runs.
 */
#ifndef TEST_HTTP_UTIL_H
#define TEST_HTTP_UTIL_H

#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdint.h>

#include <event.h>
#include <evhttp.h>

/* A server of base on 127.0.0.1 and a port the kernel chose. */
struct evhttp *th_server(struct event_base *base, unsigned short *port);

/*
 * Run base until *flag is non-zero or ms milliseconds pass.  Returns
 * whether *flag became non-zero.
 */
int th_run_until(struct event_base *base, const int *flag, int ms);

/* Run base for ms milliseconds. */
void th_run_for(struct event_base *base, int ms);

/* A client writing exact bytes and reading until EOF. */
struct th_raw {
	struct event_base *base;
	int fd;
	struct event ev_read;
	struct event ev_write;
	struct event ev_trickle;
	char *out;		/* bytes to send */
	size_t outlen, outoff;
	int trickle_ms;		/* >0: one byte per trickle_ms */
	int shut_after;		/* shut the write side once all is sent */
	struct evbuffer *in;	/* everything received */
	int done;		/* EOF or error seen */
	int err;		/* errno of a failed read, or 0 */
	int64_t t_start, t_done;
};

/* Connect to port and start sending len bytes of data. */
void th_raw_start(struct th_raw *rc, struct event_base *base,
    unsigned short port, const void *data, size_t len, int shut_after);
/* Queue more bytes to send. */
void th_raw_send(struct th_raw *rc, const void *data, size_t len);
/* Stop and free everything but the struct. */
void th_raw_free(struct th_raw *rc);
/* Send, run until EOF (at most ms), return the bytes received. */
int th_raw_exchange(struct th_raw *rc, struct event_base *base,
    unsigned short port, const char *data, size_t len, int ms);

/* The number of final status lines ("HTTP/1.x NNN") in buf. */
int th_count_responses(struct evbuffer *in);
/* The status code of the first response in buf, or -1. */
int th_status(struct evbuffer *in);
/* Whether the first response's header block holds this line (any case). */
int th_has_header(struct evbuffer *in, const char *line);
/* The body of the first response, assuming Content-Length (malloc'ed). */
char *th_body(struct evbuffer *in);

/*
 * Run argv (argv[0] found on PATH) with stdout collected into out while
 * base runs; at most ms milliseconds.  Returns the exit status, or -1.
 */
int th_run_program(struct event_base *base, char *const argv[],
    struct evbuffer *out, int ms);

/* A collecting request callback for our own client. */
struct th_result {
	int done;		/* callback ran */
	int code;		/* response_code, or -1 for a NULL request */
	char *body;		/* response body (malloc'ed) */
	size_t bodylen;
	char *ctype;		/* Content-Type, if any (malloc'ed) */
	char *clen;		/* Content-Length, if any (malloc'ed) */
	char *conn;		/* Connection, if any (malloc'ed) */
	int chunked;		/* req->chunked */
	int64_t t_done;
};
void th_result_cb(struct evhttp_request *req, void *arg);
void th_result_clear(struct th_result *r);

#endif /* TEST_HTTP_UTIL_H */
