/*
 * bench_dns.c: how many queries per second one evdns resolver sustains
 * against a local dnsmasq, keeping N queries in flight.
 *
 * It writes a hosts file of NAMES names, starts dnsmasq on a free
 * loopback port (--no-resolv, answers only from that file), waits until
 * it answers, then resolves the names round-robin for the given time with
 * N queries always outstanding, and prints the rate.  dnsmasq is stopped
 * at the end.  Only 127.0.0.1 is used.
 *
 * Build (against a build tree) and run:
 *   gcc -O2 -I/work/main/include -I$BUILDDIR/include bench/bench_dns.c \
 *     -L$BUILDDIR/.libs -Wl,-rpath,$BUILDDIR/.libs -levent -o bench_dns
 *   ./bench_dns [-n inflight] [-t seconds] [-d dnsmasq] [-6] [-T] [-V]
 * -6 asks AAAA instead of A.  -T asks for names with BIG_ADDRS addresses
 * each, whose answers (1,600 bytes) do not fit in a datagram: a resolver
 * that falls back to TCP (RFC 7766) answers each over TCP after a
 * truncated UDP reply; one that does not reports them failed.  The rate
 * counts answered lookups only.  -V sends every query over TCP (option
 * "tcp-only:", glibc's use-vc), which libevent 2.1 does not have.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#define NAMES	  256
#define BIG_NAMES 16
#define BIG_ADDRS 100

static int inflight, stopping, ipv6, big, vc;
static long ok, failed, next_name;
static char names[NAMES][32];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void issue(void);

/* BENCH_DNS_LOG=1 shows the resolver's log, debug lines included. */
static void
log_cb(int warn, const char *msg)
{
	fprintf(stderr, "evdns%s: %s\n", warn ? " warning" : "", msg);
}

static void
reply_cb(int err, char type, int count, int ttl, void *addrs, void *arg)
{
	inflight--;
	if (err == DNS_ERR_NONE && count > 0)
		ok++;
	else
		failed++;
	if (!stopping)
		issue();
	else if (inflight == 0)
		event_loopexit(NULL);
}

static void
issue(void)
{
	const char *name = names[next_name++ % (big ? BIG_NAMES : NAMES)];
	int r;

	if (ipv6)
		r = evdns_resolve_ipv6(name, DNS_QUERY_NO_SEARCH, reply_cb,
		    NULL);
	else
		r = evdns_resolve_ipv4(name, DNS_QUERY_NO_SEARCH, reply_cb,
		    NULL);
	if (r != 0) {
		fprintf(stderr, "bench_dns: resolve failed to start\n");
		exit(1);
	}
	inflight++;
}

static void
stop_cb(int fd, short what, void *arg)
{
	stopping = 1;
	if (inflight == 0)
		event_loopexit(NULL);
}

/* A loopback port free for TCP and UDP alike (dnsmasq binds both). */
static unsigned short
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int t, u, i, ok;

	for (i = 0; i < 50; i++) {
		t = socket(AF_INET, SOCK_STREAM, 0);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (t < 0 || u < 0 ||
		    bind(t, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(t, (struct sockaddr *)&sin, &len) < 0) {
			perror("bench_dns: socket");
			exit(1);
		}
		ok = bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(t);
		close(u);
		if (ok)
			return ntohs(sin.sin_port);
	}
	fprintf(stderr, "bench_dns: no free loopback port\n");
	exit(1);
}

/* Ready once a query for names[0] gets any reply. */
static int
wait_ready(pid_t pid, unsigned short port)
{
	static const unsigned char q[] = { 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		2, 'h', '0', 5, 'b', 'e', 'n', 'c', 'h', 4, 't', 'e', 's', 't',
		0, 0, 1, 0, 1 };
	struct sockaddr_in sin;
	struct timeval tv = { 0, 100000 };
	unsigned char buf[512];
	int fd, i, status;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sendto(fd, q, sizeof(q), 0, (struct sockaddr *)&sin,
		    sizeof(sin));
		if (recv(fd, buf, sizeof(buf), 0) > 0) {
			close(fd);
			return 0;
		}
	}
	close(fd);
	return -1;
}

static pid_t
start_dnsmasq(const char *path, const char *hosts, unsigned short *port)
{
	char portarg[32], hostsarg[128];
	pid_t pid;
	int tries, fd;

	for (tries = 0; tries < 10; tries++) {
		*port = free_port();
		snprintf(portarg, sizeof(portarg), "--port=%u", *port);
		snprintf(hostsarg, sizeof(hostsarg), "--addn-hosts=%s", hosts);
		if ((pid = fork()) < 0) {
			perror("bench_dns: fork");
			exit(1);
		}
		if (pid == 0) {
			fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
			execl(path, "dnsmasq", "--keep-in-foreground", "-C",
			    "/dev/null", "--no-resolv", "--no-hosts", hostsarg,
			    portarg, "--listen-address=127.0.0.1",
			    "--bind-interfaces",
			    "--pid-file=", "--local=/bench.test/",
			    "--log-facility=-", (char *)NULL);
			_exit(127);
		}
		if (wait_ready(pid, *port) == 0)
			return pid;
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	fprintf(stderr, "bench_dns: %s did not start\n", path);
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *dnsmasq = "/usr/sbin/dnsmasq";
	char hosts[] = "/tmp/bench_dns_hosts.XXXXXX", ns[32], num[16];
	struct event stop;
	struct timeval tv;
	unsigned short port;
	double secs = 5, t0, el;
	int n = 64, i, c, fd;
	FILE *f;
	pid_t pid;

	while ((c = getopt(argc, argv, "n:t:d:6TV")) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'd': dnsmasq = optarg; break;
		case '6': ipv6 = 1; break;
		case 'T': big = 1; break;
		case 'V': vc = 1; break;
		default:
			fprintf(stderr,
			    "usage: bench_dns [-n inflight] "
			    "[-t seconds] [-d dnsmasq] [-6] [-T] [-V]\n");
			return 1;
		}
	}
	if (n < 1 || n > 65000 || secs <= 0 || secs > 600) {
		fprintf(stderr, "bench_dns: bad -n or -t\n");
		return 1;
	}
	if ((fd = mkstemp(hosts)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("bench_dns: hosts file");
		return 1;
	}
	for (i = 0; i < NAMES; i++) {
		snprintf(names[i], sizeof(names[i]), "h%d.bench.test", i);
		fprintf(f, "10.77.%d.%d %s\nfd00::%x %s\n", i / 250,
		    i % 250 + 1, names[i], i + 1, names[i]);
	}
	if (big) {
		/* big0.bench.test ...: BIG_ADDRS addresses each. */
		for (i = 0; i < BIG_NAMES; i++) {
			snprintf(names[i], sizeof(names[i]), "big%d.bench.test",
			    i);
			for (c = 0; c < BIG_ADDRS; c++)
				fprintf(f, "10.78.%d.%d %s\nfd01::%x:%x %s\n",
				    i, c + 1, names[i], i + 1, c + 1, names[i]);
		}
	}
	fchmod(fd, 0644); /* dnsmasq may read it as another user */
	fclose(f);
	/* The first name must be "h0.bench.test" for wait_ready(). */
	pid = start_dnsmasq(dnsmasq, hosts, &port);

	event_init();
	if (getenv("BENCH_DNS_LOG") != NULL)
		evdns_set_log_fn(log_cb);
	snprintf(ns, sizeof(ns), "127.0.0.1:%u", port);
	snprintf(num, sizeof(num), "%d", n);
	if (evdns_nameserver_ip_add(ns) != 0 ||
	    evdns_set_option("max-inflight:", num, DNS_OPTIONS_ALL) != 0 ||
	    evdns_set_option("timeout:", "2", DNS_OPTIONS_ALL) != 0 ||
	    (vc && evdns_set_option("tcp-only:", "1", DNS_OPTIONS_ALL) != 0)) {
		fprintf(stderr, "bench_dns: cannot configure evdns\n");
		kill(pid, SIGTERM);
		return 1;
	}
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
	evtimer_set(&stop, stop_cb, NULL);
	evtimer_add(&stop, &tv);
	t0 = now();
	for (i = 0; i < n; i++)
		issue();
	event_dispatch();
	el = now() - t0;
	evdns_shutdown(0);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(hosts);
	printf("bench_dns: %s%s%s, %d in flight, %.2f s: %ld answered, "
	       "%ld failed, %.0f queries/s\n",
	    ipv6 ? "AAAA" : "A", big ? " (big: TCP)" : "",
	    vc ? " (all over TCP)" : "", n, el, ok, failed, (double)ok / el);
	return failed > 0 ? 2 : 0;
}
