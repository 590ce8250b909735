/*
 * bench_idle.c: opens N idle TCP connections to 127.0.0.1:PORT and holds
 * them, so bench/run.sh can read what they cost the server in memory.
 *
 *   bench_idle -p PORT [-n 5000] [-t hold_seconds]
 *
 * It connects one socket at a time (blocking connect on loopback is quick
 * and never overruns the server's accept backlog), prints "connected=N",
 * then sends nothing and waits until SIGTERM, or at most -t seconds
 * (default 60), so it always ends by itself.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

#define USAGE "usage: bench_idle -p port [-n connections] [-t hold_seconds]"

/* Being told to stop is the normal end: exit quietly and successfully. */
static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	long n = 5000, hold = 60, port = 0, i, limit;
	int c, fd;

	while ((c = getopt(argc, argv, "p:n:t:")) != -1) {
		switch (c) {
		case 'p': port = bu_arg(optarg, USAGE); break;
		case 'n': n = bu_arg(optarg, USAGE); break;
		case 't': hold = bu_arg(optarg, USAGE); break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	limit = bu_raise_nofile();
	if (port <= 0 || port > 65535 || n > limit - 32) {
		fprintf(stderr, "%s (open-file limit %ld)\n", USAGE, limit);
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	for (i = 0; i < n; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd == -1 ||
		    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
			perror("connect");
			return 1;
		}
	}
	signal(SIGTERM, on_term);
	printf("connected=%ld\n", n);
	fflush(stdout);
	sleep((unsigned int)hold);
	return 0;
}
