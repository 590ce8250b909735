/*
 * bench_http.c: a hello-world evhttp server on the 1.4 API, for load
 * generators (wrk) and for counting the memory idle connections cost.
 *
 * It listens on 127.0.0.1 at a kernel-chosen port (or -p PORT) with a
 * deep accept backlog, prints "port=N" on stdout, and answers every
 * request with a 14-byte text body.  SIGTERM or SIGINT ends the loop
 * cleanly (so callgrind writes its profile) and prints "requests=N".
 * -t SECONDS ends it by itself after that long, so a forgotten server
 * never outlives the benchmark.
 *
 * The loop runs inside serve(), which bench/run.sh names to callgrind's
 * --toggle-collect.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

#include "bench_util.h"

#define USAGE "usage: bench_http [-p port] [-t max_seconds]"

static long nrequests;

static void
hello_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();

	(void)arg;
	if (body == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
		return;
	}
	evbuffer_add(body, "Hello, world!\n", 14);
	evhttp_add_header(req->output_headers, "Content-Type", "text/plain");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
	nrequests++;
}

static void
stop_cb(int fd, short which, void *arg)
{
	(void)fd;
	(void)which;
	(void)arg;
	event_loopexit(NULL);
}

static int
listen_loopback(int port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, on = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	printf("port=%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}

static void __attribute__((noinline)) serve(void)
{
	event_dispatch();
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct event sigterm, sigint, deadline;
	struct timeval tv = { 600, 0 };
	struct evhttp *http;
	int c, fd, port = 0;

	while ((c = getopt(argc, argv, "p:t:")) != -1) {
		switch (c) {
		case 'p': port = (int)bu_arg(optarg, USAGE); break;
		case 't': tv.tv_sec = bu_arg(optarg, USAGE); break;
		default: fprintf(stderr, "%s\n", USAGE); return 2;
		}
	}
	bu_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	base = event_init();
	http = evhttp_new(base);
	if (http == NULL || (fd = listen_loopback(port)) == -1 ||
	    evhttp_accept_socket(http, fd) == -1) {
		perror("listen");
		return 1;
	}
	evhttp_set_gencb(http, hello_cb, NULL);
	signal_set(&sigterm, SIGTERM, stop_cb, NULL);
	signal_add(&sigterm, NULL);
	signal_set(&sigint, SIGINT, stop_cb, NULL);
	signal_add(&sigint, NULL);
	evtimer_set(&deadline, stop_cb, NULL);
	evtimer_add(&deadline, &tv);
	serve();
	printf("requests=%ld\n", nrequests);
	fflush(stdout);
	evhttp_free(http);
	return 0;
}
