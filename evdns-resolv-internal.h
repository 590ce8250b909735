/*
 * evdns-resolv-internal.h: the resolver's state, shared by the files that
 * implement it, one concern each:
 *
 *   evdns.c       requests: IDs, sending, retries, the resolve calls,
 *                 suspend and shutdown
 *   evdns-reply.c what a reply does to its request
 *   evdns-ns.c    nameservers: sockets, round robin, failure and probes,
 *                 the datagrams they receive
 *   evdns-tcp.c   the TCP transport a truncated answer falls back to
 *   evdns-conf.c  the search list, options and resolv.conf
 *   evdns-log.c   the log both the resolver and the server port use
 *
 * The resolver is one process-wide state, as libevent 1.4's API implies;
 * its events are made with event_set() and so belong to current_base.
 */
#ifndef EVDNS_RESOLV_INTERNAL_H
#define EVDNS_RESOLV_INTERNAL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <stdint.h>

#include "event.h"
#include "evdns.h"
#include "evdns-internal.h"

#define EV__DNS_NBUCKETS   256 /* in-flight requests, hashed by ID */
#define EV__DNS_MAX_SEARCH 32  /* domains in the search list */
/* A request's fail_err: send again as if for the first time. */
#define EV__DNS_RESEND (-1)

struct ev__dns_tcp;

struct nameserver {
	TAILQ_ENTRY(nameserver) next;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	struct event read_ev;
	struct event probe_ev;
	int failed;		 /* down: skipped, and probed */
	int timeouts;		 /* consecutive timeouts */
	int probe_step;		 /* probes that failed so far */
	struct request *probe;	 /* the probe in flight, if any */
	struct ev__dns_tcp *tcp; /* the TCP connection, if open */
	int no_edns;		 /* answered FORMERR/NOTIMP to an OPT */
	int case_fallbacks;	 /* answers that lost the 0x20 case */
	int no_case;		 /* does not preserve case: not randomized */
};
TAILQ_HEAD(ns_list, nameserver);

/* The search list; requests hold a reference so changes do not bite. */
struct search_list {
	int refcnt;
	int ndots;
	int n;
	char *domains[EV__DNS_MAX_SEARCH];
};

enum where { NOWHERE, WAITING, INFLIGHT };

struct request {
	TAILQ_ENTRY(request) next; /* waiting list or ID bucket */
	enum where where;
	uint16_t id;
	uint16_t qtype;
	char name[EV__DNS_NAME_BUF]; /* the name asked now */
	char sent[EV__DNS_NAME_BUF]; /* as sent, with 0x20 case */
	struct nameserver *ns;
	int tx_count;	     /* transmissions to date */
	int reissued;	     /* sent elsewhere after an error */
	int tcp;	     /* asked over TCP (after a TC) */
	unsigned tcp_serial; /* the connection it was sent on */
	int edns;	     /* the last query carried an OPT */
	int no_case;	     /* not to be sent with 0x20 */
	int cased;	     /* sent is randomly cased */
	int fail_err;	     /* what a last failure reports, or
					 * EV__DNS_RESEND */
	struct event timeout_ev;
	evdns_callback_type cb;
	void *arg;
	int is_probe;
	/* The search: the name given, the next domain, raw name pending. */
	struct search_list *search;
	char *base_name;
	int next_domain;
	int raw_pending;
};
TAILQ_HEAD(request_list, request);

struct ev__dns_state {
	int ready;
	struct ns_list servers;
	struct nameserver *rr_next; /* round-robin position */
	int nservers, ngood;
	unsigned epoch; /* bumped when nameservers are freed */
	struct request_list waiting;
	struct request_list buckets[EV__DNS_NBUCKETS];
	int ninflight; /* user requests in flight */
	int suspended;
	struct search_list *search;
	struct timeval timeout;
	int max_attempts, max_timeouts, max_inflight;
	struct timeval probe_initial;
	int tcp_fallback;	 /* retry truncated answers over TCP */
	int tcp_only;		 /* every query over TCP (use-vc) */
	struct timeval tcp_idle; /* idle TCP connections close */
	int edns_size;		 /* advertised, or 0: no EDNS */
	int randomize_case;	 /* 0x20 */
	ev_uint16_t (*txid_fn)(void);
	unsigned nomem; /* allocations failed, ever */
};
extern struct ev__dns_state ev__dns;

/* evdns.c */
void ev__dns_setup(void);
void ev__dns_set_defaults(void);
uint16_t ev__dns_random16(void);
size_t ev__dns_read_full(int fd, void *p, size_t n);
struct request *ev__dns_find_request(uint16_t id);
void ev__dns_request_detach(struct request *req);
void ev__dns_request_free(struct request *req);
void ev__dns_request_go(struct request *req);
void ev__dns_pump_waiting(void);
void ev__dns_request_timeout_cb(int fd, short what, void *arg);
/* Send the request's query to req->ns (again), restarting its timer. */
void ev__dns_request_transmit(struct request *req);
/* Send again to the same nameserver under a fresh ID. */
void ev__dns_request_resend(struct request *req);
/* Report the outcome, free the request, let a waiting one in. */
void
ev__dns_request_finish(struct request *req, int err, struct ev__dns_answer *a);
/* Fail a request as if its wait had timed out now, reporting err. */
void ev__dns_request_retry(struct request *req, int err);

/* evdns-reply.c */
/* A reply from ns (over TCP if tcp): checked, matched and acted on. */
void ev__dns_handle_reply(struct nameserver *ns, const uint8_t *pkt, size_t len,
    int tcp);

/* evdns-ns.c */
int ev__dns_same_addr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b);
struct nameserver *ev__dns_pick_ns(const struct nameserver *avoid);
void ev__dns_ns_failed(struct nameserver *ns, const char *why);
void ev__dns_ns_up(struct nameserver *ns);
struct timeval ev__dns_probe_delay(int step);
void ev__dns_drop_nameservers(struct request_list *to);
/*
 * A datagram that arrived on ns's socket from the address from: used
 * only if from is the nameserver's own address and port.  1 if it was
 * handed on, 0 if dropped.  (The kernel filters a connected socket too;
 * this is the check that does not depend on it, and tests call it.)
 */
int ev__dns_ns_datagram(struct nameserver *ns,
    const struct sockaddr_storage *from, const uint8_t *pkt, size_t len);
/* The index-th nameserver (0 first), or NULL: for tests. */
struct nameserver *ev__dns_nameserver(int index);

/* evdns-tcp.c */
/* Send req's query over ns's TCP connection, opening it if needed. */
int ev__dns_tcp_send(struct nameserver *ns, struct request *req,
    const uint8_t *pkt, size_t len);
/* req no longer waits on its connection, which may go idle. */
void ev__dns_tcp_release(struct request *req);
/* Close ns's connection, if any, leaving its requests to their timers. */
void ev__dns_tcp_close(struct nameserver *ns);

/* evdns-conf.c */
struct search_list *ev__dns_search_ref(struct search_list *s);
void ev__dns_search_unref(struct search_list *s);
/* The next name a search tries: name.domain for each domain, or name. */
int ev__dns_search_next(struct request *req);

#endif /* EVDNS_RESOLV_INTERNAL_H */
