/*
 * fifo-reader.c: create a named pipe and print what writers send to it,
 * with a persistent read event.
 *
 *	gcc fifo-reader.c -levent && ./a.out /tmp/event.fifo &
 *	echo hello > /tmp/event.fifo
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event.h>

static const char *path = "event.fifo";

static void
fifo_read(int fd, short what, void *arg)
{
	char buf[256];
	ssize_t n;

	n = read(fd, buf, sizeof(buf) - 1);
	if (n == -1) {
		if (errno != EAGAIN)
			perror("read");
		return;
	}
	if (n == 0) {
		/* The last writer closed; keep listening for the next one. */
		return;
	}
	buf[n] = '\0';
	printf("read %zd bytes: %s", n, buf);
	if (buf[n - 1] != '\n')
		printf("\n");
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct event ev;
	int fd;

	if (argc > 1)
		path = argv[1];
	unlink(path);
	if (mkfifo(path, 0600) == -1) {
		perror("mkfifo");
		return 1;
	}
	/* O_RDWR keeps a writer open ourselves, so EOF never spins. */
	fd = open(path, O_RDWR | O_NONBLOCK);
	if (fd == -1) {
		perror("open");
		return 1;
	}
	printf("write to %s\n", path);
	fflush(stdout);
	event_init();
	event_set(&ev, fd, EV_READ | EV_PERSIST, fifo_read, &ev);
	event_add(&ev, NULL);
	event_dispatch();
	return 0;
}
