#!/usr/bin/env python3
"""agent-driver.py: boots real runnerd guests (QEMU microvm, TCG) with the
guest agent as PID 1 and drives the agent protocol directly, without the
daemon: each check sends one JOB frame and asserts on the RESULT.

Usage: agent-driver.py [--kernel VMLINUX] [--image-dir DIR] [-v]
Exit 0 on success, 1 on a failed check, 77 (SKIP) when no kernel or image is
there. Timeouts scale with RUNNERD_TEST_SLOWDOWN (default 1).

QEMU's command line is runnerd's own, printed by the build's tools/qemu-argv
(RUNNERD_BUILD, default ../../build from here): the guests run exactly like
runnerd's booted templates, sandbox included.

The wire format is re-implemented here on purpose (from
docs/agent-protocol.md): it cross-checks the C encoder and decoder.
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLOW = float(os.environ.get("RUNNERD_TEST_SLOWDOWN", "1"))
BUILD = os.environ.get("RUNNERD_BUILD", os.path.join(ROOT, "build"))
QEMU_ARGV = os.path.join(BUILD, "tools", "qemu-argv")

MAGIC, VERSION = 0x31444E52, 1
HELLO, JOB, ACK, RESULT, ERROR = 1, 2, 3, 4, 5
T_ENTROPY, T_REALTIME, T_FNAME, T_FDATA, T_STDIN = 1, 2, 3, 4, 5
T_COMPILE, T_RUN = 10, 11
LIMIT_TAGS = {"cpu_ms": 20, "wall_ms": 21, "memory_kb": 22, "pids": 23, "fsize_kb": 24,
              "output_bytes": 25, "compile_cpu_ms": 26, "compile_wall_ms": 27, "tmpfs_kb": 28}
T_STEP, T_MESSAGE = 40, 60
STEP_FIELDS = {41: "exit_code", 42: "signal", 43: "cpu_ms", 44: "wall_ms", 45: "peak_memory_kb",
               46: "limits_hit", 47: "stdout", 48: "stderr", 49: "setup_us"}
L_WALL, L_CPU, L_MEMORY, L_STDOUT, L_STDERR, L_PIDS, L_FSIZE = (1 << i for i in range(7))

VERBOSE = False


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def tlv(tag, val):
    return struct.pack("<HI", tag, len(val)) + val


def frame(ftype, fid, payload):
    return struct.pack("<IHHII", MAGIC, VERSION, ftype, fid, len(payload)) + payload


def job_payload(run, files=(), stdin=b"", compile_argv=None, **limits):
    p = tlv(T_ENTROPY, os.urandom(64))
    p += tlv(T_REALTIME, struct.pack("<Q", time.time_ns()))
    for name, data in files:
        p += tlv(T_FNAME, name.encode() + b"\0") + tlv(T_FDATA, data)
    if stdin:
        p += tlv(T_STDIN, stdin)
    if compile_argv:
        p += tlv(T_COMPILE, b"".join(a.encode() + b"\0" for a in compile_argv))
    p += tlv(T_RUN, b"".join(a.encode() + b"\0" for a in run))
    for k, v in limits.items():
        p += tlv(LIMIT_TAGS[k], struct.pack("<I", v))
    return p


def parse_tlvs(p):
    out, off = [], 0
    while off < len(p):
        tag, n = struct.unpack_from("<HI", p, off)
        off += 6
        if off + n > len(p):
            raise ValueError("TLV overruns payload")
        out.append((tag, p[off:off + n]))
        off += n
    return out


def parse_result(p):
    steps, cur = {}, None
    for tag, val in parse_tlvs(p):
        if tag == T_STEP:
            cur = {}
            steps["compile" if struct.unpack("<I", val)[0] == 1 else "run"] = cur
        elif tag in (47, 48):
            cur[STEP_FIELDS[tag]] = val
        else:
            v = struct.unpack("<I", val)[0]
            cur[STEP_FIELDS[tag]] = v - (1 << 32) if tag == 41 and v >= 1 << 31 else v
    return steps


def qemu_argv(**opts):
    """runnerd's QEMU command line for these options (tools/qemu-argv)."""
    cmd = [QEMU_ARGV, "--null"] + [f"--{k.replace('_', '-')}={v}" for k, v in opts.items()]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout
    return [a.decode() for a in out.split(b"\0")[:-1]]


class VM:
    """A guest booted like runnerd's templates: RAM in a file, the agent and
    an (unused) QMP monitor on socketpairs, the console in a file."""

    def __init__(self, kernel, image, memory_mb=512):
        self.sock, theirs = socket.socketpair()
        self.qmp, qmp_theirs = socket.socketpair()
        self.console = tempfile.NamedTemporaryFile(prefix="agent-console-", suffix=".log", delete=False)
        self.ramdir = tempfile.mkdtemp(prefix="agent-ram-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        self.next_id = 1
        cmd = qemu_argv(qemu=shutil.which("qemu-system-x86_64"), accel="tcg", kernel=kernel, image=image,
                        memory_mb=memory_mb, ram_path=os.path.join(self.ramdir, "ram"),
                        console=self.console.name, agent_fd=theirs.fileno(), qmp_fd=qmp_theirs.fileno())
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, pass_fds=[theirs.fileno(), qmp_theirs.fileno()],
                                     stdin=subprocess.DEVNULL)
        theirs.close()
        qmp_theirs.close()

    def read_exact(self, n, timeout):
        buf = b""
        self.sock.settimeout(timeout)
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("agent channel closed")
            buf += chunk
        return buf

    def read_frame(self, timeout):
        magic, ver, ftype, fid, n = struct.unpack("<IHHII", self.read_exact(16, timeout))
        if magic != MAGIC or ver != VERSION or n > 32 << 20:
            raise ValueError(f"bad frame header {magic:#x} v{ver} len {n}")
        return ftype, fid, self.read_exact(n, timeout) if n else b""

    def wait_hello(self):
        ftype, fid, p = self.read_frame(60 * SLOW)
        assert ftype == HELLO, f"expected HELLO, got {ftype}"
        msg = parse_tlvs(p)[0][1].rstrip(b"\0").decode() if p else ""
        return time.monotonic() - self.t0, msg

    def send_raw(self, ftype, payload):
        fid = self.next_id
        self.next_id += 1
        t = time.monotonic()
        self.sock.sendall(frame(ftype, fid, payload))
        return fid, t

    def job(self, timeout=60, **kw):
        fid, t = self.send_raw(JOB, job_payload(**kw))
        ftype, aid, _ = self.read_frame(timeout * SLOW)
        assert (ftype, aid) == (ACK, fid), f"expected ACK {fid}, got type {ftype} id {aid}"
        t_ack = time.monotonic()
        ftype, rid, p = self.read_frame(timeout * SLOW)
        if ftype == ERROR:
            raise AssertionError(f"agent ERROR: {parse_tlvs(p)}")
        assert (ftype, rid) == (RESULT, fid), f"expected RESULT {fid}, got {ftype} {rid}"
        res = parse_result(p)
        res["ack_ms"] = (t_ack - t) * 1000
        res["total_ms"] = (time.monotonic() - t) * 1000
        return res

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sock.close()
        self.qmp.close()
        shutil.rmtree(self.ramdir, ignore_errors=True)
        try:
            with open(self.console.name, "rb") as f:
                tail = f.read()[-2000:]
            if VERBOSE and tail:
                log("--- console tail ---\n" + tail.decode(errors="replace"))
        finally:
            os.unlink(self.console.name)


FAILED = []


def check(name, fn):
    t = time.monotonic()
    try:
        res = fn()
        ms = (time.monotonic() - t) * 1000
        extra = ""
        if isinstance(res, dict) and "run" in res:
            r = res["run"]
            extra = (f" ack {res['ack_ms']:.1f}ms setup {r['setup_us'] / 1000:.1f}ms "
                     f"run wall {r['wall_ms']}ms cpu {r['cpu_ms']}ms peak {r['peak_memory_kb']}KiB")
        log(f"ok   {name} ({ms:.0f} ms{extra})")
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        FAILED.append(name)
        log(f"FAIL {name}: {type(e).__name__}: {e}")


def expect(cond, what, res=None):
    if not cond:
        raise AssertionError(what + (f" (result: {res})" if res is not None else ""))


def python_checks(vm):
    def hello():
        r = vm.job(run=["python3", "main.py"], files=[("main.py", b'print("Hello")\n')])
        expect(r["run"]["exit_code"] == 0 and r["run"]["stdout"] == b"Hello\n", "hello", r)
        expect("compile" not in r and r["run"]["limits_hit"] == 0, "no compile, no limits", r)
        return r

    def stdin_echo():
        data = bytes(range(256)) * 4096  # 1 MiB, NULs included: more than a pipe holds
        r = vm.job(run=["python3", "-c", "import sys,hashlib;"
                        "print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"], stdin=data)
        import hashlib
        expect(r["run"]["stdout"].decode().strip() == hashlib.sha256(data).hexdigest(), "stdin digest", r)
        r2 = vm.job(run=["cat"], stdin=b"echo\0me\n")
        expect(r2["run"]["stdout"] == b"echo\0me\n", "cat echoes stdin", r2)
        return r

    def exit3():
        r = vm.job(run=["sh", "-c", "echo out; echo err >&2; exit 3"])
        run = r["run"]
        expect(run["exit_code"] == 3 and run["signal"] == 0, "exit code 3", r)
        expect(run["stdout"] == b"out\n" and run["stderr"] == b"err\n", "both streams", r)
        return r

    def env_and_uid():
        r = vm.job(run=["sh", "-c", "id -u; id -g; pwd; env | sort; ls -ld /work | cut -c1-10"])
        out = r["run"]["stdout"].decode().split("\n")
        # RD_RUNNER_UID and RD_RUNNER_GID in proto/guest.h
        expect(out[0:3] == ["1000", "1000", "/work"], "uid/gid/cwd", r)
        env = set(out[3:7])
        expect(env == {"HOME=/work", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp"}
               or "PWD=/work" in out, "environment", r)
        return r

    def wall():
        r = vm.job(run=["sh", "-c", "while :; do :; done"], wall_ms=1500)
        run = r["run"]
        expect(run["limits_hit"] & L_WALL and run["signal"] == 9, "wall limit, SIGKILL", r)
        expect(1400 <= run["wall_ms"] < 1500 + 3000 * SLOW, "wall time near the limit", run["wall_ms"])
        return r

    def cpu():
        r = vm.job(run=["python3", "-c", "while True: pass"], cpu_ms=1000, wall_ms=20000)
        run = r["run"]
        expect(run["limits_hit"] & L_CPU and run["signal"] in (9, 24), "cpu limit (SIGXCPU/SIGKILL)", r)
        return r

    def yes_cap():
        r = vm.job(run=["yes"], output_bytes=10000, wall_ms=10000)
        run = r["run"]
        expect(run["limits_hit"] & L_STDOUT and len(run["stdout"]) == 10000, "stdout capped", r)
        expect(run["signal"] == 13, "yes dies of SIGPIPE", r)
        expect(not run["limits_hit"] & L_WALL, "no wall limit needed", r)
        return r

    def fork_bomb():
        r = vm.job(run=["bash", "-c", "b() { b | b & }; b; sleep 2"], pids=32, wall_ms=8000)
        expect(r["run"]["limits_hit"] & L_PIDS, "pids limit", r)
        r2 = vm.job(run=["sh", "-c", "echo fine"])
        expect(r2["run"]["stdout"] == b"fine\n", "next job runs normally", r2)
        return r

    def memory_hog():
        r = vm.job(run=["python3", "-c", "a = []\nwhile True: a.append(bytearray(1 << 20))"],
                   memory_kb=64 << 10, wall_ms=20000)
        run = r["run"]
        expect(run["limits_hit"] & L_MEMORY and run["signal"] == 9, "OOM kill", r)
        expect(run["peak_memory_kb"] >= 60 << 10, "peak near the limit", r)
        return r

    def fsize():
        r = vm.job(run=["sh", "-c", "exec head -c 2000000 /dev/zero > big"], fsize_kb=1024)
        expect(r["run"]["limits_hit"] & L_FSIZE, "file size limit", r)
        return r

    def daemon_gone():
        # The leftover keeps stdout open: the agent must kill it, not wait.
        r = vm.job(run=["sh", "-c", "sleep 1000 & setsid sleep 999 </dev/null >/dev/null 2>&1 & echo bye"],
                   wall_ms=20000)
        expect(r["run"]["exit_code"] == 0 and r["run"]["stdout"] == b"bye\n", "parent exits", r)
        expect(not r["run"]["limits_hit"] & L_WALL, "not held until the wall limit", r)
        r2 = vm.job(run=["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"])
        expect(b"sleep" not in r2["run"]["stdout"], "no leftover sleep in the next job", r2)
        return r

    def isolation():
        vm.job(run=["sh", "-c", "echo secret > left.txt; echo s > /tmp/left; mkdir d"],
               files=[("first.txt", b"1")])
        r = vm.job(run=["sh", "-c", "ls -A /work /tmp"], files=[("second.txt", b"2")])
        out = r["run"]["stdout"].decode()
        expect("left" not in out and "first" not in out and "second.txt" in out, "fresh /work and /tmp", r)
        return r

    def urandom():
        cmd = ["sh", "-c", "head -c 32 /dev/urandom | od -An -tx1"]
        a, b = vm.job(run=cmd), vm.job(run=cmd)
        expect(a["run"]["stdout"] != b["run"]["stdout"] and len(a["run"]["stdout"]) > 32, "urandom differs", (a, b))
        return b

    def clock():
        r = vm.job(run=["date", "+%s.%N"])
        guest = float(r["run"]["stdout"])
        expect(abs(guest - time.time()) < 2 + r["total_ms"] / 1000, f"clock within 2 s ({guest - time.time():+.2f})")
        return r

    def no_write_outside():
        r = vm.job(run=["sh", "-c", "touch /etc/x 2>&1; echo x > /dev/console 2>&1; touch /sbin/y 2>&1; true"])
        err = (r["run"]["stdout"] + r["run"]["stderr"]).decode()
        expect(err.count("ermission denied") + err.count("Read-only") >= 3, "writes outside refused", r)
        return r

    def exec_fail():
        r = vm.job(run=["no-such-program"])
        expect(r["run"]["exit_code"] == 127 and b"no-such-program" in r["run"]["stderr"], "exit 127", r)
        return r

    def malformed():
        fid, _ = vm.send_raw(JOB, b"\x01\x00\xff\xff\xff\xff garbage")
        ftype, aid, _ = vm.read_frame(30 * SLOW)
        expect((ftype, aid) == (ACK, fid), "ACK first")
        ftype, eid, p = vm.read_frame(30 * SLOW)
        expect(ftype == ERROR and eid == fid and b"malformed" in p, f"ERROR frame ({ftype} {p!r})")
        r = vm.job(run=["true"])  # the agent survives (the host would kill the VM)
        return r

    for name, fn in [("python hello world", hello), ("stdin echo", stdin_echo), ("exit code 3", exit3),
                     ("uid, cwd and environment", env_and_uid), ("wall limit", wall), ("cpu limit", cpu),
                     ("yes hits the output cap", yes_cap), ("fork bomb hits pids", fork_bomb),
                     ("memory hog hits memory", memory_hog), ("file size limit", fsize),
                     ("daemon left behind is gone", daemon_gone), ("second job sees no files of the first", isolation),
                     ("urandom differs between jobs", urandom), ("guest clock set", clock),
                     ("no writes outside /work and /tmp", no_write_outside), ("exec failure is 127", exec_fail),
                     ("malformed job gives ERROR", malformed)]:
        check(name, fn)


def c_checks(vm):
    gcc = ["gcc", "-O2", "-o", "main", "main.c", "-lm"]

    def compile_run():
        src = b'#include <stdio.h>\n#include <math.h>\nint main(void){int x; if (scanf("%d",&x)!=1) return 1;' \
              b'printf("%d %.0f\\n", x * 2, sqrt(x * 4.0)); return 0;}\n'
        r = vm.job(run=["./main"], compile_argv=gcc, files=[("main.c", src)], stdin=b"16\n", timeout=180)
        expect(r["compile"]["exit_code"] == 0, "compiles", r)
        expect(r["run"]["stdout"] == b"32 8\n", "runs", r)
        log(f"     C compile wall {r['compile']['wall_ms']} ms, cpu {r['compile']['cpu_ms']} ms, "
            f"peak {r['compile']['peak_memory_kb']} KiB")
        return r

    def compile_error():
        r = vm.job(run=["./main"], compile_argv=gcc, files=[("main.c", b"int main(void) { return x; }\n")],
                   timeout=180)
        expect(r["compile"]["exit_code"] != 0 and b"error" in r["compile"]["stderr"], "compile fails", r)
        expect("run" not in r, "no run step after a failed compile", r)
        return r

    check("C compile + run", compile_run)
    check("C compile error", compile_error)


def boot(kernel, image, label):
    vm = VM(kernel, image)
    try:
        secs, msg = vm.wait_hello()
    except Exception:
        vm.close()
        raise
    log(f"ok   {label}: booted to HELLO in {secs * 1000:.0f} ms ({msg})")
    return vm


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", default=os.environ.get("RUNNERD_KERNEL"))
    ap.add_argument("--image-dir", default=os.environ.get("RUNNERD_IMAGE_DIR"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose

    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 not installed")
        return 77
    if not os.access(QEMU_ARGV, os.X_OK):
        print(f"SKIP: no {QEMU_ARGV} (build runnerd, or set RUNNERD_BUILD)")
        return 77
    kernel = args.kernel
    if not kernel:
        p = subprocess.run([os.path.join(ROOT, "tools/build-kernel"), "--print-path"],
                           capture_output=True, text=True)
        kernel = p.stdout.strip() if p.returncode == 0 else None
    if not kernel or not os.path.exists(kernel):
        print("SKIP: no guest kernel (run tools/build-kernel)")
        return 77

    def image(lang):
        if args.image_dir:
            p = os.path.join(args.image_dir, lang + ".erofs")
            return p if os.path.exists(p) else None
        p = subprocess.run([os.path.join(ROOT, "tools/runner-image"), "path", lang],
                           capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    py, c = image("python"), image("c")
    if not py and not c:
        print("SKIP: no python or c image (run tools/runner-image build python)")
        return 77
    for lang, img, fn in (("python", py, python_checks), ("c", c, c_checks)):
        if not img:
            log(f"skip {lang}: no image")
            continue
        try:
            vm = boot(kernel, img, lang)
        except Exception as e:  # noqa: BLE001
            FAILED.append(f"{lang} boot")
            log(f"FAIL {lang} boot: {type(e).__name__}: {e}")
            continue
        try:
            fn(vm)
        finally:
            vm.close()
    if FAILED:
        log(f"{len(FAILED)} check(s) failed: {', '.join(FAILED)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
