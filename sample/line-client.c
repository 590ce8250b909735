/*
 * line-client.c: a line-based client on bufferevents.  It sends what it
 * reads on standard input to a server and prints every line the server
 * sends back.  When standard input ends it closes its sending side and
 * waits for the server to finish answering and close.
 *
 *	usage: line-client [host [port]]	(default 127.0.0.1 8080)
 *
 * Try it with the echo server:
 *	./echo-server 8080 &  printf 'hi\nthere\n' | ./line-client
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <netdb.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

static struct bufferevent *server, *input;
static int server_fd, exit_code;

/* All of standard input has been sent: tell the server we are done. */
static void
on_sent_all(struct bufferevent *bev, void *arg)
{
	shutdown(server_fd, SHUT_WR);
}

static void
input_done(void)
{
	bufferevent_setcb(server, server->readcb, on_sent_all, server->errorcb,
	    NULL);
	if (EVBUFFER_LENGTH(EVBUFFER_OUTPUT(server)) == 0)
		on_sent_all(server, NULL);
}

static void
on_input(struct bufferevent *bev, void *arg)
{
	bufferevent_write_buffer(server, EVBUFFER_INPUT(bev));
}

static void
on_input_error(struct bufferevent *bev, short what, void *arg)
{
	if (what & EVBUFFER_ERROR)
		perror("line-client: stdin");
	bufferevent_disable(bev, EV_READ);
	input_done();
}

static void
on_reply(struct bufferevent *bev, void *arg)
{
	char *line;

	while ((line = evbuffer_readln(EVBUFFER_INPUT(bev), NULL,
		    EVBUFFER_EOL_CRLF)) != NULL) {
		printf("%s\n", line);
		free(line);
	}
	fflush(stdout);
}

static void
on_server_error(struct bufferevent *bev, short what, void *arg)
{
	struct evbuffer *in = EVBUFFER_INPUT(bev);

	/* A last line without its end is still worth showing. */
	if (EVBUFFER_LENGTH(in) > 0) {
		fwrite(EVBUFFER_DATA(in), 1, EVBUFFER_LENGTH(in), stdout);
		putchar('\n');
		fflush(stdout);
	}
	if (!(what & EVBUFFER_EOF)) {
		fprintf(stderr, "line-client: connection %s\n",
		    (what & EVBUFFER_TIMEOUT) ? "timed out" : strerror(errno));
		exit_code = 1;
	}
	event_loopexit(NULL);
}

/* A connected socket to host:port, or -1. */
static int
connect_to(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "line-client: %s: %s\n", host,
		    gai_strerror(err));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fprintf(stderr, "line-client: cannot connect to %s:%s\n", host,
		    port);
	return fd;
}

/*
 * Standard input cannot always be watched (a regular file, under epoll);
 * then it is simply read whole and queued.
 */
static void
slurp_input(void)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
		bufferevent_write(server, chunk, (size_t)n);
	input_done();
}

int
main(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	const char *port = argc > 2 ? argv[2] : "8080";
	struct event_base *base;

	if (argc > 3) {
		fprintf(stderr, "usage: line-client [host [port]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_init();
	if ((server_fd = connect_to(host, port)) == -1)
		return 1;
	evutil_make_socket_nonblocking(server_fd);

	server = bufferevent_new(server_fd, on_reply, NULL, on_server_error,
	    NULL);
	input = bufferevent_new(STDIN_FILENO, on_input, NULL, on_input_error,
	    NULL);
	if (server == NULL || input == NULL)
		return 1;
	bufferevent_enable(server, EV_READ);
	if (bufferevent_enable(input, EV_READ) == -1)
		slurp_input();

	event_dispatch();

	bufferevent_free(input);
	bufferevent_free(server);
	close(server_fd);
	event_base_free(base);
	return exit_code;
}
