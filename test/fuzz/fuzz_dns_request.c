/*
 * fuzz_dns_request.c: libFuzzer target for the server's request parser
 * (evdns-parse.c), and for the reply encoder with name compression: each
 * parsed request is answered the way a server port would, and the reply
 * must parse back with the same question.  A request with an OPT record
 * (evdns-edns.c) gets one back, as the server port sends it.
 *
 * Build and run (from /work/main, BUILDDIR being a configured build):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I/work/main/include -I$BUILDDIR/include -I/work/main \
 *     -I/work/main/compat test/fuzz/fuzz_dns_request.c evdns-parse.c \
 *     evdns-edns.c \
 *     -o fuzz_dns_request
 *   ./fuzz_dns_request -max_total_time=60 test/fuzz/corpus/dns_request
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evdns-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char addr[4] = { 10, 0, 0, 1 };
	struct ev__dns_query q;
	struct ev__dns_rr rr[3];
	struct ev__dns_msg m;
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	uint8_t buf[EV__DNS_UDP_MAX];
	char alias[EV__DNS_NAME_BUF + 8];
	uint16_t optsize;
	size_t cap = sizeof(buf);
	int len;

	if (ev__dns_request_parse(data, size, &q) < 0)
		return 0;
	if (q.nquestions < 0 || (q.nquestions > 0 && q.questions == NULL) ||
	    (q.edns_size != 0 && q.edns_size < EV__DNS_UDP_MAX))
		abort();
	if (q.edns_size != 0)
		cap -= 11; /* room for the OPT of the reply */
	memset(rr, 0, sizeof(rr));
	memset(&m, 0, sizeof(m));
	m.id = q.id;
	m.flags = (uint16_t)(EV__DNS_QR | (q.flags & EV__DNS_RD));
	m.nquestions = q.nquestions;
	m.questions = q.questions;
	if (q.nquestions > 0) {
		/* name CNAME alias.name; alias.name A; name in authority. */
		const char *name = q.questions[0]->name;

		memcpy(alias, "alias", 6);
		if (strlen(name) > 0 && strlen(name) < 240) {
			alias[5] = '.';
			strcpy(alias + 6, name);
		}
		rr[0] = (struct ev__dns_rr){ &rr[1], (char *)name,
			EVDNS_TYPE_CNAME, EVDNS_CLASS_INET, 60, 1, 0, alias };
		rr[1] = (struct ev__dns_rr){ NULL, alias, EVDNS_TYPE_A,
			EVDNS_CLASS_INET, 30, 0, 4, addr };
		rr[2] = (struct ev__dns_rr){ NULL, (char *)name, EVDNS_TYPE_NS,
			EVDNS_CLASS_INET, 30, 1, 0, alias };
		m.sections[0] = &rr[0];
		m.sections[1] = &rr[2];
	}
	len = ev__dns_response_build(buf, cap, &m);
	if (len > 0 && q.edns_size != 0) {
		len = ev__dns_opt_append(buf, sizeof(buf), (size_t)len,
		    EV__DNS_EDNS_SIZE);
		if (len < 0 ||
		    ev__dns_opt_find(buf, (size_t)len, &optsize) != 1 ||
		    optsize != EV__DNS_EDNS_SIZE)
			abort();
	}
	/* Parsed names are valid, so a reply (maybe a bare TC header) is
	 * always built: a request never goes unanswered. */
	if (len < EV__DNS_HDR_LEN || len > (int)sizeof(buf) ||
	    (len == EV__DNS_HDR_LEN && q.nquestions > 0 && !(buf[2] & 0x02)))
		abort();
	if (len > 0 && q.nquestions == 1) {
		if (ev__dns_reply_parse(buf, (size_t)len, &r) != 0 ||
		    !ev__dns_name_equal(r.qname, q.questions[0]->name) ||
		    r.qtype != (uint16_t)q.questions[0]->type)
			abort();
		/* Whatever fitted parses; a full reply answers through the
		 * CNAME chain. */
		if (ev__dns_reply_answers(buf, (size_t)len, &r, EVDNS_TYPE_A,
			&a) < 0)
			abort();
		if (!(buf[2] & 0x02) && r.hdr.ancount == 2 && a.count != 1)
			abort();
	}
	ev__dns_query_clear(&q);
	return 0;
}
