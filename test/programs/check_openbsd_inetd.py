"""Functional checks of openbsd-inetd built against the library.

inetd uses the loop for its listening sockets (one persistent EV_READ event
per service), for SIGCHLD (reaping the children it forks per connection),
SIGHUP (re-reading its configuration: events deleted and added again) and
SIGTERM.

Internal services are selected by service *name* (echo, daytime), whose
port comes from /etc/services.  To serve them on free ports, inetd runs in
a private mount namespace where a copy of /etc/services maps those names to
ports the kernel just handed out.  Without namespaces (unshare refused) the
standard ports 7 and 13 are used if they are free.

usage: check_inetd.py INETD WORKDIR
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
import progcheck as pc  # noqa: E402


def exchange(port, payload):
    """Send payload, half-close, return everything the service sent back."""
    s = pc.connect(port)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return pc.recv_all(s)
    finally:
        s.close()


def main():
    inetd, work = sys.argv[1], sys.argv[2]
    c = pc.Checks("openbsd-inetd")
    os.makedirs(work, exist_ok=True)
    conf = os.path.join(work, "inetd.conf")
    log = os.path.join(work, "inetd.log")

    namespaced = subprocess.run(["unshare", "--mount", "true"],
                                stderr=subprocess.DEVNULL).returncode == 0
    ports = set()
    while len(ports) < 4:
        ports.add(pc.free_port())
    echo_port, daytime_port, cat_port, new_port = sorted(ports)
    if namespaced:
        services = os.path.join(work, "services")
        with open("/etc/services") as f:
            lines = [ln for ln in f
                     if not re.match(r"(echo|daytime)\s", ln)]
        lines.append("echo\t\t%d/tcp\n" % echo_port)
        lines.append("daytime\t\t%d/tcp\n" % daytime_port)
        with open(services, "w") as f:
            f.writelines(lines)
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" /etc/services && exec "$2" -d "$3"',
                "sh", services, inetd, conf]
    else:
        print("note: no mount namespace; using the standard echo/daytime "
              "ports 7 and 13")
        echo_port, daytime_port = 7, 13
        argv = [inetd, "-d", conf]

    base = ("127.0.0.1:echo\tstream\ttcp\tnowait\troot\tinternal\n"
            "127.0.0.1:daytime\tstream\ttcp\tnowait\troot\tinternal\n"
            "127.0.0.1:%d\tstream\ttcp\tnowait\troot\t/bin/cat\tcat\n"
            % cat_port)
    with open(conf, "w") as f:
        f.write(base)

    proc = c.spawn(argv, log)

    def started():
        pc.wait_listening(echo_port, proc)
        pc.wait_listening(daytime_port, proc)
        pc.wait_listening(cat_port, proc)
    if not c.run("starts and listens on its three services", started):
        with open(log) as f:
            sys.stdout.write(f.read()[-2000:])
        c.finish()

    def echo():
        payload = b"".join(b"line %06d of the echo check\n" % i
                           for i in range(4000))  # ~120 KB
        got = exchange(echo_port, payload)
        pc.expect(got == payload, "echoed %d of %d bytes"
                  % (len(got), len(payload)))
    c.run("internal echo service returns 120 KB unchanged", echo)

    def daytime():
        got = exchange(daytime_port, b"").decode()
        pc.expect(re.match(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d "
                           r"\d\d:\d\d:\d\d \d{4}\r\n$", got),
                  "unexpected daytime %r" % got)
    c.run("internal daytime service", daytime)

    def cat_twenty():
        for i in range(20):
            payload = b"cat run %d\n" % i * (i + 1)
            got = exchange(cat_port, payload)
            pc.expect(got == payload, "run %d: got %r" % (i, got[:80]))
    c.run("/bin/cat exec'd for 20 connections in a row", cat_twenty)

    def reaped():
        # Every child of the connections above has exited: none may be
        # left, zombie or not.
        pc.wait_for(lambda: not pc.children_of(proc.pid),
                    what="inetd to reap its exited children")
    c.run("every exited child reaped (SIGCHLD through the loop)", reaped)

    def concurrent():
        socks = [pc.connect(cat_port) for _ in range(8)]
        try:
            for i, s in enumerate(socks):
                s.sendall(b"concurrent %d\n" % i)
            for i, s in enumerate(socks):
                want = b"concurrent %d\n" % i
                got = pc.recv_until(s, lambda d, w=want: len(d) >= len(w))
                pc.expect(got == want, "client %d got %r" % (i, got))
        finally:
            for s in socks:
                s.close()
    c.run("8 /bin/cat children served at once", concurrent)

    def reload():
        with open(conf, "a") as f:
            f.write("127.0.0.1:%d\tstream\ttcp\tnowait\troot\t/bin/echo\t"
                    "echo reloaded-service\n" % new_port)
        proc.send_signal(signal.SIGHUP)
        got = pc.wait_for(lambda: exchange(new_port, b""),
                          what="the new service after SIGHUP")
        pc.expect(got == b"reloaded-service\n", "new service said %r" % got)
    c.run("service added to the config is served after SIGHUP", reload)

    def old_after_reload():
        pc.expect(exchange(echo_port, b"still here\n") == b"still here\n",
                  "echo changed")
        for i in range(3):
            want = b"after reload %d\n" % i
            pc.expect(exchange(cat_port, want) == want, "cat changed")
        pc.expect(exchange(daytime_port, b"").endswith(b"\r\n"),
                  "daytime changed")
    c.run("old services still served after the reload", old_after_reload)

    def terminate():
        t0 = time.monotonic()
        status = pc.stop(proc, signal.SIGTERM)
        pc.expect(status is not None, "did not exit on SIGTERM")
        pc.expect(status == 0, "exit status %s" % status)
        pc.expect(time.monotonic() - t0 < 5, "slow exit")
    c.run("SIGTERM stops it with status 0", terminate)

    c.finish()


if __name__ == "__main__":
    main()
