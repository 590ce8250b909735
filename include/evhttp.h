/*
 * evhttp.h: the embedded HTTP server and client, with libevent 1.4.15's
 * interface.
 *
 * A server is a struct evhttp bound to one or more listening sockets; each
 * request is handed to the callback registered for its path (or to the
 * generic callback) as a struct evhttp_request, and the program answers it
 * with evhttp_send_reply() or evhttp_send_error(), now or later.  A client
 * is a struct evhttp_connection to one host and port; requests made on it
 * are sent one after the other and each request's callback gets the reply
 * (or NULL when the request failed).
 *
 * As in 1.4, a program includes <sys/queue.h> and <event.h> before this
 * header, which gives struct evkeyvalq (a TAILQ of struct evkeyval).
 */
#ifndef _EVHTTP_H_
#define _EVHTTP_H_

#include <event.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Response codes a server commonly sends. */
#define HTTP_OK		 200 /* request completed */
#define HTTP_NOCONTENT	 204 /* request has no content */
#define HTTP_MOVEPERM	 301 /* the uri moved permanently */
#define HTTP_MOVETEMP	 302 /* the uri moved temporarily */
#define HTTP_NOTMODIFIED 304 /* the page was not modified */
#define HTTP_BADREQUEST	 400 /* invalid http request */
#define HTTP_NOTFOUND	 404 /* could not find the content */
#define HTTP_SERVUNAVAIL 503 /* the server is not available */

struct evhttp;
struct evhttp_request;
struct evkeyvalq;
struct evhttp_connection;

/**
 * Create an HTTP server on base (no listening socket yet; see
 * evhttp_bind_socket() and evhttp_accept_socket()).  Returns NULL on
 * failure.
 */
struct evhttp *evhttp_new(struct event_base *base);

/**
 * Listen on address (numeric, or a name to resolve) and port.  May be
 * called several times for several sockets.  Returns 0, or -1 on failure.
 */
int evhttp_bind_socket(struct evhttp *http, const char *address, u_short port);

/**
 * Accept connections on fd, a socket that is already listening.  The
 * server owns it from now on.  Returns 0, or -1 on failure.
 */
int evhttp_accept_socket(struct evhttp *http, int fd);

/**
 * Free a server: close its listening sockets and every connection, and
 * free the requests on them (even those a program has not answered yet).
 */
void evhttp_free(struct evhttp *http);

/**
 * Call cb(req, cbarg) for requests whose path (the uri before any '?')
 * is exactly uri.  Replaces nothing: register each path once.
 */
void evhttp_set_cb(struct evhttp *, const char *,
    void (*)(struct evhttp_request *, void *), void *);

/** Remove the callback for a path.  Returns 0, or -1 if there was none. */
int evhttp_del_cb(struct evhttp *, const char *);

/**
 * Call cb(req, arg) for requests that no evhttp_set_cb() path matches.
 * Without one, such requests get 404 Not Found.
 */
void evhttp_set_gencb(struct evhttp *,
    void (*)(struct evhttp_request *, void *), void *);

/**
 * Limit, in seconds, how long a client may take to send a request's line
 * and headers (and how long a keep-alive connection may stay idle), and
 * how long body reads and reply writes may stall.  A request cut short
 * gets 408.  The default is 50.
 */
void evhttp_set_timeout(struct evhttp *, int timeout_in_secs);

/**
 * Limit the connections the server has open at once: at the limit it
 * stops accepting (new ones wait in the listen queue) until one closes.
 * Zero or negative means the default, what the descriptor limit allows
 * less a reserve of 1/16 of it (at least 16).
 * (An addition to 1.4's interface.)
 */
void evhttp_set_max_connections(struct evhttp *, int max_connections);

/**
 * Limit the bytes of a request's line and headers; a larger request gets
 * 431 (414 for a too long request line) and the connection closes.
 * Negative means no limit.  The default is 65536.
 * (An addition to 1.4's interface.)
 */
void evhttp_set_max_headers_size(struct evhttp *, ssize_t max_headers_size);

/**
 * Limit the bytes of a request's body; a larger one gets 413 and the
 * connection closes.  Negative means no limit.  The default is 64 MiB.
 * (An addition to 1.4's interface.)
 */
void evhttp_set_max_body_size(struct evhttp *, ssize_t max_body_size);

/**
 * Answer req with an error page for code error and the reason phrase
 * reason (e.g. HTTP_NOTFOUND, "Not Found").  The connection closes after
 * it.  req is freed once the reply is sent.
 */
void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason);

/**
 * Answer req with the status code and reason and the contents of databuf
 * (which is emptied; may be NULL).  req is freed once the reply is sent.
 */
void evhttp_send_reply(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *databuf);

/**
 * Start a reply whose body follows in pieces through
 * evhttp_send_reply_chunk(): chunked to an HTTP/1.1 client, streamed
 * until the connection closes to an HTTP/1.0 one.  Bytes already in
 * req->output_buffer go out as the first piece.  If the client goes away
 * meanwhile and the program set a close callback on the connection, that
 * callback runs and req is freed after it (as in 1.4): stop sending then.
 * Without a close callback req stays valid, with
 * evhttp_request_get_connection(req) returning NULL and further pieces
 * dropped, until evhttp_send_reply_end() frees it.  (The same holds for a
 * request whose connection fails before the program has answered it.)
 */
void evhttp_send_reply_start(struct evhttp_request *, int, const char *);

/**
 * Send (and empty) databuf as the next piece of a started reply.  Pieces
 * wait in the connection's output buffer until the client reads them and
 * nothing bounds that buffer, so a program streaming to a slow client
 * should pace its pieces; a client that reads nothing for the write
 * timeout (evhttp_set_timeout()) is disconnected.
 */
void evhttp_send_reply_chunk(struct evhttp_request *, struct evbuffer *);

/** Finish a started reply.  req is freed once the reply is sent. */
void evhttp_send_reply_end(struct evhttp_request *);

/**
 * Create a server on the global base (event_init()) listening on address
 * and port.  Returns NULL on failure.
 */
struct evhttp *evhttp_start(const char *address, u_short port);

/* The methods a request may have. */
enum evhttp_cmd_type { EVHTTP_REQ_GET, EVHTTP_REQ_POST, EVHTTP_REQ_HEAD };

/* Whether a struct evhttp_request holds a request or a response. */
enum evhttp_request_kind { EVHTTP_REQUEST, EVHTTP_RESPONSE };

/*
 * A request and, on the client side, its response.  Programs read its
 * fields; the layout is 1.4.15's.
 */
struct evhttp_request {
#if defined(TAILQ_ENTRY)
	TAILQ_ENTRY(evhttp_request) next;
#else
	struct {
		struct evhttp_request *tqe_next;
		struct evhttp_request **tqe_prev;
	} next;
#endif

	/* the connection the request travels on */
	struct evhttp_connection *evcon;
	int flags;
#define EVHTTP_REQ_OWN_CONNECTION 0x0001 /* free evcon with the request */
#define EVHTTP_PROXY_REQUEST	  0x0002 /* the uri is absolute */

	struct evkeyvalq *input_headers;  /* headers received */
	struct evkeyvalq *output_headers; /* headers to send */

	/* where the connection came from (server side) */
	char *remote_host;
	u_short remote_port;

	enum evhttp_request_kind kind;
	enum evhttp_cmd_type type;

	char *uri; /* the request's uri, as received */

	char major; /* HTTP major version */
	char minor; /* HTTP minor version */

	int response_code;	  /* status code */
	char *response_code_line; /* reason phrase */

	struct evbuffer *input_buffer; /* body received */
	ev_int64_t ntoread;	       /* body bytes still expected */
	unsigned int chunked : 1,      /* the body is chunked */
	    userdone : 1;	       /* the program finished its reply */

	struct evbuffer *output_buffer; /* body to send */

	/* called when the request (or, client side, its reply) is complete */
	void (*cb)(struct evhttp_request *, void *);
	void *cb_arg;

	/*
	 * Client side: if set, called for each piece of a body as it
	 * arrives (in input_buffer, emptied afterwards) instead of
	 * collecting the whole body for cb.
	 */
	void (*chunk_cb)(struct evhttp_request *, void *);
};

/**
 * Create a request for evhttp_make_request(); cb(req, arg) will get the
 * response, or NULL on failure.  Returns NULL on failure.
 */
struct evhttp_request *
evhttp_request_new(void (*cb)(struct evhttp_request *, void *), void *arg);

/** Have the response body delivered piece by piece to cb (client side). */
void evhttp_request_set_chunked_cb(struct evhttp_request *,
    void (*cb)(struct evhttp_request *, void *));

/**
 * Free a request that was never handed to evhttp_make_request() (or that
 * it refused).  A request a connection holds (queued, in progress, or
 * being passed to its callback) is the connection's to free: freeing it
 * was a double free in 1.4; here it is refused with a log line.
 */
void evhttp_request_free(struct evhttp_request *req);

/** The connection a request travels on (NULL if none). */
struct evhttp_connection *
evhttp_request_get_connection(struct evhttp_request *req);

/**
 * Create a client connection to address (numeric, or a name resolved
 * when connecting) and port.  Nothing is sent until a request is made.
 * Returns NULL on failure.
 */
struct evhttp_connection *
evhttp_connection_new(const char *address, unsigned short port);

/**
 * Close a connection and free it and the requests queued on it (their
 * callbacks are not called).
 */
void evhttp_connection_free(struct evhttp_connection *evcon);

/** Bind the connection's socket to this local address before connecting. */
void evhttp_connection_set_local_address(struct evhttp_connection *evcon,
    const char *address);

/** Bind the connection's socket to this local port before connecting. */
void evhttp_connection_set_local_port(struct evhttp_connection *evcon,
    unsigned short port);

/**
 * Limit, in seconds, connecting and each stall of reading or writing
 * (-1: the defaults, 45 for connecting and 50 for I/O).
 */
void evhttp_connection_set_timeout(struct evhttp_connection *evcon,
    int timeout_in_secs);

/**
 * Retry a failed connect up to retry_max times (-1: forever), waiting
 * longer each time.  The default is 0.
 */
void
evhttp_connection_set_retries(struct evhttp_connection *evcon, int retry_max);

/**
 * Limit the bytes of a response's status line and headers (each interim
 * 1xx response counts alone; at most 8 are accepted per request).  A
 * larger response fails the request (its callback gets NULL) and the
 * connection closes.  Negative means no limit.  The default is 65536.
 * (An addition to 1.4's interface, with libevent 2's name.)
 */
void evhttp_connection_set_max_headers_size(struct evhttp_connection *evcon,
    ssize_t new_max_headers_size);

/**
 * Limit the bytes of a response body held in memory: the whole body, or
 * with a chunk callback (evhttp_request_set_chunked_cb()) and a chunked
 * response, each chunk (delivered pieces are dropped, so a stream of any
 * length passes).  A larger body fails the request (its callback gets
 * NULL) as soon as it is seen to be larger, and the connection closes.
 * Negative means no limit.  The default is 268435456 (256 MiB).
 * (An addition to 1.4's interface, with libevent 2's name.)
 */
void evhttp_connection_set_max_body_size(struct evhttp_connection *evcon,
    ssize_t new_max_body_size);

/** Call cb(evcon, arg) whenever the connection's socket closes. */
void evhttp_connection_set_closecb(struct evhttp_connection *evcon,
    void (*)(struct evhttp_connection *, void *), void *);

/**
 * Use base for the connection's events (the default is the global base).
 * Call before making requests.
 */
void evhttp_connection_set_base(struct evhttp_connection *evcon,
    struct event_base *base);

/**
 * Store the peer's address (a string the connection owns) and port.
 */
void evhttp_connection_get_peer(struct evhttp_connection *evcon, char **address,
    u_short *port);

/**
 * Send req (of the given method, for uri) on evcon, after the requests
 * already queued there.  The connection owns req from now on and frees it
 * after its callback returns.  Returns 0, or -1 on failure (req is then
 * still the caller's).
 */
int evhttp_make_request(struct evhttp_connection *evcon,
    struct evhttp_request *req, enum evhttp_cmd_type type, const char *uri);

/** The request's uri. */
const char *evhttp_request_uri(struct evhttp_request *req);

/* Header lists. */

/** The value of the first header named key (case-insensitive), or NULL. */
const char *evhttp_find_header(const struct evkeyvalq *, const char *);

/** Remove the first header named key.  Returns 0, or -1 if none. */
int evhttp_remove_header(struct evkeyvalq *, const char *);

/**
 * Append a header.  A value with line folds (CR LF or LF followed by
 * spaces or tabs) is accepted, as in 1.4, and stored unfolded: each fold
 * becomes one space.  A name with CR or LF, or a value with a CR or LF
 * that is not part of a fold (which would let it forge headers), is
 * refused.  Returns 0, or -1 on failure.
 */
int evhttp_add_header(struct evkeyvalq *, const char *, const char *);

/** Remove and free every header of a list. */
void evhttp_clear_headers(struct evkeyvalq *);

/* Helpers. */

/**
 * Percent-encode every character of uri except unreserved ones
 * (letters, digits, "-_.~").  Returns a string to free(), or NULL.
 */
char *evhttp_encode_uri(const char *uri);

/**
 * Decode the %XX escapes in uri, and '+' as a space after a '?'.
 * Returns a string to free(), or NULL.
 */
char *evhttp_decode_uri(const char *uri);

/**
 * Initialise headers and add to it the key=value pairs of uri's query
 * string (after '?'), values decoded ('+' is a space) and kept whatever
 * they decode to (CR and LF included: a query is not a header).  As in
 * 1.4, parsing stops at a pair without '='.  If memory runs out, headers
 * is left empty (and a line logged) rather than holding part of the
 * query.
 */
void evhttp_parse_query(const char *uri, struct evkeyvalq *headers);

/**
 * Escape '<', '>', '"', '\'' and '&' for inclusion in HTML.  Returns a
 * string to free(), or NULL.
 */
char *evhttp_htmlescape(const char *html);

#ifdef __cplusplus
}
#endif

#endif /* _EVHTTP_H_ */
