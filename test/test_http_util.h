/*
 * test_http_util.h: what the HTTP test programs share: a server on a
 * loopback port, a loop runner with a deadline, a raw client that sends
 * exact bytes (all at once or one at a time) and collects the reply, a
 * small response splitter, a way to run curl while the loop runs
 * (test_http_util.c), and the fixture of the round-trip tests: a base, a
 * server answering a set of standard paths, and our client
 * (test_http_fixture.c).
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
	char *out; /* bytes to send */
	size_t outlen, outoff;
	int trickle_ms;	     /* >0: one byte per trickle_ms */
	int shut_after;	     /* shut the write side once all is sent */
	struct evbuffer *in; /* everything received */
	int done;	     /* EOF or error seen */
	int err;	     /* errno of a failed read, or 0 */
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
	int done;   /* callback ran */
	int code;   /* response_code, or -1 for a NULL request */
	char *body; /* response body (malloc'ed) */
	size_t bodylen;
	char *ctype; /* Content-Type, if any (malloc'ed) */
	char *clen;  /* Content-Length, if any (malloc'ed) */
	char *conn;  /* Connection, if any (malloc'ed) */
	int chunked; /* req->chunked */
	int64_t t_done;
};
void th_result_cb(struct evhttp_request *req, void *arg);
void th_result_clear(struct th_result *r);

/* A log callback that drops everything (for tests of refused input). */
void th_quiet_log(int severity, const char *msg);

/*
 * Count the log lines containing needle (every line if NULL) in
 * th_log_hits, dropping all lines; th_log_last keeps the last one
 * counted.  Installs itself as the log callback.
 */
extern int th_log_hits;
extern char th_log_last[256];
void th_log_count(const char *needle);

/* A loopback port free right now (the kernel's pick, released). */
unsigned short th_free_port(void);

/* The highest open descriptor of this process. */
int th_highest_fd(void);

/*
 * Start a 200 reply to req and send npieces pieces, printf(fmt, i) for
 * i = 1 .. npieces, ms milliseconds apart (on base), then end it.
 */
void th_stream_reply(struct event_base *base, struct evhttp_request *req,
    int npieces, int ms, const char *fmt);

/* ---- the fixture (test_http_fixture.c) -------------------------------- */

/* The base, server and port of the running test. */
extern struct event_base *th_base;
extern struct evhttp *th_http;
extern unsigned short th_port;

/* What the standard paths saw. */
struct th_seen {
	int nrequests;
	char uri[256];
	enum evhttp_cmd_type type;
	char body[256];
	size_t bodylen;
	char clen[32];
	char te[64];	  /* Transfer-Encoding */
	u_short ports[8]; /* client ports of the first 8 requests */
	int closed;	  /* close callbacks of /watch connections */
};
extern struct th_seen th_seen;

/*
 * Create th_base and a server th_http on th_port with no paths; the
 * out-pointers (each may be NULL) get copies for a test's own names.
 */
void th_fixture_start(struct event_base **base, struct evhttp **http,
    unsigned short *port);

/*
 * th_fixture_start(), th_seen cleared, and the standard paths:
 *   /hello   "hello"                /echo    the request's body
 *   /port    the client's port      /close   "bye", Connection: close
 *   /error   403 error page         /big     TH_BIG_SIZE bytes (th_big_byte)
 *   /slow    "slow", 100 ms later   /chunked "piece-1|piece-2|piece-3|"
 *                                            in pieces 20 ms apart
 *   /watch   "watched"; a close callback counts th_seen.closed
 *   /drop    no reply: the program frees the connection
 * th_teardown() frees everything and restores the default log callback.
 */
int th_setup(void **state);
int th_teardown(void **state);
#define TH_TEST(f) cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)

#define TH_BIG_SIZE (1024 * 1024 + 17)
/* Byte i of the /big body. */
#define th_big_byte(i) ((char)('a' + ((i) % 4096) % 26))

/* Record req in th_seen (what the standard paths do first). */
void th_note_request(struct evhttp_request *req);
/* Reply 200 with text as the body. */
void th_reply_text(struct evhttp_request *req, const char *text);
/* The /watch close callback (counts th_seen.closed). */
void th_watch_closecb(struct evhttp_connection *evcon, void *arg);

/* A client connection to th_port on th_base. */
struct evhttp_connection *th_client(void);
/*
 * Make one request on evcon (Host: test, body if not NULL) and run until
 * its callback ran into r; asserts that it did within 5 s.
 */
void th_request(struct evhttp_connection *evcon, enum evhttp_cmd_type type,
    const char *uri, const char *body, struct th_result *r);
/* Assert that GET /hello on evcon gets "hello" (so it is in step). */
void th_expect_hello(struct evhttp_connection *evcon);

/* ---- a scripted raw server (test_http_fake.c) -------------------------- */

/* What the fake server does after writing a reply. */
enum th_fake_then { TH_KEEP, TH_CLOSE, TH_RESET };

#define TH_FAKE_MAX 12

/*
 * A scripted raw server on th_base: the n-th request it reads (its
 * header block, on whichever connection) gets script[n].reply, then
 * script[n].then; requests beyond the script are counted in nseen and
 * get nothing.  Zero it, script it with th_fake_step(), start it.
 */
struct th_fake {
	int lfd;
	struct event ev_accept;
	int nconns, nreqs, nsteps;
	int nseen; /* header blocks read, scripted or not */
	struct {
		const char *reply;
		size_t len;
		enum th_fake_then then;
	} script[TH_FAKE_MAX];
	struct th_fake_conn {
		int fd;
		struct event ev;
		char in[4096];
		size_t inlen;
		struct th_fake *f;
	} conns[TH_FAKE_MAX];
};

/* Add a step to the script: reply with text (len bytes), then do then. */
void th_fake_step(struct th_fake *f, const char *text, size_t len,
    enum th_fake_then then);
#define TH_FAKE_STEP(f, lit, then) th_fake_step(f, lit, sizeof(lit) - 1, then)
/* Start f (zeroed, perhaps scripted) and a client connection to it. */
struct evhttp_connection *th_fake_start(struct th_fake *f);
/* Free evcon and stop f. */
void th_fake_stop(struct th_fake *f, struct evhttp_connection *evcon);
/* Queue a GET / on evcon, its result going to r. */
void th_fake_queue(struct evhttp_connection *evcon, struct th_result *r);
/* A GET / on evcon, run until its callback ran (asserts within 5 s). */
void th_fake_request(struct evhttp_connection *evcon, struct th_result *r);

#endif /* TEST_HTTP_UTIL_H */
