"""common.py: helpers shared by the hostile-input tests (docs/security.md,
"Hostile inputs"). The daemon itself is started through
tests/integration/harness.py."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402,F401
from harness import SLOW, Checks, qemu_pids_of  # noqa: E402


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def pool_settled(d, pool_size):
    """Nothing in flight, nothing busy, every pool full again, and exactly
    one VMM process per pooled VM (no leak, no missing refill)."""
    status, h = d.get("/health", timeout=10)
    if status != 200 or h["in_flight"] != 0:
        return None
    for p in h["pools"].values():
        if p["busy"] or p["restoring"] or p["ready"] != pool_size:
            return None
    want = pool_size * len(h["pools"])
    if h["vmm_processes"] != want or len(qemu_pids_of(d.proc.pid)) != want:
        return None
    return h


def assert_settled(d, pool_size, timeout=None):
    """After an abuse: the pool refills to its size and nothing leaked."""
    try:
        return wait_for(lambda: pool_settled(d, pool_size), timeout or 60 * SLOW, "the pool to settle")
    except AssertionError:
        status, h = d.get("/health", timeout=10)
        raise AssertionError("pool did not settle: health %s, qemu children %d" % (
            h, len(qemu_pids_of(d.proc.pid))))


def assert_normal(d, lang="bash"):
    """The daemon still serves an ordinary run correctly."""
    code = {"bash": "echo normal; echo err >&2; exit 0",
            "python": "import sys\nprint('normal')\nsys.stderr.write('err\\n')",
            "c": '#include <stdio.h>\nint main(void) { puts("normal"); fputs("err\\n", stderr); return 0; }\n'}[lang]
    r = d.execute(lang, code)
    assert r["status"] == "success" and r["exit_code"] == 0, r
    assert r["stdout"] == "normal\n" and r["stderr"] == "err\n", r
    return r


def run_checks(daemon, checks, settle=None):
    """Runs each (name, check) of `checks` against the one runnerd `daemon`
    starts, and exits with the result. Every check runs even when one before
    it failed, and runnerd must still be running after the last. With
    `settle`, its pools must first be full at that size."""
    c = Checks()
    with daemon as d:
        if settle:
            assert_settled(d, settle)
        for name, check in checks:
            c.run(name, check, d)
        assert d.proc.poll() is None, "runnerd died"
    c.exit()
