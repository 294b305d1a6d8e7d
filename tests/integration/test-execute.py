#!/usr/bin/env python3
"""test-execute.py: the core vertical slice against the real runnerd with
real TCG VMs: hello world in every language (API and runnerctl), stdin,
compile errors, exit codes, timeouts, isolation between consecutive runs,
fresh randomness and clock per run, and parallel runs."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SLOW, Checks, Daemon, log  # noqa: E402

HELLO = {
    "python": 'print("Hello")\n',
    "bash": 'echo Hello\n',
    "c": '#include <stdio.h>\nint main(void) { puts("Hello"); return 0; }\n',
}


def check_hello(d, lang):
    r = d.execute(lang, HELLO[lang])
    assert r["status"] == "success", r
    assert r["stdout"] == "Hello\n", r
    assert r["exit_code"] == 0 and r["signal"] is None, r
    t = r["timings"]
    assert t["startup_ms"] > 0 and t["startup_ms"] <= r["wall_time_ms"] + 1, t
    log("%s: exec %d ms, startup %.2f ms (queue %.2f resume %.2f handoff %.2f setup %.2f)" % (
        lang, r["exec_time_ms"], t["startup_ms"], t["queue_ms"], t["resume_ms"], t["handoff_ms"], t["setup_ms"]))


def check_runnerctl(d):
    p = d.runnerctl("exec", "-l", "python", "-", stdin=b'import sys\nprint("Hello")\nsys.stderr.write("err\\n")\n')
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert p.stdout == b"Hello\n", p.stdout
    assert p.stderr == b"err\n", p.stderr
    p = d.runnerctl("exec", "-l", "python", "-", stdin=b"raise SystemExit(7)\n")
    assert p.returncode == 7, (p.returncode, p.stderr)
    p = d.runnerctl("languages")
    assert p.returncode == 0 and b"python" in p.stdout, p
    p = d.runnerctl("health")
    assert p.returncode == 0, p


def check_stdin(d):
    data = "line one\nline two ünïcode\n" * 100
    r = d.execute("python", "import sys\nsys.stdout.write(sys.stdin.read())", stdin=data)
    assert r["status"] == "success" and r["stdout"] == data, r


def check_compile_error(d):
    r = d.execute("c", "int main(void) { return nonexistent; }\n")
    assert r["status"] == "compile_error", r
    assert r["compile"] and r["compile"]["exit_code"] != 0, r
    assert "nonexistent" in r["compile"]["stderr"], r["compile"]


def check_c_exit(d):
    r = d.execute("c", "#include <stdio.h>\nint main(void) { printf(\"x\"); return 42; }\n")
    assert r["status"] == "success" and r["exit_code"] == 42 and r["stdout"] == "x", r


def check_exit_code(d):
    r = d.execute("python", "import sys\nprint('bye')\nsys.exit(3)")
    assert r["status"] == "success" and r["exit_code"] == 3 and r["stdout"] == "bye\n", r
    r = d.execute("bash", "echo oops >&2; exit 5")
    assert r["exit_code"] == 5 and r["stderr"] == "oops\n", r


def check_timeout(d):
    t = time.time()
    r = d.execute("python", "while True: pass", timeout=2 * SLOW)
    assert r["status"] == "timeout" and r["timed_out"] is True, r
    assert r["exit_code"] == 124, r
    assert time.time() - t < 60 * SLOW, "timeout took far too long"


def check_isolation(d):
    code = ("import os\n"
            "seen = sorted(os.listdir('/work')) + sorted(os.listdir('/tmp'))\n"
            "open('/work/leak.txt','w').write('secret')\n"
            "open('/tmp/leak.txt','w').write('secret')\n"
            "print(seen)\n")
    first = d.execute("python", code)
    second = d.execute("python", code)
    assert first["status"] == "success" and second["status"] == "success", (first, second)
    assert "leak.txt" not in first["stdout"] and "leak.txt" not in second["stdout"], (first, second)
    assert first["vm_id"] != second["vm_id"], "a VM was reused"


def check_fresh_entropy_and_clock(d):
    code = "import os, time\nprint(os.urandom(16).hex(), time.time())"
    outs = [d.execute("python", code) for _ in range(2)]
    vals = [o["stdout"].split() for o in outs]
    assert vals[0][0] != vals[1][0], "two runs produced the same random bytes"
    for v in vals:
        assert abs(float(v[1]) - time.time()) < 30 * SLOW, "guest clock is off: %s" % v[1]


def check_parallel(d):
    results = [None] * 10
    def one(i):
        try:
            results[i] = d.execute("python", "print(%d * 2)" % i)
        except Exception as e:  # noqa: BLE001
            results[i] = e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        assert isinstance(r, dict) and r["status"] == "success" and r["stdout"] == "%d\n" % (i * 2), (i, r)
    assert len({r["vm_id"] for r in results}) == 10, "VMs were reused"


def main():
    c = Checks()
    with Daemon(languages=("python", "bash", "c")) as d:
        for lang in ("python", "bash", "c"):
            c.run("hello world in %s" % lang, check_hello, d, lang)
        c.run("runnerctl exec, exit codes, languages, health", check_runnerctl, d)
        c.run("stdin round trip", check_stdin, d)
        c.run("compile error in C", check_compile_error, d)
        c.run("C exit code and output", check_c_exit, d)
        c.run("nonzero exit codes", check_exit_code, d)
        c.run("timeout kills an infinite loop", check_timeout, d)
        c.run("consecutive runs never share files", check_isolation, d)
        c.run("fresh randomness and clock per run", check_fresh_entropy_and_clock, d)
        c.run("10 runs in parallel", check_parallel, d)
    c.exit()


if __name__ == "__main__":
    main()
