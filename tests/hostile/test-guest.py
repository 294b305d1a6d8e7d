#!/usr/bin/env python3
"""test-guest.py: hostile programs (docs/security.md, rows 1-9, 12, 13,
15-18) against the real runnerd with real TCG VMs. One daemon serves every
check; after each abuse the daemon must still serve an ordinary run
correctly, the pools must refill, and no VMM process may leak."""
import base64
import json
import os
import secrets
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SLOW, assert_normal, assert_settled, run_checks, vm_rss_kb  # noqa: E402
from harness import CACHE, Daemon, image_path, log  # noqa: E402

POOL = 2


def after(d, lang="bash"):
    assert_normal(d, lang)
    assert_settled(d, POOL)


def timed(d, lang, code, **fields):
    t = time.time()
    r = d.execute(lang, code, **fields)
    return r, time.time() - t


# 1
def check_fork_bomb(d):
    # The classic one: the script itself returns at once; the agent kills
    # the bomb's cgroup when the main process exits.
    r, el = timed(d, "bash", ":(){ :|:& };:\necho launched", timeout=5 * SLOW)
    assert r["status"] in ("success", "timeout"), r
    assert el < 30 * SLOW, "fork bomb run took %.1fs" % el
    # A bomb whose main process keeps forking: the pids limit stops the
    # forks, the wall limit ends the run.
    r, el = timed(d, "bash", "while :; do ( while :; do :; done ) & done", timeout=3 * SLOW)
    assert r["status"] == "timeout" and r["exit_code"] == 124 and r["timed_out"], r
    assert el < (3 + 15) * SLOW, "took %.1fs" % el
    after(d)


# 2
def check_memory_hog(d):
    r, el = timed(d, "bash", "a=x; while :; do a=$a$a; done", memory_mb=64, timeout=20 * SLOW)
    assert r["status"] == "memory_limit" and r["oom"] is True, r
    assert r["signal_name"] == "SIGKILL" or r["exit_code"] is not None, r
    # The agent survived the OOM: the same daemon serves the next run.
    after(d)


# 3
def check_endless_output(d):
    rss_pid = d.proc.pid
    r = d.execute("bash", "yes")
    # 65536: the default output limit, RD_DEFAULT_OUTPUT_BYTES in proto/guest.h
    assert r["stdout_truncated"] is True and len(r["stdout"]) == 65536, (len(r["stdout"]), r["stdout_truncated"])
    assert r["stdout"].startswith("y\ny\n"), r["stdout"][:20]
    before = vm_rss_kb(rss_pid)
    for _ in range(3):
        r = d.execute("bash", "yes >&2 & yes $(head -c 3000 /dev/zero | tr '\\0' y)",
                      output_limit=1 << 20, encoding="base64")
        out, err = base64.b64decode(r["stdout_b64"]), base64.b64decode(r["stderr_b64"])
        assert len(out) == 1 << 20 and len(err) == 1 << 20, (len(out), len(err))
        assert r["stdout_truncated"] and r["stderr_truncated"], r
    grown = vm_rss_kb(rss_pid) - before
    log("runnerd RSS %d kB before, grew by %d kB over 3 x 2 MiB of output" % (before, grown))
    # Each run carries 2 MiB (plus base64 and JSON copies); what is left
    # must not scale with the output (allocator slack only).
    assert grown < 12 * 1024, "runnerd RSS grew by %d kB" % grown
    # A limit above the maximum is clamped to 1 MiB.
    r = d.execute("bash", "yes", output_limit=1 << 30)
    assert r["limits"]["output_limit"] == 1 << 20 and len(r["stdout"]) == 1 << 20, r["limits"]
    after(d)


# 4
def check_binary_output(d):
    everything = bytes(range(256))
    code = "printf '%s'\nprintf '\\377\\376\\000' >&2\nhead -c 300000 /dev/zero | tr '\\0' L\n" % "".join(
        "\\%03o" % b for b in everything)
    want = everything + b"L" * 300000
    r = d.execute("bash", code, output_limit=1 << 20)
    assert r["status"] == "success", r
    assert r["stdout_lossy"] is True and r["stderr_lossy"] is True, r
    assert "\ufffd" in r["stdout"] and "\x00" in r["stdout"] and r["stdout"].endswith("L" * 1000), r["stdout"][:300]
    assert r["stderr"].endswith("\x00"), repr(r["stderr"])
    # The raw response must be valid JSON (the harness parsed it) and pure
    # UTF-8: re-encoding must not fail.
    json.dumps(r, ensure_ascii=False).encode("utf-8")
    r = d.execute("bash", code, output_limit=1 << 20, encoding="base64")
    assert base64.b64decode(r["stdout_b64"]) == want, "base64 stdout not byte-exact"
    assert base64.b64decode(r["stderr_b64"]) == b"\xff\xfe\x00", r["stderr_b64"]
    assert "stdout" not in r or r["stdout"] is None, r.keys()
    after(d)


# 5
def host_free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def check_fill_disk(d):
    paths = [p for p in (CACHE, d.dir, "/tmp") if os.path.exists(p)]
    free_before = {p: host_free(p) for p in paths}
    # /work and /tmp are 64 MiB each (RD_DEFAULT_TMPFS_KB in proto/guest.h),
    # so the second 40 MiB file and the 100 MiB one cannot fit.
    code = ("for i in 1 2 3; do head -c 40M /dev/zero > /work/f$i || echo work-full-$i; done\n"
            "head -c 100M /dev/zero > /tmp/big || echo tmp-full\n"
            "head -c 30M /dev/zero > /dev/shm/big || echo shm-full\n"
            "cd /tmp && rm -f big && n=0; while [ $n -lt 2000 ]; do : > i$n || break; n=$((n+1)); done; echo files=$n\n"
            "df -k /work /tmp /dev/shm >&2\n")
    r = d.execute("bash", code, timeout=30 * SLOW)
    assert r["status"] == "success", r
    assert "work-full-2" in r["stdout"] and "tmp-full" in r["stdout"] and "shm-full" in r["stdout"], r
    assert "No space left on device" in r["stderr"], r["stderr"][-2000:]
    assert "files=2000" in r["stdout"], r["stdout"]
    for p in paths:
        lost = free_before[p] - host_free(p)
        # The guest wrote ~200 MB; other activity on the host may move a
        # little, but not that much.
        assert lost < 50 << 20, "host %s lost %d MB" % (p, lost >> 20)
    after(d)


# 6
def check_write_dev_root_console(d):
    img = image_path("bash")
    st = os.stat(img)
    code = ("for f in /dev/vda /dev/console /dev/ttyS0 /dev/kmsg /dev/mem /dev/port /bin/bash /newfile /etc/passwd "
            "/sys/fs/cgroup/cgroup.procs /proc/sys/kernel/hostname /proc/sysrq-trigger; do\n"
            "  if (echo x >> $f) 2>/dev/null; then echo WROTE $f; else echo denied $f; fi\n"
            "done\n"
            "(echo x > /newfile) 2>&1 | head -1\n"
            "(mount -o remount,rw / || echo mount-denied) 2>&1\n"
            "echo x > /dev/null && echo devnull-ok\n")
    r = d.execute("bash", code)
    assert "WROTE" not in r["stdout"], r["stdout"]
    assert r["stdout"].count("denied ") == 12, r["stdout"]
    assert "Read-only file system" in r["stdout"] or "Permission denied" in r["stdout"], r["stdout"]
    assert "mount-denied" in r["stdout"] and "devnull-ok" in r["stdout"], r["stdout"]
    st2 = os.stat(img)
    assert (st.st_mtime_ns, st.st_size) == (st2.st_mtime_ns, st2.st_size), "the root image changed"
    after(d)


# 7
def check_sleep_forever(d):
    for name, code in [("sleep", "sleep 100000"),
                       ("ignore SIGTERM", "trap '' TERM INT HUP; while :; do sleep 1; done"),
                       ("ignore SIGTERM, spin", "trap '' TERM INT HUP; while :; do :; done")]:
        r, el = timed(d, "bash", code, timeout=2 * SLOW)
        assert r["status"] == "timeout" and r["exit_code"] == 124 and r["timed_out"] is True, (name, r)
        assert el < 2 * SLOW + 10 * SLOW, "%s: answered after %.1fs" % (name, el)
    # Stdin without data is at EOF, not a pipe that blocks forever.
    r, el = timed(d, "bash", "read -r x; echo rc=$?; cat; echo done", timeout=5 * SLOW)
    assert r["status"] == "success" and r["stdout"] == "rc=1\ndone\n", r
    # Stdin given but a program that reads more than that also sees EOF.
    r = d.execute("bash", "cat; cat; echo done", stdin="abc", timeout=5 * SLOW)
    assert r["status"] == "success" and r["stdout"] == "abcdone\n", r
    after(d)


# 8
def check_close_stdout_early(d):
    r = d.execute("bash", "echo before; exec >&- 2>&-; sleep 1; exit 3")
    assert r["status"] == "success" and r["exit_code"] == 3 and r["stdout"] == "before\n", r
    r = d.execute("c", "#include <unistd.h>\nint main(void) { write(1, \"x\", 1); close(1); close(2);"
                       " sleep(1); return 3; }\n")
    assert r["status"] == "success" and r["exit_code"] == 3 and r["stdout"] == "x", r
    after(d)


# 9
# A ps without forks (fork+exec is slow under TCG): argv[0] of every process.
PS = "for p in /proc/[0-9]*/cmdline; do read -r -d '' c < $p && printf '%s ' \"$c\"; done 2>/dev/null; echo\n"


def check_daemonise(d):
    marker = "zz" + secrets.token_hex(4)
    code = ("(setsid sh -c 'exec -a %s sleep 1000' </dev/null >/dev/null 2>&1 &)\n"
            "(trap '' HUP TERM; exec -a %s-2 sleep 1000) </dev/null >/dev/null 2>&1 &\n"
            "nohup sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 &\n"
            "disown -a\n"
            # the double fork may not have reached its exec yet on a busy host
            "for i in $(seq 100); do grep -qs ^%s /proc/[0-9]*/cmdline && break; sleep 0.05; done\n%s"
            % (marker, marker, marker, PS))
    r, el = timed(d, "bash", code, timeout=20 * SLOW)
    assert r["status"] == "success" and r["exit_code"] == 0, r
    assert marker in r["stdout"], "the daemonised child did not start: %s" % r["stdout"]
    # The run ends when the main process ends, not at the wall deadline.
    assert el < 10 * SLOW and r["exec_time_ms"] < 5000 * SLOW, "waited for the leftovers: %.1fs %s" % (el, r)
    r2 = d.execute("bash", PS)
    assert marker not in r2["stdout"] and "sleep" not in r2["stdout"], r2["stdout"]
    assert r2["vm_id"] != r["vm_id"], "a VM was reused"
    after(d)


# 12
def check_spin_neighbour(d):
    spin = {}

    def spinner():
        spin["r"] = d.execute("bash", "while :; do :; done", timeout=6 * SLOW)
    t = threading.Thread(target=spinner)
    t.start()
    time.sleep(1.5 * SLOW)
    lat = []
    for _ in range(3):
        r, el = timed(d, "bash", "echo neighbour")
        assert r["status"] == "success" and r["stdout"] == "neighbour\n", r
        lat.append(el)
    t.join(60 * SLOW)
    assert spin.get("r") and spin["r"]["status"] == "timeout", spin
    log("neighbour latency while spinning: %s" % ["%.2f" % x for x in lat])
    assert max(lat) < 5 * SLOW, lat
    assert not t.is_alive()
    after(d)


# 13
def check_network(d):
    code = ("ls /sys/class/net; echo\n"
            "for a in 10.0.2.2/80 169.254.169.254/80 127.0.0.1/9 127.0.0.1/8080 1.1.1.1/53; do\n"
            "  s=$(date +%s%N); (exec 3<>/dev/tcp/${a%/*}/${a#*/}) 2>/dev/null && echo OPEN $a || echo closed $a $(( ($(date +%s%N)-s)/1000000 ))ms\n"
            "done\n"
            "s=$(date +%s%N); getent hosts example.com && echo RESOLVED || echo nodns $(( ($(date +%s%N)-s)/1000000 ))ms\n"
            "getent hosts localhost || echo no-localhost\n")
    r, el = timed(d, "bash", code, timeout=20 * SLOW)
    assert r["status"] == "success", r
    out = r["stdout"]
    assert out.split("\n")[0].split() == ["lo"], "network devices in the guest: %s" % out
    assert "OPEN" not in out and "RESOLVED" not in out, out
    assert out.count("closed ") == 5 and "nodns" in out, out
    assert el < 15 * SLOW, "network failures are slow: %.1fs\n%s" % (el, out)
    # Loopback works, inside the guest only.
    code = ("import socket\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 5555)); s.listen()\n"
            "c = socket.create_connection(('127.0.0.1', 5555)); a, _ = s.accept()\n"
            "c.sendall(b'ping'); print(a.recv(4).decode())\n")
    r = d.execute("python", code)
    assert r["status"] == "success" and r["stdout"] == "ping\n", r
    after(d)


# 15
def check_no_leftovers(d):
    secret = secrets.token_hex(16)
    # Run B assembles the secret from two halves, so that neither its own
    # main.sh nor its grep's command line contains it.
    half = len(secret) // 2
    code_a = ("echo %s > /work/s; echo %s > /tmp/s; echo %s > /dev/shm/s; echo %s > $HOME/.s\n"
              "export LEAK=%s; echo LEAK=$LEAK >> ~/.bashrc 2>/dev/null\n"
              "(exec -a %s sleep 1000) &\necho stored\n" % ((secret,) * 6))
    code_b = ("x=%s; y=%s; s=$x$y\n"
              "grep -rsl $s /work /tmp /dev/shm /run /var/tmp 2>/dev/null && echo FOUND-FILE\n"
              "env | grep -q $s && echo FOUND-ENV\n"
              "for p in /proc/[0-9]*/cmdline; do read -r -d '' c < $p; [ \"$c\" = $s ] && echo FOUND-PROC; done 2>/dev/null\n"
              "ls -A /work /tmp /dev/shm; echo checked\n" % (secret[:half], secret[half:]))
    a = d.execute("bash", code_a)
    assert a["status"] == "success" and a["stdout"] == "stored\n", a
    for _ in range(2):
        b = d.execute("bash", code_b)
        assert b["status"] == "success" and "FOUND" not in b["stdout"] and secret not in b["stdout"], b
        assert b["stdout"].strip().endswith("checked"), b
        assert b["vm_id"] != a["vm_id"], "a VM was reused"
    after(d)


# 16
def check_randomness(d):
    code = ("head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo\n"
            "cat /proc/sys/kernel/random/uuid /proc/sys/kernel/random/boot_id\n"
            "echo $RANDOM $$\n")
    outs = [d.execute("bash", code)["stdout"].split("\n") for _ in range(3)]
    for i, what in enumerate(["urandom", "uuid4", "boot_id"]):
        vals = [o[i] for o in outs]
        assert len(set(vals)) == 3, "%s repeats across runs: %s" % (what, vals)
    vals = [o[3].split()[0] for o in outs]
    log("bash $RANDOM across runs: %s" % vals)
    code = "import uuid, random\nprint(uuid.uuid4(), random.random())"
    outs = [d.execute("python", code)["stdout"] for _ in range(2)]
    assert outs[0].split()[0] != outs[1].split()[0] and outs[0].split()[1] != outs[1].split()[1], outs
    after(d)


# 17
def check_clock(d):
    for _ in range(2):
        t0 = time.time()
        r = d.execute("bash", "date +%s.%N")
        t1 = time.time()
        g = float(r["stdout"])
        assert t0 - 2 * SLOW <= g <= t1 + 2 * SLOW, "guest clock %.3f, host %.3f..%.3f" % (g, t0, t1)
    r = d.execute("c", "#include <stdio.h>\n#include <time.h>\nint main(void) { struct timespec t;"
                       " clock_gettime(CLOCK_REALTIME, &t); printf(\"%ld.%09ld\", (long)t.tv_sec, t.tv_nsec); }\n")
    g = float(r["stdout"])
    assert abs(g - time.time()) < 2 * SLOW + r["wall_time_ms"] / 1000.0, (g, time.time())
    after(d)


# 18
def check_compiler_bombs(d):
    bombs = [
        ("include /dev/zero", '#include "/dev/zero"\nint main(void) { return 0; }\n'),
        ("macro explosion",
         "#define A(x) x x x x x x x x x x\n#define B(x) A(A(A(A(x))))\n#define C(x) B(B(x))\n"
         "int main(void) { int i = 0; C(i++;) return i; }\n"),
        ("include itself", '#include "main.c"\nint main(void) { return 0; }\n'),
    ]
    for name, code in bombs:
        r, el = timed(d, "c", code, memory_mb=64, timeout=5 * SLOW)
        log("%s: status %s in %.1fs, compile %s" % (
            name, r["status"], el, r["compile"] and {k: r["compile"][k] for k in ("exit_code", "signal_name", "wall_time_ms")}))
        assert r["status"] in ("compile_timeout", "compile_error", "memory_limit"), (name, r)
        assert el < (30 + 5 + 10) * SLOW, "%s took %.1fs" % (name, el)
    after(d, "c")


def main():
    daemon = Daemon(languages=("bash", "c", "python"), pool_size=POOL)
    run_checks(daemon, settle=POOL, checks=[
        ("1 fork bomb", check_fork_bomb),
        ("2 memory hog: memory_limit, oom", check_memory_hog),
        ("3 endless output: truncated, daemon RSS flat", check_endless_output),
        ("4 binary output, invalid UTF-8, NUL, huge line", check_binary_output),
        ("5 fill the disk and inodes", check_fill_disk),
        ("6 write to /dev, the root image, the console", check_write_dev_root_console),
        ("7 sleep forever, ignore SIGTERM, read stdin", check_sleep_forever),
        ("8 close stdout/stderr early, exit 3", check_close_stdout_early),
        ("9 daemonised children do not survive", check_daemonise),
        ("12 a spinner does not stall its neighbours", check_spin_neighbour),
        ("13 no network", check_network),
        ("15 no data from earlier runs", check_no_leftovers),
        ("16 randomness differs between runs", check_randomness),
        ("17 guest clock follows the host", check_clock),
        ("18 compiler bombs are bounded", check_compiler_bombs),
    ])


if __name__ == "__main__":
    main()
