/*
 * http-internal.h: what the HTTP files share and programs must not see.
 *
 *   http-parse.c   request/status lines, headers, body framing and the
 *                  chunked decoder: pure functions over an evbuffer, so
 *                  they can be fuzzed without sockets
 *   http-util.c    header lists, URI escaping, query strings, dates
 *   http.c         struct evhttp_connection: reading a message, writing,
 *                  timers, closing; it knows neither role, and hands over
 *                  through the connection's struct ev__http_role
 *   http-server.c  struct evhttp: listening, accepting, dispatching (the
 *                  server's role)
 *   http-reply.c   a server's replies and what follows them
 *   http-client.c  connecting, retries, requests and their responses (the
 *                  client's role)
 *
 * The server and the client call into http.c; http.c calls them only
 * through the role table, so there is no import circle.
 *
 * evrpc (like 1.4's) may read struct evhttp_connection's next, requests
 * and http_server fields and call evhttp_connection_fail().
 */
#ifndef HTTP_INTERNAL_H
#define HTTP_INTERNAL_H

#include <sys/queue.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <strings.h>

#include "event.h"
#include "evhttp.h"
#include "log.h"

/* Defaults; see evhttp_set_max_headers_size() and _max_body_size(). */
#define EV__HTTP_MAX_HEADERS   65536
#define EV__HTTP_MAX_BODY      ((ev_uint64_t)64 * 1024 * 1024)
#define EV__HTTP_MAX_NHEADERS  256  /* header lines in one message */
#define EV__HTTP_MAX_CHUNKLINE 4096 /* a chunk-size line with extensions */
/*
 * The client's defaults (evhttp_connection_set_max_headers_size() and
 * _max_body_size()): the server's header limit, and a body held in
 * memory of up to 256 MiB, enough for the ordinary downloads of a 1.4
 * program that collects whole bodies; a chunk callback streams more.
 */
#define EV__HTTP_CLIENT_MAX_BODY ((ev_uint64_t)256 * 1024 * 1024)
/* Interim (1xx) responses a client accepts before the final one. */
#define EV__HTTP_MAX_INTERIM 8

/* Default timeouts in seconds, as 1.4's. */
#define EV__HTTP_READ_TIMEOUT	 50
#define EV__HTTP_WRITE_TIMEOUT	 50
#define EV__HTTP_CONNECT_TIMEOUT 45
/*
 * A request body must arrive within the timeout plus one second per
 * EV__HTTP_BODY_MIN_RATE bytes received (as Apache's mod_reqtimeout
 * does), so a client trickling bytes cannot hold a connection forever.
 */
#define EV__HTTP_BODY_MIN_RATE 500 /* bytes per second */
/* How long a closing server connection drains input after its reply. */
#define EV__HTTP_LINGER_SECS 2

/* What the 1.4 parsing functions return. */
enum message_read_status {
	ALL_DATA_READ = 1,
	MORE_DATA_EXPECTED = 0,
	DATA_CORRUPTED = -1,
	REQUEST_CANCELED = -2
};

/* Why evhttp_connection_fail() is called (1.4's names). */
enum evhttp_connection_error {
	EVCON_HTTP_TIMEOUT,
	EVCON_HTTP_EOF,
	EVCON_HTTP_INVALID_HEADER
};

/* How a message's body is delimited. */
enum ev__http_body {
	EV__BODY_NONE,	  /* no body */
	EV__BODY_LENGTH,  /* Content-Length bytes */
	EV__BODY_CHUNKED, /* chunked transfer coding */
	EV__BODY_CLOSE	  /* until the connection closes (responses) */
};

/* Where the chunked decoder is. */
enum ev__http_chunk_state {
	EV__CHUNK_SIZE,	  /* expecting a chunk-size line */
	EV__CHUNK_DATA,	  /* inside chunk data */
	EV__CHUNK_CRLF,	  /* expecting the CRLF after chunk data */
	EV__CHUNK_TRAILER /* after the last chunk: trailer lines */
};

/* ev__http_read_body() result besides the message_read_status values. */
#define EV__CHUNK_COMPLETE 2

/*
 * The state of reading one message.  After DATA_CORRUPTED, error holds
 * the status a server should answer with (400, 413, 414, 431, 501).
 */
struct ev__http_parser {
	size_t max_headers;   /* bytes allowed for first line + headers */
	ev_uint64_t max_body; /* bytes allowed for the body */
	size_t used;	      /* first line and header bytes consumed */
	size_t scanned;	      /* buffer bytes already searched for CRLF */
	int nheaders;	      /* header lines parsed */
	int error;	      /* status for DATA_CORRUPTED */
	enum ev__http_body body;
	enum ev__http_chunk_state chunk;
	ev_uint64_t left;  /* bytes left in the body or the chunk */
	ev_uint64_t total; /* body bytes delivered */
};

/* Prepare p for a new message with these limits. */
void ev__http_parser_init(struct ev__http_parser *p, size_t max_headers,
    ev_uint64_t max_body);

/*
 * Parse the request line (req->kind == EVHTTP_REQUEST) or status line
 * (EVHTTP_RESPONSE) at the front of buf and drain it.
 */
enum message_read_status ev__http_parse_firstline(struct ev__http_parser *p,
    struct evhttp_request *req, struct evbuffer *buf);

/* Parse header lines into req->input_headers until the empty line. */
enum message_read_status ev__http_parse_headers(struct ev__http_parser *p,
    struct evhttp_request *req, struct evbuffer *buf);

/*
 * Decide from the parsed headers how the body is delimited; sets
 * p->body, p->left, req->ntoread and req->chunked.  Returns 0, or -1 with
 * p->error set.
 */
int
ev__http_body_framing(struct ev__http_parser *p, struct evhttp_request *req);

/*
 * Move body bytes from buf to req->input_buffer.  Returns ALL_DATA_READ
 * when the body is complete, MORE_DATA_EXPECTED, DATA_CORRUPTED (with
 * p->error), or EV__CHUNK_COMPLETE after each chunk of a chunked body.
 */
int ev__http_read_body(struct ev__http_parser *p, struct evhttp_request *req,
    struct evbuffer *buf);

/* 1.4's exported parsing entry points (default limits, no state). */
enum message_read_status
evhttp_parse_firstline(struct evhttp_request *, struct evbuffer *);
enum message_read_status
evhttp_parse_headers(struct evhttp_request *, struct evbuffer *);

/* http-util.c */

/* Free req whoever holds it (evhttp_request_free() refuses some). */
void ev__http_request_free(struct evhttp_request *req);

/* Whether the comma-separated header name contains token (any case). */
int ev__http_header_has_token(const struct evkeyvalq *headers, const char *name,
    const char *token);
/* The usual reason phrase for a status code ("OK" ...). */
const char *ev__http_reason(int code);
/* Format t as an HTTP date into buf (at least 30 bytes). */
void ev__http_date(char *buf, size_t len, time_t t);
/*
 * Make req as evhttp_request_new(NULL, NULL) made it, keeping its header
 * lists and buffers; -1 (req unchanged) if a buffer holds more than
 * EV__HTTP_REUSE_BUFFER bytes of storage, so req should be freed instead.
 */
int ev__http_request_reset(struct evhttp_request *req);
#define EV__HTTP_REUSE_BUFFER 4096
/* Requests a server keeps for reuse instead of freeing them. */
#define EV__HTTP_SPARE_REQUESTS 16

/*
 * Whether header names a and b are the same (case-insensitively).  Most
 * names differ in their first letter, so that is compared first.
 */
static inline int
ev__http_name_eq(const char *a, const char *b)
{
	return ((*a ^ *b) & ~0x20) == 0 && strcasecmp(a, b) == 0;
}

/*
 * Append the header key[0..klen) = value[0..vlen) to headers as they are
 * (the caller has checked them: no NUL, CR or LF); 0, or -1 (logged).
 */
int ev__http_add_pair_n(struct evkeyvalq *headers, const char *key, size_t klen,
    const char *value, size_t vlen);

/* Whether kv's value is an allocation of its own (not inside kv's block). */
int ev__http_header_owns_value(const struct evkeyval *kv);
/* Write v in decimal and a NUL to buf (21 bytes); returns the digits. */
size_t ev__http_utoa(char *buf, ev_uint64_t v);
/*
 * Append headers as "Name: value" lines and the blank line that ends them,
 * skipping (with a warning) any whose name is not a token or whose value
 * holds CR or LF.  Returns 0, or -1 if memory ran out (out then holds
 * part of them: see ev__http_truncate()).
 */
int
ev__http_write_headers(struct evbuffer *out, const struct evkeyvalq *headers);
/*
 * Cut buf back to its first len bytes: a message that could not be built
 * whole is taken back out instead of going out half written.
 */
void ev__http_truncate(struct evbuffer *buf, size_t len);
/* Whether c may appear in a header name (RFC 9110 tchar). */
int ev__http_is_tchar(unsigned char c);
/* The method name of a request type. */
const char *ev__http_method(enum evhttp_cmd_type type);
/* Replace the value of header key, adding it if absent.  0 or -1. */
int ev__http_set_header(struct evkeyvalq *headers, const char *key,
    const char *value);
/* Remove every header named key. */
void ev__http_remove_all(struct evkeyvalq *headers, const char *key);

/* Connections. */

enum evhttp_connection_state {
	EVCON_DISCONNECTED, /* no socket (client: maybe a retry pending) */
	EVCON_CONNECTING,   /* non-blocking connect in progress */
	EVCON_IDLE,	    /* connected, nothing to do */
	EVCON_READING_FIRSTLINE,
	EVCON_READING_HEADERS,
	EVCON_READING_BODY,
	EVCON_WAITING,	/* server: the program holds the request */
	EVCON_WRITING,	/* writing a request or a reply */
	EVCON_LINGERING /* server: write side shut, draining input */
};

#define EVHTTP_CON_INCOMING    0x0001 /* accepted by a server */
#define EVHTTP_CON_OUTGOING    0x0002 /* made by evhttp_connection_new */
#define EVHTTP_CON_CLOSEDETECT 0x0004 /* idle client watching for EOF */
#define EVHTTP_CON_FREEING     0x0008 /* evhttp_connection_free running */
#define EVHTTP_CON_INCALLBACK  0x0010 /* a close or chunk callback runs */
#define EVHTTP_CON_FREELATER   0x0020 /* freed from such a callback */
#define EVHTTP_CON_CLOSEAFTER  0x0040 /* close once this reply is out */
#define EVHTTP_CON_RESENT      0x0080 /* request resent after a stale close */
#define EVHTTP_CON_GOTDATA     0x0100 /* bytes arrived for this message */
#define EVHTTP_CON_READEOF     0x0200 /* the peer shut its side */
#define EVHTTP_CON_LINGER      0x0400 /* error reply: close gracefully */
#define EVHTTP_CON_READPENDING 0x0800 /* input came before the reply */
#define EVHTTP_CON_BROKEN      0x1000 /* a reply failed: closing, no more */
#define EVHTTP_CON_WROTE       0x2000 /* a byte of this request went out */
#define EVHTTP_CON_LASTWRITE   0x4000 /* the output ends with our FIN */
#define EVHTTP_CON_UNARMED     0x8000 /* accepted; ev_read not registered yet */
#define EVHTTP_CON_NOWRITER    0x10000 /* no memory for the write event */

TAILQ_HEAD(evcon_requestq, evhttp_request);

/*
 * A private bit of struct evhttp_request's flags: the server connection
 * went away while the program still held the request (see
 * evhttp_send_reply_start() in evhttp.h); finishing the reply frees it.
 */
#define EV__REQ_ORPHAN 0x4000
/*
 * Another: the library is calling the request's callback and frees the
 * request afterwards, so evhttp_request_free() must not.
 */
#define EV__REQ_HELD 0x2000

/*
 * Input storage a server's connections pass around: a connection waiting
 * for its next request gives its (empty) input buffer's storage back, and
 * takes a block again when bytes arrive, so that a kept-alive connection
 * holds no storage while idle and a busy server allocates none per
 * request.  At most EV__HTTP_SPARES blocks of EV__HTTP_SPARE_SIZE bytes
 * (what evbuffer_read() gives an empty buffer) are kept.
 */
#define EV__HTTP_SPARES	    16
#define EV__HTTP_SPARE_SIZE 4096
struct ev__http_spares {
	int n;
	void *block[EV__HTTP_SPARES];
};

/*
 * What a connection's role does where http.c hands over.  http-server.c
 * and http-client.c each define one; NULL members mean "nothing to do".
 */
struct ev__http_role {
	/* Adjust the limits of the next message to read. */
	void (*limits)(struct evhttp_connection *, size_t *max_headers,
	    ev_uint64_t *max_body);
	/* Where the connection's input storage goes while idle (server). */
	struct ev__http_spares *(*spares)(struct evhttp_connection *);
	/* A request to read input into when none is queued (server). */
	struct evhttp_request *(*new_request)(struct evhttp_connection *);
	/* n bytes of a message arrived: re-arm the read deadline. */
	void (*got_bytes)(struct evhttp_connection *, size_t n);
	/*
	 * The headers of req are in and its body framed (the state is
	 * EVCON_READING_BODY).  0, or -1 if it failed the connection.
	 */
	int (
	    *headers_done)(struct evhttp_connection *, struct evhttp_request *);
	/*
	 * req has been read completely.  The read deadline may still be
	 * armed; read_cb() ignores it while a reply is due.
	 */
	void (
	    *message_done)(struct evhttp_connection *, struct evhttp_request *);
	/* Reading, writing or parsing failed (evhttp_connection_fail()). */
	void (*fail)(struct evhttp_connection *, enum evhttp_connection_error);
	/* A deadline passed (reading, writing, connecting, a retry). */
	void (*timeout)(struct evhttp_connection *);
	/* The connection is being freed. */
	void (*release)(struct evhttp_connection *);
};

/* The two roles. */
extern const struct ev__http_role ev__http_server_role;
extern const struct ev__http_role ev__http_client_role;

/*
 * What only a client's connection has (evhttp_connection_new() allocates
 * it; a server's connections have none, so idle ones stay small).
 */
struct ev__http_client {
	struct event timer; /* a failed connect's report, the retry backoff */
	char *bind_address; /* local address to bind */
	u_short bind_port;  /* local port to bind */
	int retry_cnt;	    /* connect retries done */
	int retry_max;	    /* -1: forever */
	int ninterim;	    /* 1xx responses to this request */
	size_t max_headers_size; /* limits of a response */
	ev_uint64_t max_body_size;
};

/*
 * A connection.  An idle server connection holds only what it needs to
 * wait for a request: its read event, which also carries the deadline
 * of reading (and of a lingering close) as its timeout, and buffers
 * inside the structure, whose storage it gives up while it waits (see
 * struct ev__http_spares).  The write event exists only while a
 * write is queued or waiting for the socket, and carries the write
 * stall timeout (or a client's connect timeout).
 */
struct evhttp_connection {
	/* in the server's list (incoming) or free for an owner (evrpc) */
	TAILQ_ENTRY(evhttp_connection) next;

	int fd;
	enum evhttp_connection_state state;
	struct event ev_read;	/* EV_READ|EV_PERSIST on fd; read deadline */
	struct event *ev_write; /* EV_WRITE|EV_PERSIST on fd, or NULL */

	struct evbuffer *input_buffer;	/* &in */
	struct evbuffer *output_buffer; /* &out */
	struct evbuffer in, out;

	char *address; /* peer address */
	u_short port;  /* peer port */

	int flags;		  /* EVHTTP_CON_* */
	int timeout;		  /* seconds; -1: the defaults */
	int nrequests;		  /* requests completed on this socket */
	ev_int64_t body_deadline; /* server: monotonic usec for the body */

	struct ev__http_parser parser;

	struct evhttp *http_server;	/* incoming: the server */
	struct evcon_requestq requests; /* current request first */

	/* called when the output buffer has drained */
	void (*write_done)(struct evhttp_connection *);

	void (*closecb)(struct evhttp_connection *, void *);
	void *closecb_arg;

	struct event_base *base;	  /* NULL: the global base */
	const struct ev__http_role *role; /* server or client */
	struct ev__http_client *client;	  /* client: its own state */
};

struct evhttp_cb {
	TAILQ_ENTRY(evhttp_cb) next;
	char *what;
	void (*cb)(struct evhttp_request *req, void *);
	void *cbarg;
};

struct evhttp_listener {
	TAILQ_ENTRY(evhttp_listener) next;
	struct event ev;
	int fd;
	struct evhttp *http;
};

TAILQ_HEAD(evconq, evhttp_connection);

struct evhttp {
	TAILQ_HEAD(, evhttp_listener) sockets;
	TAILQ_HEAD(, evhttp_cb) callbacks;
	struct evconq connections;
	int nconnections;

	int timeout; /* seconds; -1: the defaults */
	size_t max_headers_size;
	ev_uint64_t max_body_size;

	void (*gencb)(struct evhttp_request *req, void *);
	void *gencbarg;

	struct event_base *base;   /* NULL: the global base */
	struct event accept_retry; /* re-enables accepting after EMFILE */
	int accept_paused;
	unsigned long accept_failures; /* accept() calls that hit a limit */
	int max_connections;	       /* the cap on nconnections */
	int full;		       /* listeners off: at the cap */
	/* peer-triggered log lines: this second's count, and dropped ones */
	ev_int64_t log_second;
	int log_count;
	unsigned long log_suppressed;
	/* finished requests kept for new ones (ev__http_server_recycle) */
	struct evhttp_request *spare[EV__HTTP_SPARE_REQUESTS];
	int nspare;
	/* the Date header of replies made in the second date_time */
	time_t date_time;
	char date[32];
	struct ev__http_spares spares; /* its connections' input storage */
};

/* http.c: the connection core. */

/* A connection of role with no socket yet; NULL on failure. */
struct evhttp_connection *ev__http_connection_alloc(struct event_base *base,
    const struct ev__http_role *role);
/* Point the connection's events at fd (after accept or socket()). */
void ev__http_connection_setfd(struct evhttp_connection *evcon, int fd);
/* Start reading the next message into the first queued request. */
void ev__http_connection_start_read(struct evhttp_connection *evcon);

/*
 * Register ev_read with the backend if it is not yet (a connection just
 * accepted is read once before that, EVHTTP_CON_UNARMED).
 */
void ev__http_read_arm(struct evhttp_connection *evcon);
/* Write the output buffer; done runs once it has drained (may be NULL). */
void ev__http_connection_write(struct evhttp_connection *evcon,
    void (*done)(struct evhttp_connection *));
/*
 * Close the socket (running the close callback) and stop every event.
 * Returns 0, or -1 if the close callback freed the connection, which the
 * caller must then no longer touch.
 */
int ev__http_connection_reset(struct evhttp_connection *evcon);
/*
 * Arm the read deadline: the read event (registered if it is not) times
 * out after secs seconds and usecs microseconds.
 */
void
ev__http_read_deadline(struct evhttp_connection *evcon, long secs, long usecs);
/* The timeout to use, given a default. */
int ev__http_timeout(struct evhttp_connection *evcon, int dflt);
/* Remove req from its connection's queue. */
void ev__http_request_detach(struct evhttp_request *req);

/* Called with 1.4's names from evrpc, the server and the client. */
void evhttp_connection_fail(struct evhttp_connection *,
    enum evhttp_connection_error error);

/* http-reply.c: a server's replies. */

/*
 * The connection is going away while the program may still hold its
 * first request: keep the request valid for the program (see
 * evhttp_send_reply_start() in evhttp.h).
 */
void ev__http_release_held_request(struct evhttp_connection *evcon);
/* Answer req with an error page for code; the connection closes after. */
void ev__http_send_error_page(struct evhttp_connection *evcon,
    struct evhttp_request *req, int code, const char *reason);

/* http-server.c */

/*
 * Log a line a peer caused, at most a few a second per server; the count
 * of the lines dropped is logged with the next line of a later second.
 */
void
ev__http_peer_log(struct evhttp *http, const char *fmt, ...) EV_CHECK_FMT(2, 3);
/* The connection is going away: the server forgets it. */
void ev__http_server_forget(struct evhttp_connection *evcon);

/*
 * The server is done with req (detached from its connection): keep it for
 * a next request, or free it.
 */
void ev__http_server_recycle(struct evhttp_connection *evcon,
    struct evhttp_request *req);

#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
/*
 * accept4(), through which the server accepts: a pointer so tests can
 * simulate a kernel without it (ENOSYS), where accept() and fcntl() serve.
 */
extern int (*ev__accept4)(int, struct sockaddr *, socklen_t *, int);
#endif

#endif /* HTTP_INTERNAL_H */
