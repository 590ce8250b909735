/*
 * fuzz_dns_tcp.c: libFuzzer target for DNS over TCP framing
 * (ev__dns_frame_next() in evdns-edns.c), as the resolver's transport
 * (evdns-tcp.c) and the server's connections (evdns-server-tcp.c) use it:
 * the input is a byte stream; each message cut from it goes to the reply
 * parser and, as the server would, to the request parser.  The stream is
 * cut once whole and once arriving in pieces (sizes taken from the
 * input), and both must give the same messages.
 *
 * Build and run (from /work/main, BUILDDIR being a configured build):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I/work/main/include -I$BUILDDIR/include -I/work/main \
 *     -I/work/main/compat test/fuzz/fuzz_dns_tcp.c evdns-parse.c \
 *     evdns-edns.c mm.c log.c evutil.c -o fuzz_dns_tcp
 *   ./fuzz_dns_tcp -max_total_time=60 test/fuzz/corpus/dns_tcp
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evdns-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXMSG 64

/* Cut every complete message from buf; their ends; -1 if broken. */
static int
cut(const uint8_t *buf, size_t len, size_t *ends, int *n, size_t *used)
{
	size_t off = 0, mlen;
	int res;

	while ((res = ev__dns_frame_next(buf + off, len - off, &mlen)) == 1) {
		if (mlen < EV__DNS_HDR_LEN || mlen > 0xffff ||
		    off + 2 + mlen > len)
			abort();
		off += 2 + mlen;
		if (*n < MAXMSG)
			ends[(*n)++] = off;
	}
	*used = off;
	return res;
}

static void
message(const uint8_t *m, size_t len)
{
	struct ev__dns_reply r;
	struct ev__dns_answer a;
	struct ev__dns_query q;
	uint16_t size;

	if (ev__dns_reply_parse(m, len, &r) == 0)
		(void)ev__dns_reply_answers(m, len, &r, EVDNS_TYPE_A, &a);
	if (ev__dns_request_parse(m, len, &q) == 0)
		ev__dns_query_clear(&q);
	(void)ev__dns_opt_find(m, len, &size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole[MAXMSG], piece[MAXMSG], used, have = 0, step, i;
	int nwhole = 0, npiece = 0, res, broke = 0;
	uint8_t *buf;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 7 + 1;
	data++;
	size--;
	res = cut(data, size, whole, &nwhole, &used);
	for (i = 0; i < (size_t)nwhole; i++)
		message(data + (i == 0 ? 0 : whole[i - 1]) + 2,
		    whole[i] - (i == 0 ? 0 : whole[i - 1]) - 2);
	/* The same stream arriving step bytes at a time, each complete
	 * message taken off the front as a connection does. */
	buf = malloc(size > 0 ? size : 1);
	if (buf == NULL)
		return 0;
	for (i = 0; i < size && !broke; i += step) {
		size_t chunk = size - i < step ? size - i : step;
		size_t ends[MAXMSG], k;
		int n = 0;

		memcpy(buf + have, data + i, chunk);
		have += chunk;
		if (cut(buf, have, ends, &n, &used) < 0)
			broke = 1;
		for (k = 0; k < (size_t)n && npiece < MAXMSG; k++)
			piece[npiece++] = ends[k] + (i + chunk - have);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	/* Pieces or whole: the same messages, the same verdict. */
	if (npiece != nwhole || broke != (res < 0))
		abort();
	for (i = 0; i < (size_t)nwhole; i++)
		if (piece[i] != whole[i])
			abort();
	return 0;
}
