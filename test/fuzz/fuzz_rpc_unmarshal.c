/*
 * fuzz_rpc_unmarshal.c: libFuzzer target for the unmarshalling code
 * event_rpcgen.py generates, over test/rpc_test.rpc's struct kitchen,
 * which has an entry of every kind (int, string, fixed and variable
 * bytes, nested and self-nesting structs, optional entries, arrays of
 * int, string, bytes and struct).
 *
 * Besides crashes, leaks and over-reads, it checks what callers rely on:
 * a message that unmarshals is complete, and marshalling it gives bytes
 * that unmarshal to a message which marshals to the same bytes again.
 *
 * The generated code is made by "make" (test/rpc_test.gen.c in the build
 * tree, or the copy shipped in the tarball); run-fuzzers.sh passes the
 * build tree with -I, so the include below finds it.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

#include "test/rpc_test.gen.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
quiet(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
}

/* Marshal k, unmarshal that into a fresh kitchen, and compare. */
static void
check_roundtrip(const struct kitchen *k)
{
	struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
	struct kitchen *again = kitchen_new();

	if (a == NULL || b == NULL || again == NULL)
		abort();
	kitchen_marshal(a, k);
	evbuffer_add(b, EVBUFFER_DATA(a), EVBUFFER_LENGTH(a));
	if (kitchen_unmarshal(again, b) == -1)
		abort();
	kitchen_marshal(b, again);
	if (EVBUFFER_LENGTH(a) != EVBUFFER_LENGTH(b) ||
	    memcmp(EVBUFFER_DATA(a), EVBUFFER_DATA(b), EVBUFFER_LENGTH(a)))
		abort();
	kitchen_free(again);
	evbuffer_free(a);
	evbuffer_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *buf;
	struct kitchen *k;
	struct sum_request *req;

	event_set_log_callback(quiet);
	if ((buf = evbuffer_new()) == NULL || (k = kitchen_new()) == NULL)
		abort();
	evbuffer_add(buf, data, size);
	if (kitchen_unmarshal(k, buf) == 0) {
		if (kitchen_complete(k) == -1 || EVBUFFER_LENGTH(buf) != 0)
			abort();
		check_roundtrip(k);
	}
	kitchen_free(k);

	/* The same bytes as one tagged record, and as a request. */
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	evbuffer_add(buf, data, size);
	k = kitchen_new();
	(void)evtag_unmarshal_kitchen(buf, KITCHEN_INNER, k);
	kitchen_free(k);
	evbuffer_drain(buf, EVBUFFER_LENGTH(buf));
	evbuffer_add(buf, data, size);
	if ((req = sum_request_new()) == NULL)
		abort();
	(void)sum_request_unmarshal(req, buf);
	sum_request_free(req);
	evbuffer_free(buf);
	return 0;
}
