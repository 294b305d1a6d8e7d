"""harness.py: starts the real runnerd on a private socket and state
directory (with real TCG VMs), and talks HTTP/JSON to it over the UNIX
socket. Shared by the integration and hostile-input tests.

Environment:
  RUNNERD_BUILD          meson build dir (default: ../../build from here)
  RUNNERD_CACHE          kernel, images, snapshot templates (default /var/cache/runnerd)
  RUNNERD_TEST_SLOWDOWN  scales every timeout (default 1; CI uses 3)
A test whose kernel or images are missing prints SKIP and exits 77.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RUNNERD_BUILD", os.path.join(ROOT, "build"))
CACHE = os.environ.get("RUNNERD_CACHE", "/var/cache/runnerd")
SLOW = float(os.environ.get("RUNNERD_TEST_SLOWDOWN", "1"))
RUNNERD = os.path.join(BUILD, "daemon", "runnerd")
RUNNERCTL = os.path.join(BUILD, "tools", "runnerctl")

SKIP = 77


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


LANGUAGES = os.path.join(ROOT, "tools", "languages")
KERNEL = os.path.join(CACHE, "kernel", "vmlinux")


def lang_keys(name, languages_dir=LANGUAGES):
    """The key = value pairs of LANGUAGES_DIR/NAME.lang (raw values)."""
    keys = {}
    with open(os.path.join(languages_dir, name + ".lang")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                keys[k.strip()] = v.strip()
    return keys


def image_path(name, cache=CACHE, languages_dir=LANGUAGES):
    """Where the image holding language NAME is (languages share images)."""
    return os.path.join(cache, "images", lang_keys(name, languages_dir).get("image", name) + ".erofs")


def require_assets(languages, cache=CACHE, languages_dir=LANGUAGES):
    missing = [p for p in [KERNEL, RUNNERD, RUNNERCTL] +
               [image_path(l, cache, languages_dir) for l in languages] if not os.path.exists(p)]
    if missing:
        print("SKIP: missing " + ", ".join(missing) + " (run tools/build-kernel, tools/runner-image build LANG)")
        sys.exit(SKIP)


def die_with_parent():
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def jail_uids():
    """A uid range of its own for each runnerd this process starts
    (--jail-uids): runnerd locks its range, and tests run daemons side by side."""
    jail_uids.n = getattr(jail_uids, "n", 0) + 1
    first = 1879048192 + 1024 * (1 + (os.getpid() * 8 + jail_uids.n) % 200000)
    return "%d:1024" % first


class Daemon:
    """A private runnerd: its own socket and state dir, the shared cache
    (or another cache and languages dir: the kernel stays the shared one)."""

    def __init__(self, languages=("python",), pool_size=2, extra=(), cache=CACHE, languages_dir=LANGUAGES):
        require_assets(languages, cache, languages_dir)
        self.dir = tempfile.mkdtemp(prefix="runnerd-test-")
        self.socket = os.path.join(self.dir, "runnerd.sock")
        self.state = os.path.join(self.dir, "state")
        self.logpath = os.path.join(self.dir, "runnerd.log")
        self.languages = languages
        self.args = [RUNNERD, "--socket", self.socket, "--state-dir", self.state, "--cache-dir", cache,
                     "--accel", os.environ.get("RUNNERD_TEST_ACCEL", "tcg"), "--only", ",".join(languages),
                     "--pool-size", str(pool_size), "--languages", languages_dir,
                     "--slowdown", str(SLOW), "--verbose", "--jail-uids", jail_uids()] + list(extra)
        if cache != CACHE:
            self.args[1:1] = ["--kernel", KERNEL]
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            log("runnerd log kept in", self.logpath)
            self.dump_log()
        return False

    def start(self, wait=True):
        self.logf = open(self.logpath, "ab")
        # runnerd dies with the test (a test killed by its timeout must not
        # leave a daemon and its VMs behind to disturb the next one).
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=None):
        # A template build boots a VM and runs a hello world: minutes under TCG.
        deadline = time.time() + (timeout or 300 * SLOW)
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.dump_log()
                raise AssertionError("runnerd exited with %d during start-up" % self.proc.returncode)
            try:
                status, h = self.get("/health", timeout=5)
                last = h
                if status == 200 and h.get("status") == "ok" and all(
                        p["ready"] >= 1 for p in h["pools"].values()):
                    return h
                if h.get("status") == "degraded":
                    self.dump_log()
                    raise AssertionError("runnerd degraded: %s" % json.dumps(h))
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.2)
        self.dump_log()
        raise AssertionError("runnerd not ready in time; last health: %s" % last)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("runnerd did not stop within its deadline after signal %d" % sig)
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None

    def dump_log(self):
        try:
            with open(self.logpath, "rb") as f:
                data = f.read()[-6000:]
            log("---- runnerd log (tail) ----\n" + data.decode(errors="replace"))
        except OSError:
            pass

    def request(self, method, path, body=None, timeout=None, headers=None):
        conn = UnixHTTPConnection(self.socket, timeout or 120 * SLOW)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = data
            return resp.status, parsed
        finally:
            conn.close()

    def get(self, path, timeout=None):
        return self.request("GET", path, timeout=timeout)

    def execute(self, language, code, **fields):
        body = {"language": language, "code": code}
        body.update(fields)
        status, res = self.request("POST", "/api/v1/execute", body)
        assert status == 200, "HTTP %d: %s" % (status, res)
        return res

    def runnerctl(self, *args, stdin=None, timeout=None):
        return subprocess.run([RUNNERCTL, "--socket", self.socket] + list(args), input=stdin,
                              capture_output=True, timeout=timeout or 120 * SLOW)


def qemu_pids_of(ppid=None):
    """PIDs of qemu-system processes (children of ppid if given)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        parent = int(st[st.rindex(")") + 2:].split()[1])
        if comm.startswith("qemu-system") and (ppid is None or parent == ppid):
            pids.append(int(d))
    return pids


class Checks:
    """Tiny TAP-style runner: each check is a function; failures are counted."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn, *args):
        t = time.time()
        try:
            fn(*args)
            self.passed += 1
            print("ok - %s (%.1fs)" % (name, time.time() - t), flush=True)
        except Exception as e:  # noqa: BLE001 - report any failure of a check
            self.failed += 1
            print("not ok - %s: %s: %s" % (name, type(e).__name__, e), flush=True)

    def exit(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)
