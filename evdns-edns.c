/*
 * evdns-edns.c: the parts of the wire format 1.4 did not have: the EDNS0
 * OPT record (RFC 6891), for the resolver (which advertises how large an
 * answer it takes over UDP) and the server port (which honours what a
 * client advertises), and the two-byte length framing of DNS over TCP
 * (RFC 1035 4.2.2, RFC 7766), for both sides.  Like
 * evdns-parse.c, nothing here touches a socket or the event loop, and
 * every read is bounded by the length handed in.
 */
#include <stddef.h>
#include <stdint.h>

#include "evdns-internal.h"

/* An OPT record: root name, type, class (size), TTL, rdlength. */
#define OPT_LEN 11

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

int
ev__dns_opt_append(uint8_t *buf, size_t cap, size_t len, uint16_t size)
{
	uint8_t *p = buf + len;
	uint16_t ar;

	if (len < EV__DNS_HDR_LEN || len > cap || cap - len < OPT_LEN)
		return -1;
	ar = get16(buf + 10);
	if (ar == 0xffff)
		return -1;
	ar++;
	buf[10] = (uint8_t)(ar >> 8);
	buf[11] = (uint8_t)ar;
	p[0] = 0; /* the root */
	p[1] = 0;
	p[2] = EV__DNS_TYPE_OPT;
	p[3] = (uint8_t)(size >> 8);
	p[4] = (uint8_t)size;
	p[5] = p[6] = p[7] = p[8] = 0; /* rcode, version, flags */
	p[9] = p[10] = 0;	       /* no options */
	return (int)(len + OPT_LEN);
}

/* Move *off past a record's name and fixed part and data; -1 if bad. */
static int
skip_rr(const uint8_t *pkt, size_t len, size_t *off, uint16_t *type,
    uint16_t *class, int *root)
{
	char name[EV__DNS_NAME_BUF];
	size_t rdlen;

	*root = *off < len && pkt[*off] == 0;
	if (ev__dns_name_parse(pkt, len, off, name, sizeof(name)) < 0 ||
	    len - *off < 10)
		return -1;
	*type = get16(pkt + *off);
	*class = get16(pkt + *off + 2);
	rdlen = get16(pkt + *off + 8);
	*off += 10;
	if (len - *off < rdlen)
		return -1;
	*off += rdlen;
	return 0;
}

int
ev__dns_opt_find(const uint8_t *pkt, size_t len, uint16_t *size)
{
	struct ev__dns_header h;
	char name[EV__DNS_NAME_BUF];
	size_t off = EV__DNS_HDR_LEN;
	uint16_t type, class;
	unsigned i, rrs;
	int root;

	if (ev__dns_header_parse(pkt, len, &h) < 0)
		return -1;
	for (i = 0; i < h.qdcount; i++) {
		if (ev__dns_name_parse(pkt, len, &off, name, sizeof(name)) <
			0 ||
		    len - off < 4)
			return -1;
		off += 4;
	}
	rrs = (unsigned)h.ancount + h.nscount;
	for (i = 0; i < rrs + h.arcount; i++) {
		if (skip_rr(pkt, len, &off, &type, &class, &root) < 0)
			return -1;
		if (i >= rrs && type == EV__DNS_TYPE_OPT && root) {
			/* Below 512 means 512 (RFC 6891, 6.2.5). */
			*size = class < EV__DNS_UDP_MAX ? EV__DNS_UDP_MAX :
							  class;
			return 1;
		}
	}
	return 0;
}

int
ev__dns_frame_next(const uint8_t *buf, size_t len, size_t *msglen)
{
	size_t n;

	if (len < 2)
		return 0;
	n = ((size_t)buf[0] << 8) | buf[1];
	if (n < EV__DNS_HDR_LEN)
		return -1;
	if (len - 2 < n)
		return 0;
	*msglen = n;
	return 1;
}
