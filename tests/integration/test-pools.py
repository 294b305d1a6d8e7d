#!/usr/bin/env python3
"""test-pools.py: pools that cost nothing while a language is idle, with
real VMs. Three languages, pools of 0..2, a global cap of 2 VMs, templates
built one at a time and a short idle period:

  - a request sent before its language's template is built waits for it
    and runs (no 503);
  - with every template built and nothing asked, no clone exists: an idle
    language costs its template only;
  - a request restores a clone on demand, and the pool then keeps one ready;
  - the global cap holds at every moment, and a request for a language
    with no room evicts the idle clone of the least recently used one;
  - after idle periods without requests the pools shrink back to nothing.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SLOW, Checks, Daemon, log  # noqa: E402

LANGS = ("bash", "sh", "python")
# Long enough that no pool shrinks in the middle of a step, even slowed.
IDLE_S = int(8 * SLOW)


def health(d):
    status, h = d.get("/health", timeout=30 * SLOW)
    return h


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def wait_socket(d):
    wait_for(lambda: os.path.exists(d.socket), 60 * SLOW, "the socket")


class CapWatch(threading.Thread):
    """Polls /health and remembers the most VMs ever counted against the
    cap. (vmm_processes may briefly be higher: a discarded VM gives its slot
    back when it is SIGKILLed, and a killed process holds no memory while
    it waits to be reaped.)"""

    def __init__(self, d):
        super().__init__(daemon=True)
        self.d, self.max_vms, self.max_procs, self.stop = d, 0, 0, False

    def run(self):
        while not self.stop:
            try:
                h = health(self.d)
                self.max_vms = max(self.max_vms, h["vms"]["vms"])
                self.max_procs = max(self.max_procs, h["vmm_processes"])
            except Exception:  # noqa: BLE001 - the daemon may be busy; poll again
                pass
            time.sleep(0.05)


def main():
    c = Checks()
    extra = ("--pool-min", "0", "--pool-max", "2", "--max-vms", "2", "--max-template-builds", "1",
             "--pool-idle-s", str(IDLE_S))
    d = Daemon(languages=LANGS, pool_size=1, extra=extra)
    d.start(wait=False)
    try:
        wait_socket(d)

        def early_request():
            # python's template is built last (one build at a time, in
            # directory order at best): this request waits in the queue.
            r = d.execute("python", "print('early')")
            assert r["status"] == "success" and r["stdout"] == "early\n", r

        c.run("a request while its template builds waits and runs", early_request)

        def all_serving():
            h = health(d)
            return h if all(p["status"] == "serving" for p in h["pools"].values()) else None

        wait_for(all_serving, 600 * SLOW, "every template")

        def idle_costs_template_only():
            # The early request's pool may keep a clone; let it shrink.
            h = wait_for(lambda: (lambda h: h if h["vms"]["vms"] == 0 else None)(health(d)),
                         3 * IDLE_S + 60 * SLOW, "no VM at all")
            for name, p in h["pools"].items():
                assert p["ready"] == 0 and p["restoring"] == 0 and p["busy"] == 0, (name, p)
            assert h["vmm_processes"] == 0, h

        c.run("idle languages keep no clone", idle_costs_template_only)

        watch = CapWatch(d)
        watch.start()

        def on_demand_then_ready():
            r = d.execute("bash", "echo on demand")
            assert r["status"] == "success" and r["stdout"] == "on demand\n", r
            # Demand of one: the pool now keeps one clone ready.
            wait_for(lambda: health(d)["pools"]["bash"]["ready"] == 1, 120 * SLOW, "a ready bash clone")
            r = d.execute("bash", "echo warm")
            assert r["status"] == "success" and r["stdout"] == "warm\n", r

        c.run("first request restores on demand, then a clone is kept", on_demand_then_ready)

        def cap_and_eviction():
            wait_for(lambda: health(d)["pools"]["bash"]["ready"] == 1, 120 * SLOW, "a ready bash clone")
            r = d.execute("python", "print('two')")
            assert r["status"] == "success", r
            # bash's idle clone and python's make two: the cap. sh must evict.
            wait_for(lambda: health(d)["vms"]["vms"] == 2, 120 * SLOW, "two VMs")
            before = health(d)["vms"]["evictions"]
            r = d.execute("sh", "echo three")
            assert r["status"] == "success" and r["stdout"] == "three\n", r
            h = health(d)
            assert h["vms"]["evictions"] > before, h["vms"]

        c.run("the global cap evicts the least recently used idle clone", cap_and_eviction)

        def parallel_under_cap():
            results = []

            def one(lang, code):
                results.append(d.execute(lang, code))

            ts = [threading.Thread(target=one, args=(l, "echo x" if l != "python" else "print('x')"))
                  for l in ("bash", "sh", "python", "bash", "sh", "python")]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            assert all(r["status"] == "success" and r["stdout"] == "x\n" for r in results), results

        c.run("six parallel requests over three languages all run under a cap of 2", parallel_under_cap)

        watch.stop = True
        watch.join()

        def cap_held():
            log("most VMs counted: %d, most VMM processes (incl. killed, not yet reaped): %d" %
                (watch.max_vms, watch.max_procs))
            assert 0 < watch.max_vms <= 2, "saw %d VMs with a cap of 2" % watch.max_vms

        c.run("never more VMs than the cap", cap_held)

        def shrinks_when_idle():
            wait_for(lambda: health(d)["vms"]["vms"] == 0, 4 * IDLE_S + 60 * SLOW, "the pools to empty")

        c.run("pools shrink back to nothing when idle", shrinks_when_idle)
    except BaseException:
        d.dump_log()
        raise
    finally:
        d.stop()
    if c.failed:
        d.dump_log()
    c.exit()


if __name__ == "__main__":
    main()
