/*
 * http_stream_rss.c: how much memory our HTTP client takes for a long
 * response, using only 1.4's interface (so the same program measures any
 * build).  A child process serves one response of MIB MiB (default 2048),
 * close-delimited, or chunked with "chunked" as the second argument; the
 * parent fetches it with evhttp_make_request() (a chunk callback that
 * drops each piece when chunked) and prints its peak resident size.
 *
 *     cc -I include bench/http_stream_rss.c .libs/libevent.a -o rss
 *     ./rss 2048 [chunked]
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evhttp.h>

static int status = -2;
static unsigned long long got;

static void
done_cb(struct evhttp_request *req, void *arg)
{
	status = req != NULL ? req->response_code : -1;
	if (req != NULL)
		got += EVBUFFER_LENGTH(req->input_buffer);
	event_loopexit(NULL);
}

static void
piece_cb(struct evhttp_request *req, void *arg)
{
	got += EVBUFFER_LENGTH(req->input_buffer);
}

/* Serve one response of total bytes on a connection accepted from lfd. */
static void
serve(int lfd, unsigned long long total, int chunked)
{
	static char block[65536 + 16];
	const char *head = chunked ?
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" :
	    "HTTP/1.1 200 OK\r\n\r\n";
	unsigned long long sent = 0;
	size_t n, off;
	int fd = accept(lfd, NULL, NULL);

	if (fd == -1)
		_exit(1);
	/* Read the request, so that closing sends a FIN, not a reset. */
	(void)!read(fd, block, sizeof(block));
	(void)!write(fd, head, strlen(head));
	while (sent < total) {
		n = total - sent < 65536 ? (size_t)(total - sent) : 65536;
		off = chunked ? (size_t)snprintf(block, 16, "%zx\r\n", n) : 0;
		memset(block + off, 'x', n);
		if (chunked)
			memcpy(block + off + n, "\r\n", 2);
		if (write(fd, block, off + n + (chunked ? 2 : 0)) <= 0)
			_exit(0); /* the client gave up */
		sent += n;
	}
	if (chunked)
		(void)!write(fd, "0\r\n\r\n", 5);
	_exit(0);
}

int
main(int argc, char **argv)
{
	unsigned long long total =
	    (argc > 1 ? strtoull(argv[1], NULL, 10) : 2048) << 20;
	int chunked = argc > 2 && strcmp(argv[2], "chunked") == 0;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct evhttp_connection *evcon;
	struct evhttp_request *req;
	struct rusage ru;
	pid_t pid;
	int lfd;

	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 1) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		return 1;
	if ((pid = fork()) == 0)
		serve(lfd, total, chunked);
	event_init();
	evcon = evhttp_connection_new("127.0.0.1", ntohs(sin.sin_port));
	req = evhttp_request_new(done_cb, NULL);
	if (chunked)
		evhttp_request_set_chunked_cb(req, piece_cb);
	evhttp_make_request(evcon, req, EVHTTP_REQ_GET, "/");
	event_dispatch();
	getrusage(RUSAGE_SELF, &ru);
	printf("%llu MiB %s: status %d, %llu MiB received, peak RSS %ld MiB\n",
	    total >> 20, chunked ? "chunked" : "close-delimited", status,
	    got >> 20, ru.ru_maxrss / 1024);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return 0;
}
