/*
 * test_buffer_big.c: evbuffers of EV_BIG_MIN bytes and more, whose storage
 * is a ring mapped twice (buffer-big.c): the data stays contiguous at
 * EVBUFFER_DATA however far it has wrapped, the free space 1.4 programs
 * compute (totallen - misalign - off) is never more than the real one, a
 * steady backlog is neither copied nor reallocated and holds at most twice
 * its bytes, a forked child cannot touch its parent's buffers, and a
 * program's own allocator sees big buffers too.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "test_util.h"

#define QUEUED (1024 * 1024)
#define CHUNK  4096

/* The byte at position p of an endless test stream. */
static u_char
at(uint64_t p)
{
	return (u_char)(p * 7 + p / 251);
}

static void
fill(u_char *dst, uint64_t from, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = at(from + i);
}

/* buf holds exactly the stream's bytes [head, head + length). */
static void
check_data(struct evbuffer *buf, uint64_t head, size_t length)
{
	const u_char *d = EVBUFFER_DATA(buf);
	size_t i;

	assert_int_equal(EVBUFFER_LENGTH(buf), length);
	for (i = 0; i < length; i++)
		if (d[i] != at(head + i))
			fail_msg("byte %zu of %zu differs", i, length);
}

/* Add len stream bytes from position *tail. */
static void
add_stream(struct evbuffer *buf, uint64_t *tail, size_t len)
{
	u_char chunk[CHUNK];
	size_t n;

	while (len > 0) {
		n = len < sizeof(chunk) ? len : sizeof(chunk);
		fill(chunk, *tail, n);
		assert_int_equal(evbuffer_add(buf, chunk, n), 0);
		*tail += n;
		len -= n;
	}
}

static void
test_backlog_is_contiguous_and_never_moved(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	uint64_t head = 0, tail = 0;
	u_char *orig;
	size_t cap;
	int i;

	(void)state;
	assert_non_null(buf);
	add_stream(buf, &tail, QUEUED + CHUNK);
	evbuffer_drain(buf, CHUNK);
	head += CHUNK;
	orig = buf->orig_buffer;
	cap = buf->totallen - buf->misalign;
	/* At most twice the backlog (plus the chunk in flight). */
	assert_true(cap <= 2 * (QUEUED + CHUNK));
	for (i = 0; i < 3000; i++) {
		add_stream(buf, &tail, CHUNK);
		evbuffer_drain(buf, CHUNK);
		head += CHUNK;
		/* The first and last bytes, each time; all of it now and then. */
		assert_int_equal(EVBUFFER_DATA(buf)[0], at(head));
		assert_int_equal(EVBUFFER_DATA(buf)[QUEUED - 1],
		    at(head + QUEUED - 1));
		if (i % 500 == 0)
			check_data(buf, head, QUEUED);
		/* The same storage all along: nothing reallocated. */
		assert_ptr_equal(buf->orig_buffer, orig);
		assert_true(buf->misalign < 2 * cap);
		assert_ptr_equal(buf->buffer, buf->orig_buffer + buf->misalign);
	}
	check_data(buf, head, QUEUED);
	/* Emptied and refilled in place. */
	evbuffer_drain(buf, QUEUED);
	head += QUEUED;
	add_stream(buf, &tail, QUEUED);
	check_data(buf, head, QUEUED);
	evbuffer_free(buf);
}

/*
 * A 1.4 program reading straight into the buffer: evbuffer_expand, then
 * write all of totallen - misalign - off at the end and raise off.  If
 * that space were more than the ring's free space, the writes would
 * overwrite the data through the second view.
 */
static void
test_write_after_expand(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	uint64_t head = 0, tail = 0;
	size_t space, want;
	int i;

	(void)state;
	assert_non_null(buf);
	add_stream(buf, &tail, 700 * 1024);
	for (i = 0; i < 200; i++) {
		want = 1 + (size_t)(i * 7919) % (300 * 1024);
		assert_int_equal(evbuffer_expand(buf, want), 0);
		space = buf->totallen - buf->misalign - buf->off;
		assert_true(space >= want);
		fill(EVBUFFER_DATA(buf) + EVBUFFER_LENGTH(buf), tail, space);
		buf->off += space;
		tail += space;
		check_data(buf, head, (size_t)(tail - head));
		/* Drain all but about 600 KiB, leaving the data anywhere. */
		if (tail - head > 600 * 1024) {
			want = (size_t)(tail - head) - 600 * 1024 + i * 13;
			evbuffer_drain(buf, want);
			head += want;
		}
	}
	evbuffer_free(buf);
}

/* Reading from a socket into a ring whose data has wrapped. */
static void
test_read_into_wrapped_ring(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	uint64_t head = 0, tail = 0, sent;
	u_char chunk[CHUNK];
	int fds[2], i, n;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	add_stream(buf, &tail, QUEUED);
	for (i = 0; i < 300; i++) {
		/* Drain 12 KiB, then read 12 KiB through the socket. */
		evbuffer_drain(buf, 3 * CHUNK);
		head += 3 * CHUNK;
		for (sent = tail; sent < tail + 3 * CHUNK; sent += CHUNK) {
			fill(chunk, sent, CHUNK);
			assert_int_equal(write(fds[1], chunk, CHUNK), CHUNK);
		}
		while (tail < sent) {
			n = evbuffer_read(buf, fds[0], (int)(sent - tail));
			assert_true(n > 0);
			tail += (uint64_t)n;
		}
		assert_int_equal(EVBUFFER_DATA(buf)[QUEUED - 1],
		    at(head + QUEUED - 1));
	}
	check_data(buf, head, QUEUED);
	close(fds[0]);
	close(fds[1]);
	evbuffer_free(buf);
}

/* A child's changes to a buffer never reach its parent, nor the reverse. */
static void
test_fork_child_has_its_own_copy(void **state)
{
	struct evbuffer *buf = evbuffer_new();
	uint64_t head = 0, tail = 0, h2, t2;
	pid_t pid;
	int i;

	(void)state;
	assert_non_null(buf);
	add_stream(buf, &tail, QUEUED);
	/* Let the data wrap past the end of the first view. */
	for (i = 0; i < 400; i++) {
		add_stream(buf, &tail, CHUNK);
		evbuffer_drain(buf, CHUNK);
		head += CHUNK;
	}
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* The child: overwrite everything, wrapping again. */
		h2 = head + 5;
		t2 = h2;
		evbuffer_drain(buf, QUEUED);
		add_stream(buf, &t2, QUEUED / 2);
		for (i = 0; i < 600; i++) {
			add_stream(buf, &t2, CHUNK);
			evbuffer_drain(buf, CHUNK);
			h2 += CHUNK;
		}
		for (i = 0; i < QUEUED / 2; i++)
			if (EVBUFFER_DATA(buf)[i] != at(h2 + i))
				_exit(1);
		evbuffer_free(buf);
		_exit(0);
	}
	/* The parent changes its copy meanwhile, too. */
	for (i = 0; i < 300; i++) {
		add_stream(buf, &tail, CHUNK);
		evbuffer_drain(buf, CHUNK);
		head += CHUNK;
	}
	tu_assert_child_ok(pid);
	check_data(buf, head, QUEUED);
	evbuffer_free(buf);
}

/* evbuffer_add_buffer into an empty buffer takes over a wrapped ring. */
static void
test_add_buffer_moves_ring(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	uint64_t head = 0, tail = 0, t2 = 1000;
	int i;

	(void)state;
	assert_true(in != NULL && out != NULL);
	add_stream(out, &t2, 100);
	evbuffer_drain(out, 100);
	add_stream(in, &tail, QUEUED);
	for (i = 0; i < 300; i++) {
		add_stream(in, &tail, CHUNK);
		evbuffer_drain(in, CHUNK);
		head += CHUNK;
	}
	assert_int_equal(evbuffer_add_buffer(out, in), 0);
	assert_int_equal(EVBUFFER_LENGTH(in), 0);
	check_data(out, head, QUEUED);
	/* Both go on working. */
	add_stream(out, &tail, 3 * QUEUED);
	check_data(out, head, 4 * QUEUED);
	t2 = 0;
	add_stream(in, &t2, QUEUED);
	check_data(in, 0, QUEUED);
	evbuffer_free(in);
	evbuffer_free(out);
}

static size_t biggest;

static void *
counting_malloc(size_t n)
{
	if (n > biggest)
		biggest = n;
	return malloc(n);
}

static void *
counting_realloc(void *p, size_t n)
{
	if (n > biggest)
		biggest = n;
	return realloc(p, n);
}

/* With the program's own allocator, big buffers come from it as well. */
static void
test_custom_allocator_sees_big_buffers(void **state)
{
	struct evbuffer *buf;
	uint64_t head = 0, tail = 0;
	int i;

	(void)state;
	event_set_mem_functions(counting_malloc, counting_realloc, free);
	biggest = 0;
	buf = evbuffer_new();
	assert_non_null(buf);
	add_stream(buf, &tail, QUEUED);
	assert_true(biggest >= QUEUED);
	for (i = 0; i < 300; i++) {
		add_stream(buf, &tail, CHUNK);
		evbuffer_drain(buf, CHUNK);
		head += CHUNK;
	}
	check_data(buf, head, QUEUED);
	evbuffer_free(buf);
	event_set_mem_functions(NULL, NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backlog_is_contiguous_and_never_moved),
		cmocka_unit_test(test_write_after_expand),
		cmocka_unit_test(test_read_into_wrapped_ring),
		cmocka_unit_test(test_fork_child_has_its_own_copy),
		cmocka_unit_test(test_add_buffer_moves_ring),
		cmocka_unit_test(test_custom_allocator_sees_big_buffers),
	};

	return TU_RUN_ONCE("buffer_big", tests);
}
