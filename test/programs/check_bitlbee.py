"""Functional checks of bitlbee (IRC gateway) built against the library.

bitlbee in daemon mode (-D -n) serves every IRC client from one process:
its glib-style event layer (events_libevent.c) maps each client socket to
a libevent read/write event and each timeout (login timeout, ping timer)
to a libevent timer, and SIGTERM makes it tell every client before it
exits.

usage: check_bitlbee.py BITLBEE WORKDIR
"""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
import progcheck as pc  # noqa: E402


class Irc:
    """A minimal line-based IRC client over a blocking socket."""

    def __init__(self, port, nick, answer_pings=True):
        self.sock = pc.connect(port)
        self.nick = nick
        self.buf = b""
        self.answer_pings = answer_pings
        self.lines = []  # every line received, for diagnostics

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def login(self):
        self.send("NICK %s" % self.nick)
        self.send("USER %s 0 * :check %s" % (self.nick, self.nick))

    def next_line(self, timeout):
        while b"\n" not in self.buf:
            self.buf += pc.recv_until(self.sock, lambda d: d, timeout)
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.rstrip(b"\r").decode("utf-8", "replace")
        self.lines.append(line)
        if self.answer_pings and line.startswith("PING "):
            self.send("PONG " + line[5:])
        return line

    def expect(self, pattern, timeout=pc.DEFAULT_TIMEOUT):
        """Read lines until one matches the regex; return the match."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise pc.CheckError("no line matching %r; last lines: %r"
                                    % (pattern, self.lines[-5:]))
            try:
                line = self.next_line(left)
            except pc.CheckError as exc:
                raise pc.CheckError("waiting for %r: %s; last lines: %r"
                                    % (pattern, exc, self.lines[-5:]))
            m = re.search(pattern, line)
            if m:
                return m

    def root_says(self, pattern, timeout=pc.DEFAULT_TIMEOUT):
        return self.expect(r"^:root!\S+ PRIVMSG (&bitlbee|%s) :.*%s"
                           % (re.escape(self.nick), pattern), timeout)

    def command(self, text):
        self.send("PRIVMSG &bitlbee :%s" % text)

    def close_expected(self, timeout=pc.DEFAULT_TIMEOUT):
        """Read until the server closes the connection."""
        rest = pc.recv_all(self.sock, timeout)
        self.lines += rest.decode("utf-8", "replace").splitlines()
        return self.buf.decode("utf-8", "replace") + rest.decode(
            "utf-8", "replace")

    def close(self):
        self.sock.close()


def welcome(irc):
    """Log in and read the welcome numerics up to the channel join."""
    irc.login()
    for num in ("001", "002", "003", "004"):
        irc.expect(r"^:\S+ %s %s " % (num, re.escape(irc.nick)))
    irc.expect(r"^:%s!\S+ JOIN :&bitlbee" % re.escape(irc.nick))
    names = irc.expect(r"^:\S+ 353 %s \S+ &bitlbee :(.*)"
                       % re.escape(irc.nick)).group(1).split()
    pc.expect("@root" in names and irc.nick in
              [n.lstrip("@+%") for n in names], "names were %r" % names)
    irc.expect(r"^:\S+ 366 %s &bitlbee " % re.escape(irc.nick))


def main():
    bitlbee, work = sys.argv[1], sys.argv[2]
    c = pc.Checks("bitlbee")
    cfgdir = os.path.join(work, "users")
    os.makedirs(cfgdir, exist_ok=True)
    port = pc.free_port()
    conf = os.path.join(work, "bitlbee.conf")
    motd = os.path.join(work, "motd.txt")
    with open(motd, "w") as f:
        f.write("bitlbee under test\n")
    with open(conf, "w") as f:
        f.write("[settings]\nRunMode = Daemon\nDaemonInterface = 127.0.0.1\n"
                "DaemonPort = %d\nAuthMode = Open\nConfigDir = %s\n"
                "MotdFile = %s\nPingInterval = 1\nPingTimeOut = 3\n"
                "[defaults]\n" % (port, cfgdir, motd))
    proc = c.spawn([bitlbee, "-D", "-n", "-c", conf, "-d", cfgdir,
                    "-P", os.path.join(work, "bitlbee.pid"),
                    "-i", "127.0.0.1", "-p", str(port)],
                   os.path.join(work, "bitlbee.log"))

    if not c.run("daemon accepts connections",
                 pc.wait_listening, port, proc):
        c.finish()

    alice = Irc(port, "alice")
    c.run("NICK/USER answered with 001-004 and &bitlbee joined",
          welcome, alice)

    def rejoin():
        alice.send("PART &bitlbee")
        alice.expect(r"^:alice!\S+ PART &bitlbee")
        alice.send("JOIN &bitlbee")
        alice.expect(r"^:alice!\S+ JOIN :&bitlbee")
        alice.expect(r"^:\S+ 366 alice &bitlbee ")
    c.run("PART and JOIN &bitlbee again", rejoin)

    def register():
        alice.command("register s3cret-pw")
        alice.root_says("Account successfully created")
    c.run("register an account", register)

    def command():
        alice.command("account list")
        alice.root_says("End of account list")
        alice.command("set charset")
        alice.root_says("charset = `utf-8'")
        alice.send("PING :are-you-there")
        alice.expect(r"^:\S+ PONG .*are-you-there")
    c.run("root answers a command; PING answered with PONG", command)

    def server_pings():
        # PingInterval = 1: the server's timer must ping us by itself.
        alice.expect(r"^PING ", timeout=5)
    c.run("server PINGs on its 1 s timer", server_pings)

    def quit():
        alice.send("QUIT :done for now")
        rest = alice.close_expected()
        pc.expect("ERROR :Closing link" in rest or any(
            "ERROR :Closing link" in ln for ln in alice.lines),
            "no ERROR line before close: %r" % alice.lines[-3:])
        alice.close()
    c.run("QUIT closes the link cleanly", quit)

    def identify():
        again = Irc(port, "alice")
        try:
            welcome(again)
            again.command("identify s3cret-pw")
            again.root_says("Password accepted")
            again.send("QUIT")
            again.close_expected()
        finally:
            again.close()
    c.run("second connection identifies with the saved password", identify)

    def wrong_password():
        bad = Irc(port, "alice")
        try:
            welcome(bad)
            bad.command("identify not-the-password")
            bad.root_says("Incorrect password")
            bad.send("QUIT")
            bad.close_expected()
        finally:
            bad.close()
    c.run("a wrong password is refused", wrong_password)

    def several():
        clients = [Irc(port, "user%d" % i) for i in range(6)]
        try:
            for cl in clients:
                cl.login()
            for cl in clients:
                cl.expect(r"^:\S+ 001 %s " % cl.nick)
                cl.expect(r"^:\S+ 366 %s &bitlbee " % cl.nick)
            for cl in clients:
                cl.command("register pw-%s" % cl.nick)
            for cl in reversed(clients):
                cl.root_says("Account successfully created")
            for cl in clients:
                cl.command("account list")
            for cl in clients:
                cl.root_says("End of account list")
            for cl in clients:
                cl.send("QUIT :bye")
            for cl in clients:
                cl.close_expected()
        finally:
            for cl in clients:
                cl.close()
    c.run("six clients at once, interleaved", several)

    def ping_timeout():
        mute = Irc(port, "silent", answer_pings=False)
        try:
            mute.login()
            mute.expect(r"^:\S+ 001 silent ")
            t0 = time.monotonic()
            rest = mute.close_expected(timeout=15)
            took = time.monotonic() - t0
            pc.expect("Ping Timeout" in rest or any(
                "Ping Timeout" in ln for ln in mute.lines),
                "closed without Ping Timeout: %r" % mute.lines[-3:])
            pc.expect(2 <= took <= 10, "timed out after %.1f s" % took)
        finally:
            mute.close()
    c.run("a client that never PONGs is dropped after PingTimeOut",
          ping_timeout)

    def shutdown():
        last = Irc(port, "lastone")
        try:
            welcome(last)
            proc.send_signal(signal.SIGTERM)
            last.expect(r"^ERROR :Closing link: BitlBee server shutting down")
            last.close_expected()
        finally:
            last.close()
        # A second SIGTERM would hit the default action (SA_RESETHAND).
        status = proc.wait(5)
        pc.expect(status == 0, "exit status %s" % status)
    c.run("SIGTERM tells connected clients and exits", shutdown)

    c.finish()


if __name__ == "__main__":
    main()
