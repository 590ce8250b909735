/*
 * test_dns_resolve.c: what the evdns resolver's lookups return.
 *
 * A, AAAA, PTR and CNAME chains, error replies, names the resolver must
 * refuse, and the search list, against our own server port on 127.0.0.1
 * (see tserver in test_dns_util.h), then the same lookups against a real
 * dnsmasq the test starts on a loopback port.
 */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event.h>
#include <evdns.h>

#include "evdns-internal.h"
#include "test_util.h"
#include "test_dns_util.h"

static void
test_resolve_a_aaaa(void **state)
{
	struct tserver ts;
	struct result r;
	char buf[INET6_ADDRSTRLEN];

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	assert_int_equal(evdns_count_nameservers(), 1);
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.type, DNS_IPv4_A);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.ttl, 300);
	assert_ipv4(&r, 0, "10.0.0.1");
	assert_ipv4(&r, 1, "10.0.0.2");
	/* The server saw the resolver's loopback address. */
	assert_int_equal(ts.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv6("A.Example.COM", 0, result_cb, &r),
	    0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.type, DNS_IPv6_AAAA);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.ttl, 200);
	inet_ntop(AF_INET6, r.addrs, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
	evdns_close_server_port(ts.port);
}

/* Start a reverse lookup of ip (IPv4 or IPv6) into r and wait for it. */
static void
reverse_wait(const char *ip, struct result *r)
{
	struct in_addr in;
	struct in6_addr in6;

	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, ip, &in) == 1)
		assert_int_equal(evdns_resolve_reverse(&in, 0, result_cb, r),
		    0);
	else {
		assert_int_equal(inet_pton(AF_INET6, ip, &in6), 1);
		assert_int_equal(evdns_resolve_reverse_ipv6(&in6, 0, result_cb,
				     r),
		    0);
	}
	assert_true(run_until(&r->calls, 1, 5000));
}

static void
test_resolve_ptr(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	reverse_wait("10.0.0.1", &r);
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.type, DNS_PTR);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.ttl, 100);
	assert_string_equal(r.name, "a.example.com");

	/* An IPv6 reverse query asks the nibble name in ip6.arpa. */
	reverse_wait("2001:db8::1", &r);
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_string_equal(ts.names[1],
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	evdns_close_server_port(ts.port);
}

static void
test_cname_chain(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	resolve4("alias.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.count, 2);
	assert_ipv4(&r, 1, "10.0.0.2");
	assert_int_equal(r.ttl, 40); /* the smallest TTL on the chain */
	evdns_close_server_port(ts.port);
}

static void
test_errors(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	resolve4("nx.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_int_equal(r.count, 0);

	resolve4("fail.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_SERVERFAILED);

	/* A reply with no answer of the type asked. */
	resolve4("nodata.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_UNKNOWN);

	/* 40 records do not fit in 512 bytes, but in the 1232 that EDNS
	 * advertises, which the server honours. */
	resolve4("big.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.count, EV__DNS_MAX_ADDRS);
	/* Without EDNS, TC is set; this server has no TCP, so the
	 * truncation is what the caller hears. */
	dns_option("edns-udp-size:", "0");
	resolve4("big.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_TRUNCATED);
	assert_int_equal(r.calls, 1);
	assert_non_null(evdns_err_to_string(DNS_ERR_TRUNCATED));
	assert_non_null(evdns_err_to_string(12345));
	evdns_close_server_port(ts.port);
}

static void
test_search(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	evdns_search_add("nosuch.test");
	evdns_search_add(".search1.test.");
	/* No dot: the domains first. */
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.1.1.1");
	assert_int_equal(ts.nreq, 2);
	assert_string_equal(ts.names[0], "host.nosuch.test");
	assert_string_equal(ts.names[1], "host.search1.test");
	/* Enough dots: the name itself first, and it exists. */
	resolve4("a.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(ts.nreq, 3);
	/* Nothing matches: name, then each domain, then the last error. */
	resolve4("nx.example.com", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_int_equal(ts.nreq, 6);
	assert_string_equal(ts.names[3], "nx.example.com");
	assert_string_equal(ts.names[5], "nx.example.com.search1.test");
	/* ndots 2: "x.y" tries the domains first, the name last. */
	evdns_search_ndots_set(2);
	resolve4("x.y", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(ts.nreq, 9);
	assert_string_equal(ts.names[6], "x.y.nosuch.test");
	assert_string_equal(ts.names[8], "x.y");
	/* No search: the flag, or a final dot. */
	resolve4("host", DNS_QUERY_NO_SEARCH, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	resolve4("host.", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(ts.nreq, 11);
	assert_string_equal(ts.names[10], "host");
	/* After clearing, a bare name is asked as it is. */
	evdns_search_clear();
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(ts.nreq, 12);
	evdns_close_server_port(ts.port);
}

/* CVE-2016-10197: an empty name with a search list read before it. */
static void
test_bad_names(void **state)
{
	struct result r;
	char longname[300];

	add_ns_port(9);
	evdns_search_add("example.com");
	memset(&r, 0, sizeof(r));
	assert_int_not_equal(evdns_resolve_ipv4("", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv6("", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv4(".", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv4("a..b", 0, result_cb, &r), 0);
	assert_int_not_equal(evdns_resolve_ipv4(NULL, 0, result_cb, &r), 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_not_equal(evdns_resolve_ipv4(longname, 0, result_cb, &r), 0);
	assert_int_equal(r.calls, 0);
}

/* Wait until a server answers a query: 0 when it does, -1 if it dies. */
static int
wait_for_server(pid_t pid, unsigned short port)
{
	struct sockaddr_in sin;
	struct timeval tv = { 0, 100000 };
	uint8_t q[512], reply[512];
	unsigned short cport;
	int fd, len, i, status;

	fd = udp_socket(&cport);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	loopback_addr(&sin, port);
	len = ev__dns_query_build(q, sizeof(q), 1, "a.dns.test", EVDNS_TYPE_A);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sendto(fd, q, (size_t)len, 0, (struct sockaddr *)&sin,
		    sizeof(sin));
		if (recv(fd, reply, sizeof(reply), 0) > 0) {
			close(fd);
			return 0;
		}
	}
	close(fd);
	return -1;
}

/*
 * A port free for both UDP and TCP (dnsmasq binds both): the kernel picks
 * a TCP port that nothing holds, not even a TIME-WAIT connection, and the
 * UDP port of the same number must be free too.
 */
static unsigned short
free_port_udp_tcp(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int t, u, i;

	for (i = 0; i < 50; i++) {
		t = socket(AF_INET, SOCK_STREAM, 0);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(t >= 0 && u >= 0);
		loopback_addr(&sin, 0);
		assert_int_equal(bind(t, (struct sockaddr *)&sin, sizeof(sin)),
		    0);
		assert_int_equal(getsockname(t, (struct sockaddr *)&sin, &len),
		    0);
		if (bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(t);
			close(u);
			return ntohs(sin.sin_port);
		}
		close(t);
		close(u);
	}
	fail_msg("no free loopback port");
	return 0;
}

static pid_t
dnsmasq_start(unsigned short *port, const char *hosts)
{
	char portarg[32], hostsarg[200], logpath[] = "/tmp/test_dns_log.XXXXXX";
	char msg[256];
	ssize_t n;
	pid_t pid;
	int tries, logfd;

	/* dnsmasq's messages go to a file, shown only if it fails. */
	logfd = mkstemp(logpath);
	assert_true(logfd >= 0);
	unlink(logpath);
	for (tries = 0; tries < 10; tries++) {
		*port = free_port_udp_tcp(); /* and still free, probably */
		snprintf(portarg, sizeof(portarg), "--port=%u", *port);
		snprintf(hostsarg, sizeof(hostsarg), "--addn-hosts=%s", hosts);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			dup2(logfd, 1);
			dup2(logfd, 2);
			execl("/usr/sbin/dnsmasq", "dnsmasq", "-k", "-C",
			    "/dev/null", "--no-resolv", "--no-hosts", hostsarg,
			    portarg, "--listen-address=127.0.0.1",
			    "--bind-interfaces",
			    "--pid-file=", "--local=/dns.test/",
			    "--local-ttl=77", "--log-facility=-", (char *)NULL);
			_exit(127);
		}
		if (wait_for_server(pid, *port) == 0) {
			close(logfd);
			return pid;
		}
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	n = pread(logfd, msg, sizeof(msg) - 1, 0);
	msg[n > 0 ? n : 0] = '\0';
	close(logfd);
	fail_msg("/usr/sbin/dnsmasq did not start: %s", msg);
	return -1;
}

static void
test_dnsmasq(void **state)
{
	static const char hosts_data[] = "10.0.0.1 a.dns.test\n"
					 "2001:db8::1 a.dns.test\n"
					 "10.0.0.2 b.dns.test\n";
	char hosts[] = "/tmp/test_dns_hosts.XXXXXX";
	struct result r;
	unsigned short port;
	char buf[INET6_ADDRSTRLEN];
	pid_t pid;
	int fd, i;

	fd = mkstemp(hosts);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hosts_data, sizeof(hosts_data) - 1),
	    (ssize_t)sizeof(hosts_data) - 1);
	/* 100 addresses: 1,600 bytes of answers, more than 1232. */
	for (i = 1; i <= 100; i++)
		dprintf(fd, "10.3.0.%d many.dns.test\n", i);
	fchmod(fd, 0644); /* dnsmasq reads it as another user */
	close(fd);
	pid = dnsmasq_start(&port, hosts);
	add_ns_port(port);
	evdns_search_add("dns.test");

	resolve4("a.dns.test", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.ttl, 77);
	assert_ipv4(&r, 0, "10.0.0.1");

	resolve4("b", 0, &r); /* through the search list */
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.0.0.2");

	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_ipv6("a.dns.test", 0, result_cb, &r), 0);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	inet_ntop(AF_INET6, r.addrs, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");

	reverse_wait("10.0.0.2", &r);
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_string_equal(r.name, "b.dns.test");

	reverse_wait("2001:db8::1", &r);
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_string_equal(r.name, "a.dns.test");

	resolve4("nx.dns.test", DNS_QUERY_NO_SEARCH, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);

	/* Truncated over UDP, then in full over TCP. */
	resolve4("many.dns.test", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_int_equal(r.count, EV__DNS_MAX_ADDRS);
	assert_int_equal(r.ttl, 77);
	assert_int_equal(memcmp(r.addrs, "\12\3\0", 3), 0);

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(hosts);
}

/* A search that has started keeps the list it started with. */
static void
test_search_changed_while_searching(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	evdns_search_add("nosuch.test");
	evdns_search_add("search1.test");
	ts.defer = 1;
	resolve4("host", 0, &r);
	assert_true(run_until(&ts.nheld, 1, 5000));
	evdns_search_clear();
	evdns_search_add("other.test");
	evdns_search_ndots_set(3);
	ts.defer = 0;
	tserver_answer(ts.held[0], ts.held[0]->questions[0]);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NONE);
	assert_ipv4(&r, 0, "10.1.1.1");
	assert_string_equal(ts.names[1], "host.search1.test");
	/* A new search uses the new list: "a.b" has fewer than 3 dots. */
	resolve4("a.b", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_int_equal(r.err, DNS_ERR_NOTEXIST);
	assert_int_equal(ts.nreq, 4);
	assert_string_equal(ts.names[2], "a.b.other.test");
	assert_string_equal(ts.names[3], "a.b");
	evdns_close_server_port(ts.port);
}

static int nwarn;
static char last_warn[256];

static void
capture_log(int severity, const char *msg)
{
	if (severity >= _EVENT_LOG_WARN) {
		nwarn++;
		snprintf(last_warn, sizeof(last_warn), "%s", msg);
	}
}

/* Missing arguments are refused, invalid search domains ignored; without
 * evdns_set_log_fn() the warnings go to the library's log. */
static void
test_bad_arguments(void **state)
{
	struct tserver ts;
	struct result r;

	tserver_start(&ts);
	add_ns_port(ts.portnum);
	memset(&r, 0, sizeof(r));
	assert_int_equal(evdns_resolve_reverse(NULL, 0, result_cb, &r), -1);
	assert_int_equal(evdns_resolve_reverse_ipv6(NULL, 0, result_cb, &r),
	    -1);
	assert_int_equal(evdns_resolve_ipv4("a.example.com", 0, NULL, &r), -1);
	evdns_search_add(NULL);
	evdns_search_add("...");
	evdns_search_add("a..b");
	resolve4("host", 0, &r);
	assert_true(run_until(&r.calls, 1, 5000));
	assert_string_equal(ts.names[0], "host");
	assert_int_equal(ts.nreq, 1);

	evdns_set_log_fn(NULL);
	event_set_log_callback(capture_log);
	nwarn = 0;
	assert_int_equal(evdns_resolve_ipv4("a..b", 0, result_cb, &r), -1);
	event_set_log_callback(NULL);
	assert_int_equal(nwarn, 1);
	assert_non_null(
	    strstr(last_warn, "evdns: cannot resolve invalid name"));
	assert_int_equal(r.calls, 1);
	evdns_close_server_port(ts.port);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DNS_TEST(test_resolve_a_aaaa),
		DNS_TEST(test_resolve_ptr),
		DNS_TEST(test_cname_chain),
		DNS_TEST(test_errors),
		DNS_TEST(test_search),
		DNS_TEST(test_search_changed_while_searching),
		DNS_TEST(test_bad_names),
		DNS_TEST(test_bad_arguments),
		DNS_TEST(test_dnsmasq),
	};

	return TU_RUN_PER_BACKEND("dns_resolve", tests);
}
