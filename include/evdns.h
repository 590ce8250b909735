/*
 * evdns.h: the asynchronous DNS resolver and the small DNS server, with
 * libevent 1.4's interface.
 *
 * The resolver is process-wide, as in 1.4: call event_init() first, then
 * configure nameservers (evdns_init() reads /etc/resolv.conf, or use
 * evdns_nameserver_ip_add() and friends), then ask for names with
 * evdns_resolve_ipv4() and the like.  Each answer comes back through a
 * callback run from the event loop.  evdns_shutdown() releases everything.
 *
 * The server half lets a program answer DNS queries arriving on a UDP
 * or listening TCP socket it owns: evdns_add_server_port() hands each
 * parsed request to a callback, which adds answers and calls
 * evdns_server_request_respond().
 *
 * struct evdns_server_request and struct evdns_server_question have
 * exactly 1.4.15's layout; programs read their fields directly.
 */
#ifndef EVENTDNS_H
#define EVENTDNS_H

#ifdef __cplusplus
extern "C" {
#endif

/* For ev_uint16_t. */
#include <evutil.h>

struct in_addr;
struct in6_addr;
struct sockaddr;

/* Results passed to an evdns_callback_type callback. */
#define DNS_ERR_NONE 0
/* The nameserver could not understand the query. */
#define DNS_ERR_FORMAT 1
/* The nameserver failed internally. */
#define DNS_ERR_SERVERFAILED 2
/* The name does not exist. */
#define DNS_ERR_NOTEXIST 3
/* The nameserver does not implement this kind of query. */
#define DNS_ERR_NOTIMPL 4
/* The nameserver refused to answer. */
#define DNS_ERR_REFUSED 5
/* The reply was truncated (or otherwise unusable). */
#define DNS_ERR_TRUNCATED 65
/* Some other error, including a reply with no usable answer. */
#define DNS_ERR_UNKNOWN 66
/* No reply came before the last attempt timed out. */
#define DNS_ERR_TIMEOUT 67
/* evdns_shutdown() cancelled the request. */
#define DNS_ERR_SHUTDOWN 68

/* The kind of answer a callback receives (its "type" argument). */
#define DNS_IPv4_A    1
#define DNS_PTR	      2
#define DNS_IPv6_AAAA 3

/* Flag for the resolve calls: ask for the name as given, no search list. */
#define DNS_QUERY_NO_SEARCH 1

/* Which parts of a resolv.conf file evdns_resolv_conf_parse() applies. */
#define DNS_OPTION_SEARCH      1
#define DNS_OPTION_NAMESERVERS 2
#define DNS_OPTION_MISC	       4
#define DNS_OPTIONS_ALL	       7

/*
 * The callback of a resolve call.  result is DNS_ERR_NONE or an error.
 * On success, type is DNS_IPv4_A (addresses points to count struct in_addr
 * / 32-bit addresses in network order), DNS_IPv6_AAAA (count struct
 * in6_addr) or DNS_PTR (addresses points to one char *, the name: only
 * printable ASCII without spaces; a PTR target with other bytes, or with a
 * dot inside a label, counts as no answer, DNS_ERR_UNKNOWN); ttl is
 * the smallest time-to-live of the records used, in seconds.  On error
 * type, count and ttl are 0 and addresses is NULL.  The data is only valid
 * during the callback.
 */
typedef void (*evdns_callback_type)(int result, char type, int count, int ttl,
    void *addresses, void *arg);

/** Initialize the resolver from /etc/resolv.conf; 0 on success. */
int evdns_init(void);

/**
 * Shut the resolver down and free all of its state.  With fail_requests
 * non-zero, every pending request's callback runs with DNS_ERR_SHUTDOWN;
 * otherwise pending requests are dropped silently.
 */
void evdns_shutdown(int fail_requests);

/** A short English description of a DNS_ERR_* code. */
const char *evdns_err_to_string(int err);

/**
 * Add a nameserver by IPv4 address (network byte order), port 53.
 * Returns 0 on success, non-zero on failure or if it is already known.
 */
int evdns_nameserver_add(unsigned long int address);

/** The number of nameservers configured. */
int evdns_count_nameservers(void);

/**
 * Remove every nameserver and hold pending requests until
 * evdns_resume(); requests in flight are sent again later.  Returns 0.
 */
int evdns_clear_nameservers_and_suspend(void);

/** Send the requests held since evdns_clear_nameservers_and_suspend(). */
int evdns_resume(void);

/**
 * Add a nameserver given as text: "1.2.3.4", "1.2.3.4:53", an IPv6
 * address or "[::1]:53".  Returns 0 on success, non-zero on failure.
 */
int evdns_nameserver_ip_add(const char *ip_as_string);

/**
 * Look up the IPv4 addresses of name.  flags may hold DNS_QUERY_NO_SEARCH.
 * Returns 0 if the request was queued (the callback will run), non-zero
 * if it could not be (the callback will not run).
 */
int evdns_resolve_ipv4(const char *name, int flags,
    evdns_callback_type callback, void *ptr);

/** Like evdns_resolve_ipv4(), for IPv6 addresses. */
int evdns_resolve_ipv6(const char *name, int flags,
    evdns_callback_type callback, void *ptr);

/** Look up the name of an IPv4 address (a PTR query in in-addr.arpa). */
int evdns_resolve_reverse(const struct in_addr *in, int flags,
    evdns_callback_type callback, void *ptr);

/** Look up the name of an IPv6 address (a PTR query in ip6.arpa). */
int evdns_resolve_reverse_ipv6(const struct in6_addr *in, int flags,
    evdns_callback_type callback, void *ptr);

/**
 * Set one option, written as in resolv.conf with its colon: "ndots:",
 * "timeout:" (seconds, fractions allowed), "attempts:", "max-timeouts:",
 * "max-inflight:", "initial-probe-timeout:", and beyond 1.4:
 * "tcp-fallback:" (1: a truncated answer is asked again over TCP, the
 * default; 0: DNS_ERR_TRUNCATED), "tcp-only:" (1: every query over TCP,
 * as resolv.conf's "options use-vc"), "tcp-idle-timeout:" (seconds),
 * "edns-udp-size:" (advertised in an EDNS0 OPT record, 1232 by default,
 * 0 for none) and "randomize-case:" (0x20, 1 by default).  flags
 * (DNS_OPTION_*) says which kinds of option may change.  Returns 0, or
 * -1 on a bad value.
 */
int evdns_set_option(const char *option, const char *val, int flags);

/**
 * Read a resolv.conf file and apply the parts chosen by flags.  Returns 0
 * on success; 1 if the file could not be opened (defaults are used), 2 if
 * it could not be examined, 3 if it is too large, 4 if memory ran out
 * (what could be applied was, and the failure was logged), 5 on a short
 * read, 6 if it named no nameserver (127.0.0.1 is used).
 */
int evdns_resolv_conf_parse(int flags, const char *const filename);

/** Empty the search list. */
void evdns_search_clear(void);

/** Append a domain to the search list. */
void evdns_search_add(const char *domain);

/**
 * Set ndots: names with at least this many dots are first tried as they
 * are, before the search list.
 */
void evdns_search_ndots_set(const int ndots);

/* A log callback: is_warning is non-zero for warnings, 0 for debugging. */
typedef void (*evdns_debug_log_fn_type)(int is_warning, const char *msg);

/**
 * Send the resolver's messages to fn; with NULL (the default) warnings go
 * to the library's log (event_set_log_callback()).
 */
void evdns_set_log_fn(evdns_debug_log_fn_type fn);

/**
 * Use fn to choose transaction IDs instead of the system's random source.
 * NULL restores the default.
 */
void evdns_set_transaction_id_fn(ev_uint16_t (*fn)(void));

/* Old name of DNS_QUERY_NO_SEARCH. */
#define DNS_NO_SEARCH 1

/* A DNS request received by a server port. */
struct evdns_server_request {
	int flags;	/* header flags kept for the reply (RD, CD) */
	int nquestions; /* number of entries in questions */
	struct evdns_server_question **questions;
};

/* One question of a request.  name is NUL-terminated, without final dot. */
struct evdns_server_question {
	int type; /* EVDNS_TYPE_* or EVDNS_QTYPE_* */
#ifdef __cplusplus
	int dns_question_class;
#else
	int class; /* EVDNS_CLASS_INET, usually */
#define dns_question_class class
#endif
	char name[1];
};

/*
 * The callback of a server port.  It must eventually call
 * evdns_server_request_respond() or evdns_server_request_drop() on the
 * request, now or later from the event loop.
 */
typedef void (
    *evdns_request_callback_fn_type)(struct evdns_server_request *, void *);

/* Sections of a reply, for evdns_server_request_add_reply(). */
#define EVDNS_ANSWER_SECTION	 0
#define EVDNS_AUTHORITY_SECTION	 1
#define EVDNS_ADDITIONAL_SECTION 2

/* Record types. */
#define EVDNS_TYPE_A	 1
#define EVDNS_TYPE_NS	 2
#define EVDNS_TYPE_CNAME 5
#define EVDNS_TYPE_SOA	 6
#define EVDNS_TYPE_PTR	 12
#define EVDNS_TYPE_MX	 15
#define EVDNS_TYPE_TXT	 16
#define EVDNS_TYPE_AAAA	 28

/* Query-only types. */
#define EVDNS_QTYPE_AXFR 252
#define EVDNS_QTYPE_ALL	 255

/* Classes. */
#define EVDNS_CLASS_INET 1

/**
 * Serve DNS on a bound UDP socket, or on a listening TCP socket (is_tcp
 * may be 1 only then) whose connections each carry several queries.
 * The port takes ownership of the socket and closes it when it is
 * freed.  Returns NULL on failure, and if socket is neither.
 */
struct evdns_server_port *evdns_add_server_port(int socket, int is_tcp,
    evdns_request_callback_fn_type callback, void *user_data);

/**
 * Stop reading from a server port.  It is freed (and its socket closed)
 * once every request it delivered has been answered or dropped.
 */
void evdns_close_server_port(struct evdns_server_port *port);

/**
 * Add a record to a request's reply.  section is EVDNS_*_SECTION; data
 * holds datalen bytes (datalen -1: a NUL-terminated string), or a domain
 * name if is_name is non-zero.  Returns 0, or -1 on failure.
 */
int evdns_server_request_add_reply(struct evdns_server_request *req,
    int section, const char *name, int type, int dns_class, int ttl,
    int datalen, int is_name, const char *data);

/** Add n A records for name; addrs holds n 4-byte addresses. */
int evdns_server_request_add_a_reply(struct evdns_server_request *req,
    const char *name, int n, void *addrs, int ttl);

/** Add n AAAA records for name; addrs holds n 16-byte addresses. */
int evdns_server_request_add_aaaa_reply(struct evdns_server_request *req,
    const char *name, int n, void *addrs, int ttl);

/**
 * Add a PTR record pointing to hostname, owned by the in-addr.arpa name
 * of *in, or by inaddr_name when in is NULL.
 */
int evdns_server_request_add_ptr_reply(struct evdns_server_request *req,
    struct in_addr *in, const char *inaddr_name, const char *hostname, int ttl);

/** Add a CNAME record: name is an alias of cname. */
int evdns_server_request_add_cname_reply(struct evdns_server_request *req,
    const char *name, const char *cname, int ttl);

/**
 * Send the reply with response code err (DNS_ERR_NONE .. DNS_ERR_REFUSED)
 * and free the request.  Returns 0 on success (or if the reply was queued
 * until the socket is writable), -1 on failure.
 */
int evdns_server_request_respond(struct evdns_server_request *req, int err);

/** Free a request without replying.  Returns 0. */
int evdns_server_request_drop(struct evdns_server_request *req);

/**
 * Copy the address the request came from into sa (addr_len bytes long).
 * Returns the address length, or -1 if addr_len is too small.
 */
int evdns_server_request_get_requesting_addr(struct evdns_server_request *req,
    struct sockaddr *sa, int addr_len);

#ifdef __cplusplus
}
#endif

#endif /* EVENTDNS_H */
