/*
 * http-file-reload.c: serve one file over HTTP, and reload it every five
 * seconds when its modification time has changed.
 *
 *   http-file-reload FILE [port] [address]   (defaults: 8080, 127.0.0.1)
 *   curl http://127.0.0.1:8080/
 *
 * The file is read into memory at start and by a persistent timer, so a
 * request never waits for the disk; an edit shows up within five seconds.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event.h>
#include <evhttp.h>

#define RELOAD_SECS 5

struct served_file {
	const char *path;
	struct evbuffer *contents; /* the file as last read */
	struct timespec mtime;	   /* its mtime then */
	int loaded;
	struct event reload_ev;
};

/* Read the whole file into a new buffer; NULL on error. */
static struct evbuffer *
read_file(const char *path)
{
	struct evbuffer *buf;
	char chunk[8192];
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	if ((buf = evbuffer_new()) == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (evbuffer_add(buf, chunk, n) == -1)
			break;
	}
	if (ferror(fp) || !feof(fp)) {
		evbuffer_free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

/* Reload the file if its mtime differs from the one we have. */
static void
maybe_reload(struct served_file *f)
{
	struct evbuffer *fresh;
	struct stat st;

	if (stat(f->path, &st) == -1) {
		fprintf(stderr, "stat %s: %s\n", f->path, strerror(errno));
		return;
	}
	if (f->loaded && st.st_mtim.tv_sec == f->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == f->mtime.tv_nsec)
		return;
	if ((fresh = read_file(f->path)) == NULL) {
		fprintf(stderr, "cannot read %s\n", f->path);
		return;
	}
	if (f->contents != NULL)
		evbuffer_free(f->contents);
	f->contents = fresh;
	f->mtime = st.st_mtim;
	if (f->loaded)
		printf("reloaded %s (%zu bytes)\n", f->path,
		    EVBUFFER_LENGTH(fresh));
	f->loaded = 1;
	fflush(stdout);
}

static void
reload_cb(int fd, short what, void *arg)
{
	struct served_file *f = arg;
	struct timeval tv = { RELOAD_SECS, 0 };

	maybe_reload(f);
	evtimer_add(&f->reload_ev, &tv);
}

static void
serve_cb(struct evhttp_request *req, void *arg)
{
	struct served_file *f = arg;
	struct evbuffer *buf;

	if (f->contents == NULL || (buf = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "No file");
		return;
	}
	/* Copy: the reply empties the buffer it is given. */
	evbuffer_add(buf, EVBUFFER_DATA(f->contents),
	    EVBUFFER_LENGTH(f->contents));
	evhttp_add_header(req->output_headers, "Content-Type",
	    "text/plain; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
	evbuffer_free(buf);
}

int
main(int argc, char **argv)
{
	struct served_file f;
	struct timeval tv = { RELOAD_SECS, 0 };
	const char *address = argc > 3 ? argv[3] : "127.0.0.1";
	int port = argc > 2 ? atoi(argv[2]) : 8080;
	struct evhttp *httpd;

	if (argc < 2 || port <= 0 || port > 65535) {
		fprintf(stderr, "usage: %s FILE [port] [address]\n", argv[0]);
		return 1;
	}
	memset(&f, 0, sizeof(f));
	f.path = argv[1];
	maybe_reload(&f);
	if (!f.loaded)
		return 1;

	event_init();
	if ((httpd = evhttp_start(address, (u_short)port)) == NULL) {
		fprintf(stderr, "cannot listen on %s:%d\n", address, port);
		return 1;
	}
	evhttp_set_gencb(httpd, serve_cb, &f);
	evtimer_set(&f.reload_ev, reload_cb, &f);
	evtimer_add(&f.reload_ev, &tv);
	printf("serving %s on http://%s:%d/\n", f.path, address, port);
	fflush(stdout);
	event_dispatch();
	evhttp_free(httpd);
	return 0;
}
