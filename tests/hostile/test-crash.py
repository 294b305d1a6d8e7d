#!/usr/bin/env python3
"""test-crash.py: a VMM that dies or hangs under a running job (docs/security.md,
rows 10, 11 and the host side of 7). The program itself runs as uid 1000
and cannot kill the agent or reboot the guest (checked here too), so the
test plays the crashing guest: it SIGKILLs or SIGSTOPs the job's QEMU
process. With a pool of one and a single language, the job's VMM is the
only QEMU child of runnerd when the job is sent."""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SLOW, assert_normal, assert_settled, qemu_pids_of, run_checks, wait_for  # noqa: E402
from harness import Daemon, log  # noqa: E402

POOL = 1


def after(d):
    assert_normal(d)
    assert_settled(d, POOL)


def start_run(d, code, timeout):
    out = {}

    def run():
        t = time.time()
        try:
            out["r"] = d.execute("bash", code, timeout=timeout)
        except Exception as e:  # noqa: BLE001
            out["r"] = e
        out["t"] = time.time()
        out["elapsed"] = out["t"] - t
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


def leased_vmm(d):
    """Waits for the pool to be full (one paused VMM), returns its pid."""
    assert_settled(d, POOL)
    pids = qemu_pids_of(d.proc.pid)
    assert len(pids) == 1, pids
    return pids[0]


def wait_running(d):
    wait_for(lambda: d.get("/health")[1]["pools"]["bash"]["busy"] == 1, 30 * SLOW, "the job to run")
    time.sleep(0.5 * SLOW)  # let the program start in the guest


# 10 / 11
def check_kill_vmm_mid_run(d):
    pid = leased_vmm(d)
    before = d.get("/health")[1]["pools"]["bash"]["sandbox_errors"]
    th, out = start_run(d, "echo started; sleep 30", timeout=60)
    wait_running(d)
    killed = time.time()
    os.kill(pid, signal.SIGKILL)
    th.join(30 * SLOW)
    assert "r" in out, "no answer 30 s after the VMM died"
    r = out["r"]
    assert isinstance(r, dict) and r["status"] == "sandbox_error", r
    assert r.get("message"), r
    assert r["exit_code"] is None and not r["timed_out"], r
    latency = out["t"] - killed
    log("VMM SIGKILLed: sandbox_error after %.2fs: %s" % (latency, r["message"]))
    assert latency < 3 * SLOW, "sandbox_error came %.1fs after the VMM died" % latency
    h = d.get("/health")[1]["pools"]["bash"]
    assert h["sandbox_errors"] == before + 1, h
    after(d)


def check_kill_idle_vmm(d):
    pid = leased_vmm(d)
    deaths = d.get("/health")[1]["pools"]["bash"]["idle_vm_deaths"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: d.get("/health")[1]["pools"]["bash"]["idle_vm_deaths"] == deaths + 1, 10 * SLOW,
             "the idle death to be noticed")
    after(d)


# 7, host side: the guest stops cooperating (the VMM is frozen), so the
# agent's own wall limit can never fire; the host deadline must.
def check_frozen_vmm(d):
    pid = leased_vmm(d)
    timeout = 2 * SLOW
    th, out = start_run(d, "sleep 1000", timeout=timeout)
    wait_running(d)
    os.kill(pid, signal.SIGSTOP)
    try:
        th.join(timeout + 30 * SLOW)
    finally:
        if os.path.exists("/proc/%d" % pid):
            os.kill(pid, signal.SIGCONT)
    assert "r" in out, "no answer from a frozen VMM"
    r = out["r"]
    log("frozen VMM: %s after %.1fs: %s" % (r.get("status"), out["elapsed"], r.get("message")))
    assert r["status"] in ("timeout", "sandbox_error"), r
    if r["status"] == "timeout":
        assert r["exit_code"] == 124 and r["timed_out"], r
    # timeout + the host's 2 s grace (scaled), plus resume and slack.
    assert out["elapsed"] < timeout + 2 * SLOW + 3 * SLOW, "answered after %.1fs" % out["elapsed"]
    wait_for(lambda: not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z",
             10 * SLOW, "the frozen VMM to be killed")
    after(d)


# 10 / 11 from inside: what uid 1000 can try against the agent and kernel.
def check_guest_tries_to_crash(d):
    code = ("kill -9 1 2>&1; kill -SEGV 1 2>&1; kill -9 -1; echo still-here\n"
            "(echo b > /proc/sysrq-trigger) 2>&1; (echo o > /proc/sysrq-trigger) 2>&1\n"
            "for c in reboot poweroff halt; do command -v $c >/dev/null && $c -f 2>&1; done\n"
            "echo 1 > /proc/sys/kernel/panic 2>&1\n"
            "exec 3>/dev/port 2>&1; exec 3>/dev/mem 2>&1\n"
            "echo end\n")
    r = d.execute("bash", code, timeout=10 * SLOW)
    assert r["status"] == "success" and "still-here" in r["stdout"] and r["stdout"].endswith("end\n"), r
    after(d)


def main():
    run_checks(Daemon(languages=("bash",), pool_size=POOL), checks=[
        ("10 VMM SIGKILLed mid-run: sandbox_error promptly, pool refilled", check_kill_vmm_mid_run),
        ("10 idle VMM SIGKILLed: pool refilled", check_kill_idle_vmm),
        ("7 frozen VMM: the host deadline ends the run", check_frozen_vmm),
        ("10/11 uid 1000 cannot kill the agent or reboot", check_guest_tries_to_crash),
    ])


if __name__ == "__main__":
    main()
