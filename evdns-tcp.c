/* evdns-tcp.c: placeholder */
#include "evdns-resolv-internal.h"
void
ev__dns_tcp_close(struct nameserver *ns)
{
	(void)ns;
}
