/*
 * periodic-timer.c: print the time every second (or every N seconds given
 * on the command line), re-adding a one-shot timer from its own callback:
 * the classic libevent 1.4 timer program.
 *
 *	gcc periodic-timer.c -levent && ./a.out 2
 */
#include <sys/types.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event.h>

static struct timeval period = { 1, 0 };

static void
tick(int fd, short what, void *arg)
{
	struct event *timer = arg;
	time_t now = time(NULL);
	char buf[64];

	strftime(buf, sizeof(buf), "%H:%M:%S", localtime(&now));
	printf("tick at %s\n", buf);
	fflush(stdout);
	/* A timer fires once; add it again for the next period. */
	event_add(timer, &period);
}

int
main(int argc, char **argv)
{
	struct event timer;

	if (argc > 1)
		period.tv_sec = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
	event_init();
	evtimer_set(&timer, tick, &timer);
	event_add(&timer, &period);
	return event_dispatch();
}
