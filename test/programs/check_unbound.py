"""Functional checks of unbound built against the library.

unbound's comm_base is libevent: UDP and TCP listening sockets, outgoing
UDP/TCP queries to upstreams with their timeouts, TCP idle timers, the
remote-control TLS socket, and SIGHUP/SIGTERM handlers all go through the
loop (util/ub_event.c).

Two parts:
  1. test cases from unbound's own testdata/*.tdir harness, each starting a
     real unbound against a fake upstream (ldns-testns): forwarding over UDP
     and TCP, stub resolution, retry over TCP after a truncated UDP answer,
     unbound-control, the TCP idle timeout, streamed and pipelined TCP
     queries, TLS, the TCP connection limit, the statistics timer;
  2. dig against an unbound we configure here, forwarding to a local stub
     (ldns-testns with our own answers), plus a burst of UDP queries, the
     cache, SIGHUP and SIGTERM.

usage: check_unbound.py UNBOUND_SRCDIR WORKDIR
(the unbound tree must be built, with streamtcp, in place: the tdir
harness runs ../../unbound from testdata/.)
"""

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import progcheck as pc  # noqa: E402

TDIRS = [
    ("fwd_udp", "forward over UDP (tdir)"),
    ("fwd_tcp", "forward over TCP (tdir)"),
    ("fwd_udp_with_tcp_upstream", "UDP query, TCP upstream (tdir)"),
    ("stub_udp", "stub zone over UDP (tdir)"),
    ("stub_udp_with_tcp_upstream", "stub zone, TCP upstream (tdir)"),
    ("fwd_tcp_tc", "truncated UDP answer retried over TCP (tdir)"),
    ("09-unbound-control", "unbound-control remote control (tdir)"),
    ("tcp_idle_timeout", "TCP idle timeout (tdir)"),
    ("stream_tcp", "several queries streamed over one TCP connection (tdir)"),
    ("tcp_req_order", "pipelined TCP queries answered out of order (tdir)"),
    ("stream_ssl", "queries over a TLS listener (tdir)"),
    ("tcp_conn_limit", "TCP connection limit (tdir)"),
    ("stat_timer", "statistics-interval timer (tdir)"),
]

# The harness's get_random_port takes random numbers and checks them only
# against netstat's list, so a port in TIME_WAIT or taken by another job on
# the machine makes the server fail to start (and the harness wait 90 s).
# Our copy of testdata/common.sh gets a get_random_port that tries binding
# each port (progcheck.py ports); a run that still meets a busy port is
# repeated.
PORTS_OVERRIDE = """
# added by check_unbound.py: ports checked by binding them.
get_random_port () {
	RND_PORT=$(python3 %s ports $1) || error "no free ports"
}
"""
PORT_CLASH = re.compile(r"Address already in use|cannot bind|can't bind")


def run_tdir(testdata, name):
    """Run one tdir through unbound's mini_tdir.sh; returns (ok, log)."""
    log = ""
    for attempt in range(3):
        for f in ("result." + name, ".done-" + name, ".skip-" + name):
            if os.path.exists(os.path.join(testdata, f)):
                os.remove(os.path.join(testdata, f))
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        try:
            subprocess.run(pc.reaped(["sh", "../testcode/mini_tdir.sh", "-a",
                                      "../..", "-q", "exe", name + ".tdir"]),
                           cwd=testdata, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=240, env=env)
        except subprocess.TimeoutExpired:
            return False, "timed out after 240 s"
        res = os.path.join(testdata, "result." + name)
        log = open(res, errors="replace").read() if os.path.exists(res) else ""
        if os.path.exists(os.path.join(testdata, ".done-" + name)):
            return True, log
        if not PORT_CLASH.search(log):
            break
        print("note: %s hit a busy port, running it again" % name,
              flush=True)
    return False, log


def dns_query(qid, name, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", qtype, 1)


STUB_DATA = """; answers of the local stub for the dig checks
$ORIGIN example.org.
$TTL 3600

ENTRY_BEGIN
MATCH opcode qtype qname
REPLY QR AA NOERROR
ADJUST copy_id
SECTION QUESTION
www	IN	A
SECTION ANSWER
www	IN	A	192.0.2.77
ENTRY_END

ENTRY_BEGIN
MATCH opcode qtype qname
REPLY QR AA NOERROR
ADJUST copy_id
SECTION QUESTION
tcp	IN	TXT
SECTION ANSWER
tcp	IN	TXT	"answer-over-tcp"
ENTRY_END

ENTRY_BEGIN
MATCH opcode qtype qname
REPLY QR AA NOERROR
ADJUST copy_id
SECTION QUESTION
burst	IN	A
SECTION ANSWER
burst	IN	A	192.0.2.99
ENTRY_END

ENTRY_BEGIN
MATCH opcode qtype qname
REPLY QR AA NXDOMAIN
ADJUST copy_id
SECTION QUESTION
missing	IN	A
SECTION AUTHORITY
example.org.	IN	SOA	ns.example.org. host.example.org. 1 3600 900 86400 300
ENTRY_END
"""


def dig(port, *args):
    return pc.run(["dig", "@127.0.0.1", "-p", str(port), "+time=3",
                   "+tries=2"] + list(args), timeout=20).stdout


def own_forwarder(c, unbound, work):
    os.makedirs(work, exist_ok=True)
    stub_port = pc.free_port(udp_too=True)
    ub_port = pc.free_port(udp_too=True)
    data = os.path.join(work, "stub.testns")
    with open(data, "w") as f:
        f.write(STUB_DATA)
    conf = os.path.join(work, "unbound.conf")
    with open(conf, "w") as f:
        f.write("server:\n\tverbosity: 1\n\tinterface: 127.0.0.1\n"
                "\tport: %d\n\tuse-syslog: no\n\tdirectory: \"\"\n"
                "\tpidfile: \"\"\n\tchroot: \"\"\n\tusername: \"\"\n"
                "\tnum-threads: 1\n\tdo-not-query-localhost: no\n"
                "\tmodule-config: \"iterator\"\n"
                "forward-zone:\n\tname: \".\"\n"
                "\tforward-addr: 127.0.0.1@%d\n" % (ub_port, stub_port))

    def start_stub():
        stub = c.spawn(["ldns-testns", "-p", str(stub_port), data],
                       os.path.join(work, "stub.log"))
        pc.wait_for(lambda: "Listening on port" in
                    open(os.path.join(work, "stub.log")).read(),
                    what="ldns-testns to listen")
        return stub

    stub = start_stub()
    ub_log = os.path.join(work, "unbound.log")
    ub = c.spawn([unbound, "-d", "-c", conf], ub_log)

    def started():
        pc.wait_for(lambda: "start of service" in open(ub_log).read()
                    or ub.poll() is not None, what="unbound to start")
        pc.expect(ub.poll() is None, "unbound exited: %s"
                  % open(ub_log).read()[-500:])
    if not c.run("unbound starts, forwarding to a local stub", started):
        return

    def udp():
        out = dig(ub_port, "www.example.org", "A")
        pc.expect("status: NOERROR" in out and
                  re.search(r"www\.example\.org\.\s+\d+\s+IN\s+A\s+"
                            r"192\.0\.2\.77", out), out[-400:])
    c.run("dig over UDP gets the stub's answer", udp)

    def tcp():
        out = dig(ub_port, "+tcp", "tcp.example.org", "TXT")
        pc.expect('"answer-over-tcp"' in out, out[-400:])
    c.run("dig +tcp gets the stub's answer", tcp)

    def nxdomain():
        out = dig(ub_port, "missing.example.org", "A")
        pc.expect("status: NXDOMAIN" in out and "ns.example.org." in out,
                  out[-400:])
    c.run("NXDOMAIN passed through", nxdomain)

    def burst():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.connect(("127.0.0.1", ub_port))
        try:
            want = set()
            for i in range(200):
                s.send(dns_query(1000 + i, "burst.example.org"))
                want.add(1000 + i)
            got = set()
            deadline = time.monotonic() + 10
            while want - got and time.monotonic() < deadline:
                try:
                    pkt = s.recv(4096)
                except socket.timeout:
                    break
                qid, flags = struct.unpack(">HH", pkt[:4])
                if flags & 0x8000 and flags & 0xF == 0:
                    got.add(qid)
            pc.expect(want <= got, "%d of 200 answered" % len(got & want))
        finally:
            s.close()
    c.run("200 UDP queries sent back to back all answered", burst)

    def cached():
        pc.stop(stub)
        out = dig(ub_port, "www.example.org", "A")
        pc.expect("192.0.2.77" in out, "not answered from cache: "
                  + out[-300:])
    c.run("answer served from cache with the stub gone", cached)

    def hup():
        start_stub()
        ub.send_signal(signal.SIGHUP)
        # The reload empties the cache: an answer for a name must come from
        # the restarted stub through the re-created sockets.
        out = pc.wait_for(lambda: (lambda o: o if "192.0.2.77" in o else "")(
            dig(ub_port, "www.example.org", "A")), timeout=20,
            what="an answer after SIGHUP")
        pc.expect(ub.poll() is None, "unbound exited on SIGHUP")
        pc.expect("status: NOERROR" in out, out[-300:])
    c.run("SIGHUP reloads and it still answers", hup)

    def term():
        t0 = time.monotonic()
        status = pc.stop(ub, signal.SIGTERM)
        pc.expect(status == 0, "exit status %s" % status)
        pc.expect(time.monotonic() - t0 < 5, "slow exit")
    c.run("SIGTERM stops it with status 0", term)


def main():
    srcdir, work = sys.argv[1], sys.argv[2]
    c = pc.Checks("unbound")
    testdata = os.path.join(srcdir, "testdata")
    common = os.path.join(testdata, "common.sh")
    with open(common) as f:
        text = f.read()
    if "added by check_unbound.py" not in text:
        with open(common, "a") as f:
            f.write(PORTS_OVERRIDE % os.path.abspath(pc.__file__))
    only = os.environ.get("UNBOUND_TDIRS")
    for name, what in TDIRS:
        if only is not None and name not in only.split():
            continue
        ok, log = run_tdir(testdata, name)
        if not c.record(what, ok, "see below"):
            print("---- result.%s (tail)" % name)
            print("\n".join(log.splitlines()[-40:]))
            print("----", flush=True)
    own_forwarder(c, os.path.join(srcdir, "unbound"), work)
    c.finish()


if __name__ == "__main__":
    main()
