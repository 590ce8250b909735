/*
 * test_dns_util.h: helpers shared by the DNS test programs
 * (test_dns_parse, test_dns_resolve, test_dns_requests, test_dns_hostile,
 * test_dns_server, test_dns_conf, test_dns_tcp, test_dns_server_tcp,
 * test_dns_edns).
 *
 * Setup and teardown of the resolver with a log counter, a loop driver,
 * loopback UDP sockets, a resolve-result recorder, our own server port
 * playing a nameserver, a raw nameserver that records the queries it
 * gets, and a builder for hand-made (and hostile) DNS packets.  Every
 * helper asserts through cmocka, so a failure fails the calling test.
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
int dns_setup(void **state);

/* cmocka teardown: evdns_shutdown(0), default hooks, free the base. */
int dns_teardown(void **state);

/* A test that uses the resolver or a server port (the global base). */
#define DNS_TEST(f) cmocka_unit_test_setup_teardown(f, dns_setup, dns_teardown)

/* Loop turns taken by the last run_until(). */
extern int run_loops;

/* Run the loop until *counter reaches want or ms pass; whether it did. */
int run_until(const int *counter, int want, int ms);

/* 127.0.0.1:port. */
void loopback_addr(struct sockaddr_in *sin, unsigned short port);

/* A UDP socket bound to 127.0.0.1, port chosen by the kernel. */
int udp_socket(unsigned short *port);

/*
 * A UDP socket and a listening TCP socket (in *tcpfd) on the same
 * loopback port, as a nameserver has; returns the UDP one.
 */
int udp_tcp_sockets(unsigned short *port, int *tcpfd);

/* Add 127.0.0.1:port as a nameserver. */
void add_ns_port(unsigned short port);

/* Set a resolver option (DNS_OPTIONS_ALL); asserts it is taken. */
void dns_option(const char *option, const char *value);

/* Timeout 0.2 s and 2 attempts, so failures come quickly. */
void fast_options(void);

/* What the callbacks of evdns_resolve_*() reported. */
struct result {
	int calls;
	int err;
	int type;
	int count;
	int ttl;
	uint8_t addrs[EV__DNS_MAX_ADDRS * 16];
	char name[256];		       /* the PTR target */
	void (*then)(struct result *); /* run inside the callback */
};

/* The evdns_callback_type that fills in the struct result at arg. */
void result_cb(int err, char type, int count, int ttl, void *addrs, void *arg);

/* Clear r and start evdns_resolve_ipv4(name, flags) into it. */
void resolve4(const char *name, int flags, struct result *r);

/* Assert that address i of r is the IPv4 address want. */
void assert_ipv4(const struct result *r, int i, const char *want);

/*
 * Our own server port on 127.0.0.1 as a nameserver.  It knows:
 * a.example.com (A 10.0.0.1 and .2, TTL 300; AAAA 2001:db8::1, TTL 200),
 * 1.0.0.10.in-addr.arpa (PTR a.example.com), alias.example.com (a CNAME
 * chain to a.example.com), fail.example.com (SERVFAIL), big.example.com
 * (40 A records 10.2.0.x: over 512 bytes, under 1232), huge.example.com
 * (120 A records: over 1232 bytes), nodata.example.com (no records),
 * host.search1.test (10.1.1.1); anything else is NXDOMAIN.  Probes
 * ("." NS) are counted apart from other requests.
 */
struct tserver {
	struct evdns_server_port *port;
	struct evdns_server_port *tport; /* TCP, if started so */
	unsigned short portnum;
	int silent;   /* drop every request */
	int servfail; /* answer every request with SERVFAIL */
	int defer;    /* keep requests in held[] */
	int nreq;     /* requests other than probes */
	int nprobe;
	int64_t probe_at[8]; /* when the first probes came (tu_now_usec) */
	char names[16][256]; /* the first questions, in order */
	struct evdns_server_request *held[8];
	int nheld;
	struct sockaddr_in from;
};

/* Bind a tserver to a loopback port and start serving. */
void tserver_start(struct tserver *ts);

/* The same over UDP and TCP (tport) on one port. */
void tserver_start_tcp(struct tserver *ts);

/* Answer req's question q as a tserver does, and respond. */
void tserver_answer(struct evdns_server_request *req,
    const struct evdns_server_question *q);

/* A raw nameserver: keeps the last query, the first 32 IDs and all seen. */
struct rawns {
	int fd;
	unsigned short port;
	struct event ev;
	uint8_t q[512];
	size_t qlen;
	struct sockaddr_in from;
	int got, dups;	  /* queries received; IDs seen before */
	uint16_t ids[32]; /* IDs of the first 32 queries, in order */
	uint8_t seen[65536 / 8];
};

/* Bind a raw nameserver to a loopback port and start reading queries. */
void rawns_start(struct rawns *ns);

/* The same, with a listening TCP socket on its port in *tcpfd. */
void rawns_start_tcp(struct rawns *ns, int *tcpfd);

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
void reply_start(struct pkt *p, const uint8_t *q, size_t qlen, unsigned flags,
    unsigned ancount);

/* Type, class, TTL 60 and rdlength of a record whose name is written. */
void rr_fixed(struct pkt *p, unsigned type, unsigned rdlen);

/* An A record for the question name (a pointer to offset 12). */
void add_a(struct pkt *p, unsigned a, unsigned b, unsigned c, unsigned d);

/* The wire form of one label holding "a.example.com" (dots inside). */
extern const uint8_t dotted[15];

/*
 * A reply to the query q whose first record has an owner spelt with the
 * label dotted (A 6.6.6.6), and whose second is the real answer for the
 * question: A 10.9.8.7.
 */
void dotted_owner_reply(struct pkt *p, const uint8_t *q, size_t qlen);

/* The number of hostile replies hostile_reply() can build. */
#define NHOSTILE 10

/*
 * Build hostile reply number which (0 .. NHOSTILE-1) to the query ns
 * holds: bad labels, pointer loops, lying counts and lengths.
 */
void hostile_reply(struct pkt *p, const struct rawns *ns, int which);

/* Send p from fd to where ns got its last query from. */
void send_from(int fd, const struct rawns *ns, const struct pkt *p);

/* A query for name with ID 7, as the resolver would send it; its length. */
size_t query(uint8_t *q, size_t cap, const char *name, uint16_t type);

/* Copy into a heap buffer of exactly len bytes, so ASan sees overreads. */
uint8_t *exact(const uint8_t *p, size_t len);

/* Parse p (copied with exact()) and take its answers of the given type. */
int answers(const struct pkt *p, uint16_t type, struct ev__dns_answer *a);

#endif /* TEST_DNS_UTIL_H */
