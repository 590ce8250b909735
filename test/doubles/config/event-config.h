/*
 * event-config.h for the build against the OS doubles (test/doubles/):
 * the configured one, with the kqueue, /dev/poll and event port backends
 * instead of the ones this system has.  The core sources and the three
 * backends are compiled unchanged with this first on the include path.
 */
#include_next <event-config.h>

#undef _EVENT_HAVE_EPOLL
#undef _EVENT_HAVE_POLL
#undef _EVENT_HAVE_SELECT
#define _EVENT_HAVE_EVENT_PORTS	   1
#define _EVENT_HAVE_WORKING_KQUEUE 1
#define _EVENT_HAVE_DEVPOLL	   1
