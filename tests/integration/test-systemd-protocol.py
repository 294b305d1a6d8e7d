#!/usr/bin/env python3
"""test-systemd-protocol.py: runnerd against the service manager's side of
sd_notify and socket activation, played by this test for real: a
NOTIFY_SOCKET datagram listener, and a listening socket passed as fd 3
with LISTEN_FDS/LISTEN_PID. Checks STATUS= while starting, READY=1 once
the template serves, WATCHDOG=1 pings at a third of WATCHDOG_USEC,
requests served on the passed socket, RELOADING=1 then READY=1 around a
SIGHUP reload (runs in flight undisturbed), STOPPING=1 on SIGTERM, and that
runnerd leaves the passed socket's file alone."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CACHE, RUNNERD, SLOW, Checks, UnixHTTPConnection, die_with_parent,  # noqa: E402
                     jail_uids, log, require_assets)

LANG = "bash"


class Notify:
    """The service manager's NOTIFY_SOCKET: every datagram, with its time."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            for line in data.decode().split("\n"):
                if line:
                    self.messages.append((time.time(), line))

    def wait_for(self, prefix, after=0.0, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t, m in list(self.messages):
                if t >= after and m.startswith(prefix):
                    return t, m
            time.sleep(0.05)
        raise AssertionError("no %r within %.0f s; got %s" % (prefix, timeout, self.messages[-20:]))

    def count(self, prefix, after=0.0):
        return sum(1 for t, m in list(self.messages) if t >= after and m.startswith(prefix))


def request(path, method, url, body=None):
    c = UnixHTTPConnection(path, 120 * SLOW)
    try:
        c.request(method, url, body=json.dumps(body) if body is not None else None)
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        c.close()


def main():
    require_assets((LANG,))
    tmp = tempfile.mkdtemp(prefix="runnerd-sd-")
    sock_path = os.path.join(tmp, "runnerd.sock")
    notify = Notify(os.path.join(tmp, "notify"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(16)
    lfd = listener.fileno()
    os.set_inheritable(lfd, True)
    env = dict(os.environ, NOTIFY_SOCKET=notify.sock.getsockname(), LISTEN_FDS="1", WATCHDOG_USEC="3000000")
    args = [RUNNERD, "--socket", os.path.join(tmp, "unused.sock"), "--state-dir", os.path.join(tmp, "state"),
            "--cache-dir", CACHE, "--accel", os.environ.get("RUNNERD_TEST_ACCEL", "tcg"), "--only", LANG,
            "--slowdown", str(SLOW), "--jail-uids", jail_uids(),
            "--config", os.path.join(tmp, "runnerd.conf")]
    with open(os.path.join(tmp, "runnerd.conf"), "w") as f:
        f.write("[runnerd]\npool-size = 1\n")
    # As systemd does: the socket at fd 3, LISTEN_PID the daemon's own pid.
    shell = 'export LISTEN_PID=$$; exec 3<&%d %d<&-; exec "$@"' % (lfd, lfd)
    logf = open(os.path.join(tmp, "runnerd.log"), "wb")
    t0 = time.time()
    proc = subprocess.Popen(["sh", "-c", shell, "sh"] + args, env=env, close_fds=False, stdout=logf,
                            stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    listener.close()
    c = Checks()
    state = {}

    def starting_then_ready():
        t, m = notify.wait_for("STATUS=starting", timeout=30 * SLOW)
        t_ready, m = notify.wait_for("READY=1", timeout=300 * SLOW)
        status = [m for tt, m in notify.messages if m.startswith("STATUS=") and tt >= t_ready - 0.01]
        log("READY=1 %.1f s after start; %s" % (t_ready - t0, status[:1]))
        assert status and "1 languages serving" in status[0] and "accel" in status[0], status
        state["ready"] = t_ready

    def served_on_passed_socket():
        assert not os.path.exists(os.path.join(tmp, "unused.sock")), "runnerd made its own socket"
        st, r = request(sock_path, "POST", "/api/v1/execute", {"language": LANG, "code": "echo activated"})
        assert st == 200 and r["status"] == "success" and r["stdout"] == "activated\n", (st, r)

    def watchdog():
        t = time.time()
        time.sleep(3.5)
        n = notify.count("WATCHDOG=1", after=t)
        log("%d WATCHDOG=1 in 3.5 s (WatchdogSec=3)" % n)
        assert n >= 3, notify.messages[-10:]

    def reload():
        # a run in flight during the reload finishes normally
        result = {}

        def run():
            result["r"] = request(sock_path, "POST", "/api/v1/execute",
                                  {"language": LANG, "code": "sleep 2; echo survived", "timeout": 30})

        th = threading.Thread(target=run)
        th.start()
        time.sleep(0.5)
        with open(os.path.join(tmp, "runnerd.conf"), "w") as f:
            f.write("[runnerd]\npool-min = 1\npool-max = 2\n")
        t = time.time()
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING=1", after=t, timeout=30)
        t_ready, _ = notify.wait_for("READY=1", after=t, timeout=30)
        th.join(120 * SLOW)
        st, r = result["r"]
        assert st == 200 and r["stdout"] == "survived\n", (st, r)
        st, h = request(sock_path, "GET", "/health")
        assert h["pools"][LANG]["max"] == 2, h["pools"][LANG]
        log("RELOADING=1 -> READY=1 in %.2f s; pool max now 2" % (t_ready - t))

    def stopping():
        t = time.time()
        proc.send_signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1", after=t, timeout=30)
        proc.wait(60 * SLOW)
        assert proc.returncode == 0, proc.returncode
        assert os.path.exists(sock_path), "runnerd removed the socket systemd owns"

    try:
        c.run("STATUS while starting, READY=1 once the template serves", starting_then_ready)
        c.run("requests are served on the passed socket", served_on_passed_socket)
        c.run("WATCHDOG=1 from the event loop", watchdog)
        c.run("SIGHUP: RELOADING=1, READY=1, new pool size, run in flight undisturbed", reload)
        c.run("SIGTERM: STOPPING=1, exit 0, the passed socket left alone", stopping)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.stop = True
        logf.close()
        if c.failed:
            with open(os.path.join(tmp, "runnerd.log"), "rb") as f:
                log(f.read()[-4000:].decode(errors="replace"))
    c.exit()


if __name__ == "__main__":
    main()
