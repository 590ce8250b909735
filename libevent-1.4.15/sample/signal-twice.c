/*
 * signal-twice.c: catch SIGINT through a signal event; the first Ctrl-C
 * prints a message, the second one ends the program.
 *
 *	gcc signal-twice.c -levent && ./a.out
 */
#include <sys/types.h>
#include <sys/time.h>
#include <signal.h>
#include <stdio.h>

#include <event.h>

static int caught;

static void
on_sigint(int sig, short what, void *arg)
{
	struct event *ev = arg;

	printf("got signal %d (%d so far)\n", sig, ++caught);
	fflush(stdout);
	if (caught >= 2) {
		/* Deleting the only event lets event_dispatch() return. */
		event_del(ev);
	}
}

int
main(void)
{
	struct event ev;

	event_init();
	signal_set(&ev, SIGINT, on_sigint, &ev);
	signal_add(&ev, NULL);
	printf("press Ctrl-C twice to exit\n");
	fflush(stdout);
	event_dispatch();
	printf("bye\n");
	return 0;
}
