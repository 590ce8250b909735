/*
 * fuzz_dns_reply.c: libFuzzer target for the resolver's reply parser
 * (evdns-parse.c): the header and question, then the answers for each
 * query type the resolver asks, with CNAME chains followed; and the OPT
 * record of the additional section (evdns-edns.c).
 *
 * Build and run (from /work/main, BUILDDIR being a configured build):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I/work/main/include -I$BUILDDIR/include -I/work/main \
 *     -I/work/main/compat test/fuzz/fuzz_dns_reply.c evdns-parse.c \
 *     evdns-edns.c \
 *     -o fuzz_dns_reply
 *   ./fuzz_dns_reply -max_total_time=60 test/fuzz/corpus/dns_reply
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evdns-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { EVDNS_TYPE_A, EVDNS_TYPE_AAAA,
		EVDNS_TYPE_PTR };
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	char name[EV__DNS_NAME_BUF];
	size_t off, i;
	uint16_t optsize = 0;
	int res;

	if (ev__dns_reply_parse(data, size, &r) == 0) {
		if (r.answers_off > size || strlen(r.qname) > 253)
			abort();
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			res = ev__dns_reply_answers(data, size, &r, types[i],
			    &a);
			if (res < -1 || res > 1 || a.count < 0 ||
			    a.count > EV__DNS_MAX_ADDRS ||
			    (types[i] == EVDNS_TYPE_PTR && a.count > 1) ||
			    (res >= 0 && (res == 1) != (a.count > 0)) ||
			    a.ttl > 0x7fffffffU || strlen(a.ptr) > 253)
				abort();
		}
	}
	res = ev__dns_opt_find(data, size, &optsize);
	if (res < -1 || res > 1 || (res == 1 && optsize < EV__DNS_UDP_MAX))
		abort();
	/* Names may start anywhere a pointer could lead. */
	for (off = 0; off < size && off < 64; off++) {
		size_t o = off;

		if (ev__dns_name_parse(data, size, &o, name, sizeof(name)) < 0)
			continue;
		if (o <= off || o > size || strlen(name) > 253 ||
		    ev__dns_name_check(name) != 0)
			abort();
	}
	return 0;
}
