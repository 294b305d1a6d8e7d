#!/usr/bin/env python3
"""test-lifecycle.py: runnerd's process hygiene with real VMs. SIGTERM during
runs leaves no QEMU process, no socket and no state directory; SIGKILL of
the daemon takes its VMMs with it (PR_SET_PDEATHSIG); a restarted daemon
loads the cached template instead of rebuilding it; a client that
disconnects mid-run gets its VM discarded."""
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SLOW, Checks, Daemon, qemu_pids_of  # noqa: E402


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def start_slow_runs(d, n):
    def one():
        try:
            d.execute("python", "import time\ntime.sleep(30)", timeout=60)
        except Exception:  # noqa: BLE001 - the daemon goes away under us on purpose
            pass
    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def check_sigterm_during_runs():
    d = Daemon(languages=("python",))
    d.start()
    pid = d.proc.pid
    start_slow_runs(d, 2)
    wait_for(lambda: d.get("/health")[1]["in_flight"] >= 2, 60 * SLOW, "runs in flight")
    assert qemu_pids_of(pid), "no VMM processes while running"
    d.stop(signal.SIGTERM)
    assert d.proc.returncode == 0, "runnerd exit status %d" % d.proc.returncode
    wait_for(lambda: not qemu_pids_of(pid), 10, "VMMs gone")
    assert not os.path.exists(d.socket), "socket left behind"
    assert not os.path.exists(d.state), "state dir left behind"


def check_sigkill_takes_vmms():
    d = Daemon(languages=("python",))
    d.start()
    pid = d.proc.pid
    vmms = qemu_pids_of(pid)
    assert vmms, "no pooled VMMs"
    d.proc.kill()
    d.proc.wait()
    wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in vmms), 10, "orphaned VMMs to die")
    # A new daemon on the same paths starts cleanly (stale socket replaced)
    # and reuses the cached template.
    t = time.time()
    d.proc = None
    d.start()
    elapsed = time.time() - t
    r = d.execute("python", "print('again')")
    assert r["stdout"] == "again\n", r
    with open(d.logpath, "rb") as f:
        log = f.read().decode(errors="replace")
    d.stop()
    assert "template ready" in log, log[-2000:]
    print("# restart to ready: %.1fs" % elapsed)


def check_disconnect_cancels():
    with Daemon(languages=("python",)) as d:
        body = json.dumps({"language": "python", "code": "import time\ntime.sleep(30)", "timeout": 60}).encode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.socket)
        s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        wait_for(lambda: d.get("/health")[1]["in_flight"] == 1, 30 * SLOW, "run to start")
        s.close()
        wait_for(lambda: d.get("/health")[1]["in_flight"] == 0, 5 * SLOW, "run to be cancelled")
        h = d.get("/health")[1]
        busy = h["pools"]["python"]["busy"]
        assert busy == 0, h
        r = d.execute("python", "print('still fine')")
        assert r["stdout"] == "still fine\n", r


def check_pool_fills_to_size():
    # More clones than concurrent restores: the pool must keep refilling
    # by itself until it holds `size` ready clones, with no request to
    # nudge it.
    with Daemon(languages=("bash",), pool_size=5) as d:
        wait_for(lambda: d.get("/health")[1]["pools"]["bash"]["ready"] == 5, 120 * SLOW, "5 ready clones")
        h = d.get("/health")[1]
        assert h["vmm_processes"] == 5 and h["pools"]["bash"]["restore_failures"] == 0, h


def main():
    c = Checks()
    c.run("the pool fills to its size by itself", check_pool_fills_to_size)
    c.run("SIGTERM during runs leaves nothing behind", check_sigterm_during_runs)
    c.run("SIGKILL takes the VMMs along; restart reuses the template", check_sigkill_takes_vmms)
    c.run("client disconnect cancels the run", check_disconnect_cancels)
    c.exit()


if __name__ == "__main__":
    main()
