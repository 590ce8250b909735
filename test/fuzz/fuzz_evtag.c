/*
 * fuzz_evtag.c: libFuzzer target for the evtag_* decoders
 * (event_tagging.c).  The first input byte picks the order in which the
 * decoders are tried; the rest is the data, held in an evbuffer whose
 * allocation is exactly that long, so a read one byte past the data is
 * caught by AddressSanitizer.
 *
 * Besides crashes, it checks what callers rely on: a failed decode leaves
 * the buffer exactly as it was, a successful one consumes what it
 * reported, and a decoded value marshals back to the same value.
 *
 * Build and run (from /work/main, BUILDDIR being a configured build):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I/work/main/include -I$BUILDDIR/include -I/work/main \
 *     -I/work/main/compat test/fuzz/fuzz_evtag.c *.c -o fuzz_evtag
 *   ./fuzz_evtag -max_total_time=60 test/fuzz/corpus/evtag
 * (test/fuzz/run-fuzzers.sh does this for every target.)
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOPS 8

/* The buffer's bytes before an attempt, to check a failure kept them. */
struct snap {
	u_char *data;
	size_t len;
};

static void
take_snap(struct snap *s, struct evbuffer *b)
{
	s->len = EVBUFFER_LENGTH(b);
	s->data = malloc(s->len + 1);
	if (s->data == NULL)
		abort();
	if (s->len > 0)
		memcpy(s->data, EVBUFFER_DATA(b), s->len);
}

static void
check_unchanged(const struct snap *s, struct evbuffer *b)
{
	if (EVBUFFER_LENGTH(b) != s->len ||
	    (s->len > 0 && memcmp(EVBUFFER_DATA(b), s->data, s->len) != 0))
		abort();
}

/* A decoded integer must marshal back to itself. */
static void
check_int_roundtrip(ev_uint32_t tag, ev_uint32_t v)
{
	struct evbuffer *b = evbuffer_new();
	ev_uint32_t back;

	if (b == NULL)
		abort();
	evtag_marshal_int(b, tag, v);
	if (evtag_unmarshal_int(b, tag, &back) != 0 || back != v ||
	    EVBUFFER_LENGTH(b) != 0)
		abort();
	evbuffer_free(b);
}

/* Try decoder op on b; returns whether it consumed anything. */
static int
try_op(int op, struct evbuffer *b, struct evbuffer *dst)
{
	struct snap s;
	ev_uint32_t tag = 0, v = 0, plen = 0, total = 0;
	struct timeval tv;
	u_char fixed[8];
	char *str = NULL;
	int res, known, consumed;

	take_snap(&s, b);
	/* The item's tag and sizes as the peek functions see them. */
	known = evtag_peek(b, &tag) > 0 &&
	    evtag_payload_length(b, &plen) == 0 &&
	    evtag_peek_length(b, &total) == 0 && total <= s.len;
	check_unchanged(&s, b);

	switch (op) {
	case 0:
		res = evtag_unmarshal_int(b, tag, &v);
		if (res == 0)
			check_int_roundtrip(tag, v);
		break;
	case 1:
		res = evtag_unmarshal_string(b, tag, &str);
		if (res == 0) {
			if (!known || strlen(str) != plen)
				abort();
			free(str);
		}
		break;
	case 2: res = evtag_unmarshal_timeval(b, tag, &tv); break;
	case 3:
		res = evtag_unmarshal_fixed(b, tag, fixed, plen < 8 ? plen : 8);
		break;
	case 4:
		evbuffer_drain(dst, EVBUFFER_LENGTH(dst));
		res = evtag_unmarshal(b, &v, dst);
		if (res >= 0 &&
		    (!known || (size_t)res != plen ||
			EVBUFFER_LENGTH(dst) != plen || v != tag))
			abort();
		if (res >= 0)
			res = 0;
		break;
	case 5: res = evtag_consume(b); break;
	case 6:
		/* Decode into the very buffer being decoded. */
		res = evtag_unmarshal(b, &v, b);
		if (res >= 0)
			res = 0;
		break;
	default: res = evtag_unmarshal_int(b, tag + 1, &v); break;
	}
	if (res == -1)
		check_unchanged(&s, b);
	else if (res != 0)
		abort();
	/* Success consumes the whole item the peeks described. */
	if (res == 0 && op != 6 &&
	    (!known || EVBUFFER_LENGTH(b) != s.len - total))
		abort();
	consumed = EVBUFFER_LENGTH(b) != s.len ||
	    (s.len > 0 && memcmp(EVBUFFER_DATA(b), s.data, s.len) != 0);
	free(s.data);
	return consumed;
}

static void
quiet(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *b, *dst;
	unsigned int script;
	int failures, rounds, op;

	if (size < 1)
		return 0;
	event_set_log_callback(quiet);
	script = data[0];
	data++;
	size--;
	b = evbuffer_new();
	dst = evbuffer_new();
	if (b == NULL || dst == NULL)
		abort();
	/* An allocation of exactly the data, so overreads are seen. */
	if (size > 0) {
		if ((b->orig_buffer = malloc(size)) == NULL)
			abort();
		memcpy(b->orig_buffer, data, size);
		b->buffer = b->orig_buffer;
		b->off = b->totallen = size;
	}
	/* Decode items until every decoder in a row has failed. */
	for (rounds = 0, failures = 0;
	     rounds < 256 && failures < NOPS && EVBUFFER_LENGTH(b) > 0;
	     rounds++) {
		op = (int)((script + (unsigned int)rounds) % NOPS);
		if (try_op(op, b, dst))
			failures = 0;
		else
			failures++;
	}
	evbuffer_free(b);
	evbuffer_free(dst);
	return 0;
}
