/*
 * http-hello.c: the classic evhttp server.  It answers every request with
 * "Thanks for the request!".
 *
 *   http-hello [port] [address]     (defaults: 8080, 127.0.0.1)
 *   curl http://127.0.0.1:8080/anything
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>

#include <event.h>
#include <evhttp.h>

/* Called for every request no other callback claims. */
static void
generic_handler(struct evhttp_request *req, void *arg)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
		return;
	}
	evbuffer_add_printf(buf, "Thanks for the request!\n");
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

int
main(int argc, char **argv)
{
	const char *address = argc > 2 ? argv[2] : "127.0.0.1";
	int port = argc > 1 ? atoi(argv[1]) : 8080;
	struct evhttp *httpd;

	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: %s [port] [address]\n", argv[0]);
		return 1;
	}
	event_init();
	httpd = evhttp_start(address, (u_short)port);
	if (httpd == NULL) {
		fprintf(stderr, "cannot listen on %s:%d\n", address, port);
		return 1;
	}
	evhttp_set_gencb(httpd, generic_handler, NULL);
	printf("listening on http://%s:%d/\n", address, port);
	fflush(stdout);
	event_dispatch();
	evhttp_free(httpd);
	return 0;
}
