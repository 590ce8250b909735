/*
 * bench_dispatch.c: the classic libevent dispatch benchmark, on the 1.4 API.
 *
 * N sockets, each with a persistent read event.  A round starts A "active"
 * writers, spread evenly over the sockets, by sending one byte each; every
 * callback reads its byte and, while the round's W writes last, sends one
 * byte on to the next socket.  The loop runs with EVLOOP_ONCE|NONBLOCK until
 * every byte sent was read, so a round handles A + W events with about A
 * of them ready per loop iteration.
 *
 * The N sockets are the two ends of N/2 socketpairs and both ends are
 * watched (a byte written to one end makes the other readable), so N
 * events cost N descriptors: 10,000 of them fit under a 20,000 fd limit.
 *
 * -m plain   rounds as above (dispatch cost)
 * -m rearm   before each round every event is event_del'ed, event_set and
 *            event_add'ed again, as 1.4-era servers do
 * -m both    plain and rearm rounds alternate, each timed on its own, so
 *            the difference is the re-arm cost measured under equal noise
 *
 * The timed rounds run inside run_plain()/run_rearm(), which bench/run.sh
 * names to callgrind's --toggle-collect to count only their instructions.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

#include "bench_util.h"

#define USAGE \
	"usage: bench_dispatch [-n sockets] [-a active] [-w writes] " \
	"[-r rounds] [-m plain|rearm|both]"

static int nsock, nactive, nwrites;
static int *fds;
static struct event *evs;
static long count, fired, writes;

/* The socket whose peer is written to make socket i readable. */
#define PEER(i) ((i) ^ 1)

static void
read_cb(int fd, short which, void *arg)
{
	intptr_t idx = (intptr_t)arg;
	intptr_t next;
	char ch;

	(void)which;
	if (read(fd, &ch, 1) == 1)
		count++;
	if (writes > 0) {
		next = idx + 1 == nsock ? 0 : idx + 1;
		if (write(fds[PEER(next)], "e", 1) == 1) {
			writes--;
			fired++;
		}
	}
}

/* Start the writers and run the loop until every byte has been read. */
static void
one_round(void)
{
	int space = nsock / nactive, i;

	fired = 0;
	count = 0;
	writes = nwrites;
	for (i = 0; i < nactive; i++)
		if (write(fds[PEER(i * space)], "e", 1) == 1)
			fired++;
	do {
		event_loop(EVLOOP_ONCE | EVLOOP_NONBLOCK);
	} while (count != fired);
}

static void
rearm_all(void)
{
	int i;

	for (i = 0; i < nsock; i++) {
		event_del(&evs[i]);
		event_set(&evs[i], fds[i], EV_READ | EV_PERSIST, read_cb,
		    (void *)(intptr_t)i);
		event_add(&evs[i], NULL);
	}
}

/* Not inlined: callgrind starts and stops counting at these functions. */
static void __attribute__((noinline)) run_plain(void)
{
	one_round();
}

static void __attribute__((noinline)) run_rearm(void)
{
	rearm_all();
	one_round();
}

static void
setup(void)
{
	int i, sv[2];

	fds = calloc((size_t)nsock, sizeof(*fds));
	evs = calloc((size_t)nsock, sizeof(*evs));
	if (fds == NULL || evs == NULL) {
		perror("calloc");
		exit(1);
	}
	for (i = 0; i < nsock; i += 2) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1) {
			perror("socketpair");
			exit(1);
		}
		fds[i] = sv[0];
		fds[i + 1] = sv[1];
	}
	for (i = 0; i < nsock; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		event_set(&evs[i], fds[i], EV_READ | EV_PERSIST, read_cb,
		    (void *)(intptr_t)i);
		if (event_add(&evs[i], NULL) == -1) {
			fprintf(stderr, "event_add failed\n");
			exit(1);
		}
	}
}

int
main(int argc, char **argv)
{
	const char *mode = "plain";
	double t, plain_us = 0, rearm_us = 0;
	long limit, rounds = 100, r;
	int c;

	nsock = 1000;
	nactive = 1;
	nwrites = 1000;
	while ((c = getopt(argc, argv, "n:a:w:r:m:")) != -1) {
		switch (c) {
		case 'n': nsock = (int)bu_arg(optarg, USAGE); break;
		case 'a': nactive = (int)bu_arg(optarg, USAGE); break;
		case 'w': nwrites = (int)bu_arg(optarg, USAGE); break;
		case 'r': rounds = bu_arg(optarg, USAGE); break;
		case 'm': mode = optarg; break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	nsock += nsock & 1;
	limit = bu_raise_nofile();
	if (nsock > limit - 32 || nactive > nsock ||
	    (strcmp(mode, "plain") && strcmp(mode, "rearm") &&
		strcmp(mode, "both"))) {
		fprintf(stderr, "bad parameters (open-file limit %ld)\n",
		    limit);
		return 2;
	}
	event_init();
	setup();
	/* Warm up: fault in the backend's arrays and the caches. */
	one_round();
	rearm_all();
	one_round();
	for (r = 0; r < rounds; r++) {
		if (strcmp(mode, "rearm") != 0) {
			t = bu_now_usec();
			run_plain();
			plain_us += bu_now_usec() - t;
		}
		if (strcmp(mode, "plain") != 0) {
			t = bu_now_usec();
			run_rearm();
			rearm_us += bu_now_usec() - t;
		}
	}
	printf("n=%d active=%d writes=%d rounds=%ld events_per_round=%d "
	       "plain_usec=%.3f rearm_usec=%.3f\n",
	    nsock, nactive, nwrites, rounds, nactive + nwrites,
	    plain_us / (double)rounds, rearm_us / (double)rounds);
	return 0;
}
