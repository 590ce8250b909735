/*
 * bench_idle.c: opens N idle TCP connections to 127.0.0.1:PORT and holds
 * them, so bench/run.sh can read what they cost the server in memory.
 *
 *   bench_idle -p PORT [-n 5000] [-t hold_seconds]
 *
 * It connects one socket at a time (blocking connect on loopback is quick
 * and never overruns the server's accept backlog), prints "connected=N",
 * then sends nothing and waits until SIGTERM, or at most -t seconds
 * (default 60), so it always ends by itself.  With -k each connection
 * first makes one keep-alive request and reads its whole reply (a
 * kept-alive connection between requests, the idle connection of a busy
 * server).
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

#define USAGE \
	"usage: bench_idle -p port [-n connections] [-t hold_seconds] [-k]"

/* Being told to stop is the normal end: exit quietly and successfully. */
static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

/*
 * Send a GET on fd and read the reply up to the end of its body (the
 * server sends a Content-Length); -1 on error.
 */
static int
one_request(int fd)
{
	static const char q[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
	char buf[4096], *end, *cl;
	size_t have = 0, need = 0;
	ssize_t r;

	if (write(fd, q, sizeof(q) - 1) != (ssize_t)(sizeof(q) - 1)) {
		perror("write");
		return -1;
	}
	for (;;) {
		if ((r = read(fd, buf + have, sizeof(buf) - 1 - have)) <= 0) {
			perror("read");
			return -1;
		}
		have += (size_t)r;
		buf[have] = '\0';
		if (need == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = strstr(buf, "Content-Length: ");
			need = (size_t)(end + 4 - buf) +
			    (cl != NULL && cl < end ?
				    strtoul(cl + 16, NULL, 10) :
				    0);
		}
		if (need > 0 && have >= need)
			return 0;
		if (have == sizeof(buf) - 1) {
			fprintf(stderr, "bench_idle: reply too long\n");
			return -1;
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	long n = 5000, hold = 60, port = 0, i, limit;
	int c, fd, keep = 0;

	while ((c = getopt(argc, argv, "p:n:t:k")) != -1) {
		switch (c) {
		case 'k': keep = 1; break;
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
		if (keep && one_request(fd) == -1)
			return 1;
	}
	signal(SIGTERM, on_term);
	printf("connected=%ld\n", n);
	fflush(stdout);
	sleep((unsigned int)hold);
	return 0;
}
