"""Shared helpers for the functional checks of test/programs/run.

Each check_*.py script builds a Checks object, records one PASS/FAIL line
per behaviour it exercises, and ends with Checks.finish(), which prints
"RESULT <program> <passed>/<total>" (the line the driver parses) and
exits non-zero unless every check passed.

Everything runs on 127.0.0.1 with ports the kernel handed out: free_port()
binds port 0 and reads the number back.  Waiting is always for an
observable condition (wait_for), bounded by a deadline, never a bare sleep.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

DEFAULT_TIMEOUT = 10.0


class Checks:
    """PASS/FAIL bookkeeping for one program."""

    def __init__(self, program):
        self.program = program
        self.passed = 0
        self.total = 0
        self.procs = []

    def record(self, name, ok, detail=""):
        self.total += 1
        if ok:
            self.passed += 1
        line = "%s %s: %s" % ("PASS" if ok else "FAIL", self.program, name)
        if detail and not ok:
            line += " (%s)" % detail
        print(line, flush=True)
        return ok

    def run(self, name, fn, *args):
        """Record fn(*args): it passes when it returns without raising;
        a returned string is shown as detail if the check fails."""
        try:
            fn(*args)
        except Exception as exc:  # a failing check must not stop the rest
            return self.record(name, False, "%s: %s" % (type(exc).__name__, exc))
        return self.record(name, True)

    def spawn(self, argv, log_path, **kw):
        """Start a server process whose output goes to log_path; it is
        stopped by finish() if still running."""
        log = open(log_path, "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, **kw)
        log.close()
        self.procs.append(proc)
        return proc

    def finish(self):
        for proc in self.procs:
            stop(proc)
        print("RESULT %s %d/%d" % (self.program, self.passed, self.total),
              flush=True)
        sys.exit(0 if self.passed == self.total and self.total > 0 else 1)


class CheckError(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckError(msg)


def stop(proc, sig=signal.SIGTERM, timeout=5.0):
    """Signal proc and wait for it; SIGKILL if it outlives timeout.
    Returns the exit status, or None if it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(sig)
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def free_port(udp_too=False):
    """A TCP port on 127.0.0.1 that is free now (and free for UDP too when
    asked), found by binding port 0."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        try:
            if udp_too:
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                finally:
                    u.close()
            return port
        finally:
            s.close()
    raise CheckError("no free port found")


def free_port_run(count):
    """The first of count consecutive ports that are all free now for TCP
    (bound without SO_REUSEADDR, so TIME_WAIT leftovers count as busy) and
    UDP on 127.0.0.1, picked below the kernel's ephemeral range where other
    programs' outgoing connections do not land."""
    import random
    for _ in range(500):
        base = random.randrange(10000, 32000 - count)
        held = []
        try:
            for port in range(base, base + count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    held.append(s)
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise CheckError("no run of %d free ports found" % count)


def wait_for(cond, timeout=DEFAULT_TIMEOUT, what="condition", interval=0.02):
    """Poll cond() until it returns a true value (returned) or the
    deadline passes (CheckError).  Exceptions from cond count as false."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            val = cond()
            if val:
                return val
        except Exception as exc:
            last = exc
        if time.monotonic() >= deadline:
            extra = " (last error: %s)" % last if last else ""
            raise CheckError("timed out waiting for %s%s" % (what, extra))
        time.sleep(interval)


def connect(port, timeout=DEFAULT_TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def wait_listening(port, proc=None, timeout=DEFAULT_TIMEOUT):
    """Wait until something accepts TCP connections on port."""
    def up():
        if proc is not None and proc.poll() is not None:
            raise CheckError("server exited with %s" % proc.returncode)
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.close()
        return True
    try:
        return wait_for(up, timeout, "port %d to accept" % port)
    except CheckError:
        if proc is not None and proc.poll() is not None:
            raise CheckError("server exited with status %s" % proc.returncode)
        raise


def recv_until(sock, pred, timeout=DEFAULT_TIMEOUT):
    """Read from sock until pred(data) is true; return all data read.
    Raises CheckError on EOF or deadline with what was read so far."""
    data = b""
    deadline = time.monotonic() + timeout
    while not pred(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise CheckError("timeout; got %r" % data[-300:])
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            raise CheckError("connection closed; got %r" % data[-300:])
        data += chunk
    return data


def recv_all(sock, timeout=DEFAULT_TIMEOUT):
    """Read until the peer closes; return everything."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CheckError("peer did not close; got %r" % data[-300:])
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def run(argv, timeout=DEFAULT_TIMEOUT, check=True, **kw):
    """Run a short command, return its CompletedProcess (text output)."""
    res = subprocess.run(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise CheckError("%s exited %d: %s" % (os.path.basename(argv[0]),
                                               res.returncode,
                                               res.stdout.strip()[-300:]))
    return res


PR_SET_CHILD_SUBREAPER = 36


def reaped_main(argv):
    """Run argv as a child subreaper: daemons that argv starts in the
    background and whose parent shell exits are re-parented here and reaped
    at once (the machine's init may take seconds, and scripts that poll
    "kill -0" wait for it).  When argv exits, whatever it left running is
    killed.  Exits with argv's status."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    main_pid = os.fork()
    if main_pid == 0:
        os.execvp(argv[0], argv)
    status = None
    while status is None:
        pid, st = os.wait()
        if pid == main_pid:
            status = os.waitstatus_to_exitcode(st)
    for pid, _ in children_of(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    sys.exit(status if status >= 0 else 128 - status)


def children_of(pid):
    """(pid, state letter) of every live or zombie child of pid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(name), fields[0]))
    return out


def reaped(argv):
    """argv prefixed so that it runs under reaped_main."""
    return [sys.executable, os.path.abspath(__file__), "reap"] + list(argv)


if __name__ == "__main__":
    if sys.argv[1:2] == ["reap"]:
        reaped_main(sys.argv[2:])
    elif sys.argv[1:2] == ["ports"]:
        print(free_port_run(int(sys.argv[2])))
    else:
        sys.exit("usage: progcheck.py reap CMD... | ports COUNT")
