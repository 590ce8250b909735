/*
 * evdns-internal.h: the DNS wire format, shared by evdns.c (resolver and
 * server) and evdns-parse.c (which implements it), and exposed to the
 * tests and fuzz targets so they can feed raw packets without sockets.
 *
 * Nothing here touches the event loop, a socket or the log: parsers
 * return -1 on anything malformed and the caller decides what to log.
 * Every read is bounded by the packet length handed in.
 */
#ifndef EVDNS_INTERNAL_H
#define EVDNS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "evdns.h"

#define EV__DNS_HDR_LEN 12
/* A name is at most 255 bytes on the wire, 253 characters as text. */
#define EV__DNS_WIRE_NAME_MAX 255
#define EV__DNS_NAME_BUF      256
#define EV__DNS_LABEL_MAX     63
/* Replies without EDNS fit in 512 bytes; we never send more. */
#define EV__DNS_UDP_MAX 512
/* The most addresses one callback receives. */
#define EV__DNS_MAX_ADDRS 32

/* The EDNS0 pseudo-record (RFC 6891). */
#define EV__DNS_TYPE_OPT 41
/* What the resolver advertises by default: the 2020 DNS flag day value. */
#define EV__DNS_EDNS_SIZE 1232

/* Header flag bits. */
#define EV__DNS_QR	  0x8000
#define EV__DNS_AA	  0x0400
#define EV__DNS_TC	  0x0200
#define EV__DNS_RD	  0x0100
#define EV__DNS_CD	  0x0010
#define EV__DNS_OPCODE(f) (((f) >> 11) & 0x0f)
#define EV__DNS_RCODE(f)  ((f)&0x0f)

struct ev__dns_header {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount;
};

/* The header and the one question of a reply. */
struct ev__dns_reply {
	struct ev__dns_header hdr;
	char qname[EV__DNS_NAME_BUF];
	uint16_t qtype, qclass;
	size_t answers_off; /* where the answer section begins */
};

/* The records of a reply that answer its question. */
struct ev__dns_answer {
	int count;    /* addresses, or 1 for a PTR name */
	uint32_t ttl; /* smallest TTL of the records used */
	/* count addresses of 4 (A) or 16 (AAAA) bytes, back to back */
	uint8_t addrs[EV__DNS_MAX_ADDRS * 16];
	char ptr[EV__DNS_NAME_BUF]; /* the PTR target */
};

/* A parsed request, as the server hands it to a program. */
struct ev__dns_query {
	uint16_t id, flags;
	int nquestions;
	struct evdns_server_question **questions;
	uint16_t edns_size; /* what an OPT advertised, or 0 */
};

/* One record a server adds to a reply. */
struct ev__dns_rr {
	struct ev__dns_rr *next;
	char *name;
	uint16_t type, dns_class;
	uint32_t ttl;
	int is_name; /* data is a name, to be compressed */
	size_t datalen;
	char *data;
};

/* Everything needed to encode a reply. */
struct ev__dns_msg {
	uint16_t id, flags;
	int nquestions;
	struct evdns_server_question *const *questions;
	struct ev__dns_rr *sections[3]; /* answer, authority, additional */
};

/* Read the 12-byte header.  0, or -1 if the packet is shorter. */
int
ev__dns_header_parse(const uint8_t *pkt, size_t len, struct ev__dns_header *h);

/*
 * Read the possibly compressed name at *off into out (dotted, no final
 * dot, "" for the root) and move *off past it.  Pointers must point
 * backwards, so loops are impossible.  0, or -1 if malformed or too long,
 * or 1 if well formed but a label holds a '.' or NUL byte: such a name
 * has no unambiguous text form, so out is left "" and callers must never
 * match it against another name.  On -1 out is "" too.
 */
int ev__dns_name_parse(const uint8_t *pkt, size_t len, size_t *off, char *out,
    size_t outlen);

/* Case-insensitive comparison of two names given as text. */
int ev__dns_name_equal(const char *a, const char *b);

/*
 * Whether name can be sent: labels of 1..63 bytes, at most 255 bytes on
 * the wire, an optional final dot.  0 if so, -1 if not.
 */
int ev__dns_name_check(const char *name);

/*
 * Parse a reply's header and its single question.  0, or -1 if it is not
 * a well-formed response with exactly one question.
 */
int
ev__dns_reply_parse(const uint8_t *pkt, size_t len, struct ev__dns_reply *r);

/*
 * Collect the records answering r's question for qtype (A, AAAA or PTR),
 * following CNAME chains from the question name.  1 if some were found,
 * 0 if none, -1 if the answer section is malformed.  Records whose names
 * have no text form are skipped, and so is a PTR target that is not
 * printable ASCII without spaces (it is no host name, and programs print
 * what they get).
 */
int ev__dns_reply_answers(const uint8_t *pkt, size_t len,
    const struct ev__dns_reply *r, uint16_t qtype, struct ev__dns_answer *a);

/* Build a recursive query.  Returns its length, or -1. */
int ev__dns_query_build(uint8_t *buf, size_t buflen, uint16_t id,
    const char *name, uint16_t qtype);

/*
 * Parse a request received by a server.  0 and q filled in (free it with
 * ev__dns_query_clear()), -1 if it is not a well-formed query, or -2 if
 * memory ran out.
 */
int
ev__dns_request_parse(const uint8_t *pkt, size_t len, struct ev__dns_query *q);

/* Free the questions of q. */
void ev__dns_query_clear(struct ev__dns_query *q);

/*
 * Encode a reply with name compression into buf.  Records that do not
 * fit are left out and the TC bit set; if even the questions do not fit,
 * the reply is the bare header with TC.  Returns the length, or -1 if
 * buf cannot hold a header or a name is invalid.
 */
int ev__dns_response_build(uint8_t *buf, size_t buflen,
    const struct ev__dns_msg *m);

/*
 * Log through evdns_set_log_fn()'s callback or, without one, warnings
 * through the library's log (evdns-log.c; the resolver and the server).
 */
void ev__dns_log(int warn, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * Append an OPT record advertising size to the message of len bytes in
 * buf (of cap bytes), counting it in ARCOUNT (evdns-edns.c).  The new
 * length, or -1 if it does not fit.
 */
int ev__dns_opt_append(uint8_t *buf, size_t cap, size_t len, uint16_t size);

/*
 * Find an OPT record (root name) in the additional section: 1 and *size
 * the UDP size it advertises (at least 512), 0 if there is none, -1 if
 * the message is malformed before one is found.
 */
int ev__dns_opt_find(const uint8_t *pkt, size_t len, uint16_t *size);

/*
 * The first message of a TCP stream of len bytes in buf: 1 and *msglen
 * its length (it starts at buf + 2), 0 if more bytes are needed, -1 if
 * the length is too short for a DNS header (a length of 0 among them):
 * the stream is broken.
 */
int ev__dns_frame_next(const uint8_t *buf, size_t len, size_t *msglen);

struct sockaddr_storage;
/* "1.2.3.4:53" or "[::1]:53" into buf (evdns-log.c); returns buf. */
const char *
ev__dns_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif /* EVDNS_INTERNAL_H */
