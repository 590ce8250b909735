/*
 * test_dns_util.h: helpers shared by test_dns.c and test_dns_edge.c.
 *
 * Setup and teardown of the resolver with a log counter, a loop driver,
 * loopback UDP sockets, a raw nameserver that records the queries it
 * gets, and a builder for hand-made DNS packets.  Every helper asserts
 * through cmocka, so a failure fails the calling test.
 */
#ifndef TEST_DNS_UTIL_H
#define TEST_DNS_UTIL_H

#include <sys/types.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <event.h>

#include "evdns-internal.h"

/* Resolver log lines seen: "is down", "back up", "dropped". */
extern int nlog_down, nlog_up, nlog_drop;

/* cmocka setup: event_init(), zeroed log counters, our log function. */
int setup(void **state);

/* cmocka teardown: evdns_shutdown(0), default hooks, free the base. */
int teardown(void **state);

/* Loop turns taken by the last run_until(). */
extern int run_loops;

/* Run the loop until *counter reaches want or ms pass; whether it did. */
int run_until(const int *counter, int want, int ms);

/* A UDP socket bound to 127.0.0.1, port chosen by the kernel. */
int udp_socket(unsigned short *port);

/* Add 127.0.0.1:port as a nameserver. */
void add_ns_port(unsigned short port);

/* Timeout 0.2 s and 2 attempts, so failures come quickly. */
void fast_options(void);

/* A raw nameserver: keeps the last query, the first 32 IDs and all seen. */
struct rawns {
	int fd;
	unsigned short port;
	struct event ev;
	uint8_t q[512];
	size_t qlen;
	struct sockaddr_in from;
	int got, dups;		/* queries received; IDs seen before */
	uint16_t ids[32];	/* IDs of the first 32 queries, in order */
	uint8_t seen[65536 / 8];
};

/* Bind a raw nameserver to a loopback port and start reading queries. */
void rawns_start(struct rawns *ns);

/* Stop reading and close the socket. */
void rawns_stop(struct rawns *ns);

/* A DNS packet under construction. */
struct pkt {
	uint8_t b[1024];
	size_t n;
};

/* Append one byte. */
void p8(struct pkt *p, unsigned v);

/* Append a 16-bit value in network order. */
void p16(struct pkt *p, unsigned v);

/* Append a 32-bit value in network order. */
void p32(struct pkt *p, uint32_t v);

/* Append raw bytes (a name written label by label by the caller). */
void pbytes(struct pkt *p, const void *b, size_t n);

/* Start a reply: the ID and question of the query q, flags, ancount. */
void reply_start(struct pkt *p, const uint8_t *q, size_t qlen,
    unsigned flags, unsigned ancount);

/* Type, class, TTL 60 and rdlength of a record whose name is written. */
void rr_fixed(struct pkt *p, unsigned type, unsigned rdlen);

/* An A record for the question name (a pointer to offset 12). */
void add_a(struct pkt *p, unsigned a, unsigned b, unsigned c, unsigned d);

/* Send p from fd to where ns got its last query from. */
void send_from(int fd, const struct rawns *ns, const struct pkt *p);

/* A query for name with ID 7, as the resolver would send it; its length. */
size_t query(uint8_t *q, size_t cap, const char *name, uint16_t type);

/* Copy into a heap buffer of exactly len bytes, so ASan sees overreads. */
uint8_t *exact(const uint8_t *p, size_t len);

/* Parse p (copied with exact()) and take its answers of the given type. */
int answers(const struct pkt *p, uint16_t type, struct ev__dns_answer *a);

#endif /* TEST_DNS_UTIL_H */
