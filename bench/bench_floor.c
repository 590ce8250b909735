/*
 * bench_floor.c: bench_dispatch's plain rounds written straight on
 * epoll_wait/read/write, with no library in between.  Its time per round is
 * what the system calls alone cost, the floor any event library sits on;
 * a library's time divided by this one is the overhead it adds.
 *
 * Same sockets, same writers, same forwarding and the same non-blocking
 * "poll once, run what is ready" loop as bench_dispatch.c; fds are
 * registered once (level-triggered, as a persistent read event is).
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

#define USAGE \
	"usage: bench_floor [-n sockets] [-a active] [-w writes] " \
	"[-r rounds] [-m plain]"
#define MAXEV 1024

static int nsock, nactive, nwrites, epfd;
static int *fds;
static long count, fired, writes;

#define PEER(i) ((i) ^ 1)

static void
on_readable(int idx)
{
	int next;
	char ch;

	if (read(fds[idx], &ch, 1) == 1)
		count++;
	if (writes > 0) {
		next = idx + 1 == nsock ? 0 : idx + 1;
		if (write(fds[PEER(next)], "e", 1) == 1) {
			writes--;
			fired++;
		}
	}
}

static void
one_round(void)
{
	static struct epoll_event ready[MAXEV];
	int space = nsock / nactive, i, n;

	fired = 0;
	count = 0;
	writes = nwrites;
	for (i = 0; i < nactive; i++)
		if (write(fds[PEER(i * space)], "e", 1) == 1)
			fired++;
	do {
		n = epoll_wait(epfd, ready, MAXEV, 0);
		for (i = 0; i < n; i++)
			on_readable((int)ready[i].data.u32);
	} while (count != fired);
}

static void
setup(void)
{
	struct epoll_event ee;
	int i, sv[2];

	fds = calloc((size_t)nsock, sizeof(*fds));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (fds == NULL || epfd == -1) {
		perror("setup");
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
		ee.events = EPOLLIN;
		ee.data.u64 = 0;
		ee.data.u32 = (uint32_t)i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ee) == -1) {
			perror("epoll_ctl");
			exit(1);
		}
	}
}

int
main(int argc, char **argv)
{
	double t, plain_us = 0;
	long limit, rounds = 100, r;
	int c;

	nsock = 1000;
	nactive = 1;
	nwrites = 1000;
	/* -m plain is accepted so the script can call both programs alike. */
	while ((c = getopt(argc, argv, "n:a:w:r:m:")) != -1) {
		switch (c) {
		case 'n': nsock = (int)bu_arg(optarg, USAGE); break;
		case 'a': nactive = (int)bu_arg(optarg, USAGE); break;
		case 'w': nwrites = (int)bu_arg(optarg, USAGE); break;
		case 'r': rounds = bu_arg(optarg, USAGE); break;
		case 'm':
			if (strcmp(optarg, "plain") == 0)
				break;
			/* FALLTHROUGH */
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	nsock += nsock & 1;
	limit = bu_raise_nofile();
	if (nsock > limit - 32 || nactive > nsock) {
		fprintf(stderr, "bad parameters (open-file limit %ld)\n",
		    limit);
		return 2;
	}
	setup();
	one_round();
	one_round();
	for (r = 0; r < rounds; r++) {
		t = bu_now_usec();
		one_round();
		plain_us += bu_now_usec() - t;
	}
	printf("n=%d active=%d writes=%d rounds=%ld events_per_round=%d "
	       "plain_usec=%.3f\n",
	    nsock, nactive, nwrites, rounds, nactive + nwrites,
	    plain_us / (double)rounds);
	return 0;
}
