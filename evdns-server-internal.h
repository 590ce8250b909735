/*
 * evdns-server-internal.h: what the server port's two files share:
 * evdns-server.c (the port, requests and replies, UDP) and
 * evdns-server-tcp.c (connections accepted on a listening TCP socket).
 */
#ifndef EVDNS_SERVER_INTERNAL_H
#define EVDNS_SERVER_INTERNAL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "evdns.h"
#include "evdns-internal.h"

/* TCP connections one port serves at once, requests of one at a time. */
#define EV__DNS_SERVER_MAX_CONNS   64
#define EV__DNS_SERVER_MAX_PENDING 16

struct server_conn;

struct server_request {
	struct evdns_server_request base; /* what the program sees */
	TAILQ_ENTRY(server_request) next; /* queued for writing */
	struct evdns_server_port *port;
	struct server_conn *conn; /* over TCP: its connection */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct ev__dns_query query;
	struct ev__dns_rr *sections[3];
	struct ev__dns_rr **tails[3];
	size_t nbytes;	   /* data added so far */
	uint8_t *response; /* built, waiting to be sent */
	size_t resplen;
};

struct evdns_server_port {
	int fd;
	int tcp;    /* a listening TCP socket */
	int refcnt; /* the program's, plus one per request */
	int closing;
	int writing; /* EV_WRITE is part of ev */
	evdns_request_callback_fn_type cb;
	void *arg;
	struct event ev;
	TAILQ_HEAD(, server_request) pending;
	TAILQ_HEAD(, server_conn) conns; /* over TCP */
	int nconns;
};

/* evdns-server.c */
void ev__dns_server_port_unref(struct evdns_server_port *port);
/*
 * A request read from from (over TCP: on conn) in pkt: parsed and handed
 * to the program's callback: 0, or -1 if it was malformed, or -2 if
 * memory ran out (it is dropped).
 */
int ev__dns_server_request(struct evdns_server_port *port,
    struct server_conn *conn, const struct sockaddr_storage *from,
    socklen_t fromlen, const uint8_t *pkt, size_t len);

/* evdns-server-tcp.c */
/* How long a TCP connection with nothing outstanding stays open. */
extern struct timeval ev__dns_server_idle;
/* Accept the connections waiting on a TCP port's listening socket. */
void ev__dns_server_accept(struct evdns_server_port *port);
/* Queue a reply on conn (framed); 0, or -1 if memory ran out. */
int ev__dns_server_conn_reply(struct server_conn *conn, const uint8_t *pkt,
    size_t len);
/* A request of conn is answered or dropped. */
void ev__dns_server_conn_done(struct server_conn *conn);
/* Close every connection of a closing port. */
void ev__dns_server_conns_close(struct evdns_server_port *port);

#endif /* EVDNS_SERVER_INTERNAL_H */
