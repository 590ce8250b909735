"""Functional checks of tmux built against the library.

tmux's server and client are both event loops: the client/server socket
and every pane's pty are bufferevents, timers drive redraws, resizes and
delayed commands, and SIGCHLD (panes and jobs exiting) and SIGWINCH (the
attached terminal resized) arrive through the loop's signal events.

Everything runs on a private socket (-S) with no configuration file; the
"terminal" of an attached client is a pseudo-terminal opened here.

usage: check_tmux.py TMUX WORKDIR
"""

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time

sys.dont_write_bytecode = True
import progcheck as pc  # noqa: E402


class Tmux:
    def __init__(self, binary, sock):
        self.binary = binary
        self.sock = sock
        self.env = dict(os.environ, TERM="xterm", LC_ALL="C.UTF-8",
                        SHELL="/bin/sh", PS1="$ ", ENV="")
        self.env.pop("TMUX", None)

    def argv(self, *args):
        return [self.binary, "-S", self.sock, "-f", "/dev/null"] + list(args)

    def __call__(self, *args, check=True, timeout=pc.DEFAULT_TIMEOUT):
        return pc.run(self.argv(*args), check=check, timeout=timeout,
                      env=self.env, stdin=subprocess.DEVNULL).stdout

    def fmt(self, target, fmt):
        return self("display-message", "-p", "-t", target, fmt).strip()

    def lines(self, *args):
        return [ln for ln in self(*args).splitlines() if ln]

    def capture(self, target):
        return self("capture-pane", "-p", "-t", target)

    def wait_screen(self, target, regex, what):
        return pc.wait_for(lambda: re.search(regex, self.capture(target),
                                             re.M), what=what)


class PtyClient:
    """tmux attach running on a pseudo-terminal we own, as a terminal
    emulator would run it: its own session, the pty as controlling tty."""

    def __init__(self, tmux, session, cols, rows):
        self.master, slave = os.openpty()
        self.resize(cols, rows, fd=slave)

        def setup():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        self.proc = subprocess.Popen(tmux.argv("attach-session", "-t",
                                               session),
                                     stdin=slave, stdout=slave, stderr=slave,
                                     env=tmux.env, preexec_fn=setup)
        os.close(slave)
        self.output = b""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            r, _, _ = select.select([self.master], [], [], 0.5)
            if not r:
                if self.proc.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.output += data

    def text(self):
        with self.lock:
            return self.output.decode("utf-8", "replace")

    def resize(self, cols, rows, fd=None):
        fcntl.ioctl(self.master if fd is None else fd, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, data):
        os.write(self.master, data)

    def wait_exit(self, timeout=pc.DEFAULT_TIMEOUT):
        status = self.proc.wait(timeout)
        self.reader.join(5)
        return status

    def close(self):
        if self.proc.poll() is None:
            pc.stop(self.proc)
        try:
            os.close(self.master)
        except OSError:
            pass


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    c = pc.Checks("tmux")
    t = Tmux(binary, os.path.join(work, "tmux.sock"))
    state = {}

    def start():
        t("new-session", "-d", "-s", "main", "-x", "80", "-y", "24")
        t("has-session", "-t", "main")
        state["pid"] = int(t("display-message", "-p", "#{pid}").strip())
        pc.expect(os.path.exists("/proc/%d" % state["pid"]), "no server")
    if not c.run("detached server with a session", start):
        c.finish()

    def sessions_windows():
        t("new-session", "-d", "-s", "second", "-x", "80", "-y", "24")
        t("new-window", "-t", "main", "-n", "extra")
        names = sorted(t.lines("list-sessions", "-F", "#{session_name}"))
        pc.expect(names == ["main", "second"], "sessions %r" % names)
        wins = t.lines("list-windows", "-t", "main", "-F", "#{window_name}")
        pc.expect(len(wins) == 2 and "extra" in wins, "windows %r" % wins)
    c.run("sessions and windows created", sessions_windows)

    # Keys can reach a pane before its shell has printed a prompt, so the
    # prompt may precede the output on its line: no ^ in these patterns.
    def send_capture():
        t("send-keys", "-t", "main:extra", "echo $((6*7))-from-the-shell",
          "Enter")
        t.wait_screen("main:extra", r"(^|\s)42-from-the-shell$",
                      "the shell's output in capture-pane")
    c.run("send-keys into a shell, output read back with capture-pane",
          send_capture)

    def wait_for_channel():
        t("send-keys", "-t", "main:extra",
          "%s -S %s wait-for -S from-pane" % (binary, t.sock), "Enter")
        t("wait-for", "from-pane", timeout=15)
    c.run("wait-for channel signalled by a command typed in a pane",
          wait_for_channel)

    def split():
        t("split-window", "-h", "-t", "main:extra")
        t("split-window", "-v", "-t", "main:extra")
        panes = t.lines("list-panes", "-t", "main:extra", "-F",
                        "#{pane_index} #{pane_width}x#{pane_height}")
        pc.expect(len(panes) == 3, "panes %r" % panes)
        t("send-keys", "-t", "main:extra.2", "echo split-$((2+3))", "Enter")
        t.wait_screen("main:extra.2", r"(^|\s)split-5$", "output in the new pane")
    c.run("split into three panes, each with its own shell", split)

    def resize():
        t("resize-window", "-t", "main:extra", "-x", "100", "-y", "30")
        size = pc.wait_for(lambda: (lambda s: s if s == "100x30" else "")(
            t.fmt("main:extra", "#{window_width}x#{window_height}")),
            what="window size 100x30")
        t("resize-pane", "-t", "main:extra.0", "-x", "30")
        width = t.fmt("main:extra.0", "#{pane_width}")
        pc.expect(width == "30", "pane width %s after %s" % (width, size))
    c.run("resize window and pane", resize)

    def pane_exit():
        t("new-window", "-d", "-t", "main", "-n", "shortlived",
          "sh -c 'exit 0'")
        pc.wait_for(lambda: "shortlived" not in t.lines(
            "list-windows", "-t", "main", "-F", "#{window_name}"),
            what="the exited pane's window to close")
        # run-shell (no -b) returns once the job's exit has been seen.
        out = os.path.join(work, "job.out")
        t("run-shell", "echo job-$((5*5)) > %s" % out)
        with open(out) as f:
            got = f.read()
        pc.expect(got == "job-25\n", "the job wrote %r" % got)
    c.run("exited pane and run-shell job reaped (SIGCHLD)", pane_exit)

    def delayed():
        t0 = time.monotonic()
        t("run-shell", "-b", "-d", "1",
          "%s -S %s wait-for -S delayed" % (binary, t.sock))
        t("wait-for", "delayed", timeout=15)
        took = time.monotonic() - t0
        pc.expect(0.9 <= took < 6, "delay took %.2f s" % took)
    c.run("run-shell -d 1 fires its timer after one second", delayed)

    def attach_detach():
        # resize-window above made this window's size manual.
        t("set-option", "-w", "-t", "main:extra", "window-size", "latest")
        cl = PtyClient(t, "main", 100, 30)
        try:
            pc.wait_for(lambda: t.lines("list-clients", "-F",
                                        "#{client_width}x#{client_height}")
                        == ["100x30"], what="an attached 100x30 client")
            pc.wait_for(lambda: "[main]" in cl.text(),
                        what="the status line on the terminal")
            cl.resize(120, 40)  # SIGWINCH to the client
            pc.wait_for(lambda: t.lines("list-clients", "-F",
                                        "#{client_width}x#{client_height}")
                        == ["120x40"], what="the client resized to 120x40")
            pc.wait_for(lambda: t.fmt("main", "#{window_width}") == "120",
                        what="the window following the client's size")
            cl.type(b"echo typed-$((3+4))\r")
            t.wait_screen("main", r"(^|\s)typed-7$", "typed text run in the pane")
            cl.type(b"\x02d")  # prefix (C-b) then d: detach
            status = cl.wait_exit()
            pc.expect(status == 0, "client exit status %s" % status)
            pc.expect("[detached" in cl.text(), "no [detached] message")
            pc.expect(t.lines("list-clients") == [], "client still listed")
        finally:
            cl.close()
    c.run("attach on a pty, SIGWINCH resize, type, detach with C-b d",
          attach_detach)

    def reattach():
        cl = PtyClient(t, "main", 90, 25)
        try:
            pc.wait_for(lambda: t.lines("list-clients", "-F",
                                        "#{client_width}x#{client_height}")
                        == ["90x25"], what="the re-attached client")
            pc.wait_for(lambda: "typed-7" in cl.text(),
                        what="the earlier output redrawn on re-attach")
            t("detach-client", "-s", "main")
            status = cl.wait_exit()
            pc.expect(status == 0, "client exit status %s" % status)
            pc.expect("[detached" in cl.text(), "no [detached] message")
        finally:
            cl.close()
    c.run("re-attach, then detach-client from outside", reattach)

    def flood():
        # The pane's pty and both clients' sockets are bufferevents: a
        # shell printing as fast as it can must reach the end on both.
        clients = [PtyClient(t, "main", 100, 30) for _ in range(2)]
        try:
            pc.wait_for(lambda: len(t.lines("list-clients")) == 2,
                        what="two attached clients")
            t("send-keys", "-t", "main", "seq 1 200000; %s -S %s wait-for "
              "-S flooded" % (binary, t.sock), "Enter")
            t("wait-for", "flooded", timeout=60)
            t.wait_screen("main", r"^200000$", "the last line in the pane")
            for i, cl in enumerate(clients):
                pc.wait_for(lambda cl=cl: "200000" in cl.text()[-4000:],
                            what="the last line on client %d" % i)
            t("detach-client", "-s", "main")
            for cl in clients:
                pc.expect(cl.wait_exit() == 0, "client exit status")
        finally:
            for cl in clients:
                cl.close()
    c.run("200000 lines of pane output reach two attached clients", flood)

    def kill_server():
        pid = state["pid"]
        t("kill-server")
        pc.wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                    open("/proc/%d/stat" % pid).read().split(") ")[1][0]
                    == "Z", what="the server to exit")
        res = t("has-session", "-t", "main", check=False)
        pc.expect("no server running" in res or "error connecting" in res
                  or "No such file" in res, "has-session said %r" % res)
    c.run("kill-server ends the server", kill_server)

    c.finish()


if __name__ == "__main__":
    main()
