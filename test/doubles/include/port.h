/*
 * port.h of the event ports test double: the port_create(3C) family as
 * illumos documents it, for building evport.c on Linux.  Never installed;
 * the implementation is test/doubles/port_double.c.
 */
#ifndef DOUBLES_PORT_H
#define DOUBLES_PORT_H

#include <stdint.h>
#include <time.h>

typedef unsigned int uint_t;
typedef struct timespec timespec_t;

typedef struct port_event {
	int portev_events;	      /* detected events */
	unsigned short portev_source; /* event source */
	unsigned short portev_pad;
	uintptr_t portev_object; /* the fd, for PORT_SOURCE_FD */
	void *portev_user;	 /* the cookie given at association */
} port_event_t;

#define PORT_SOURCE_AIO	  1
#define PORT_SOURCE_TIMER 2
#define PORT_SOURCE_USER  3
#define PORT_SOURCE_FD	  4
#define PORT_SOURCE_ALERT 5
#define PORT_SOURCE_MQ	  6
#define PORT_SOURCE_FILE  7

#define PORT_ALERT_SET	  0x01
#define PORT_ALERT_UPDATE 0x02

int port_create(void);
int
port_associate(int port, int source, uintptr_t object, int events, void *user);
int port_dissociate(int port, int source, uintptr_t object);
int port_get(int port, port_event_t *pe, struct timespec *timeout);
int port_getn(int port, port_event_t list[], uint_t max, uint_t *nget,
    struct timespec *timeout);
int port_send(int port, int events, void *user);
int port_alert(int port, int flags, int events, void *user);

#endif /* DOUBLES_PORT_H */
