#!/usr/bin/env python3
"""test-api.py: hostile clients on the API socket (docs/security.md, rows 19-25,
27): huge bodies and headers, malformed JSON, NUL and invalid UTF-8 in code,
bad limits and fields, bad file names, slowloris and idle connections, more
concurrent runs than VMs, and callers without permission. One daemon (bash
only, a short queue) serves every check; after each one it must still
serve an ordinary run."""
import base64
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SLOW, assert_normal, assert_settled, run_checks, vm_rss_kb, wait_for  # noqa: E402
from harness import Daemon, log, qemu_pids_of  # noqa: E402

POOL = 2
QUEUE_MAX = 2
EXECUTE = "/api/v1/execute"


def connect(d, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(d.socket)
    return s


def read_response(s, timeout=10):
    """Reads one HTTP response (status, headers, body) or whatever arrived
    before EOF; (None, {}, b"") on a bare EOF."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    if not data:
        return None, {}, b""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    n = int(headers.get("content-length", "0"))
    try:
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        pass
    return status, headers, body


def send_until_answered(s, piece, limit):
    """Sends `piece` again and again, up to `limit` bytes, stopping as soon
    as the server answers or closes. Returns (bytes sent, answer or b"")."""
    sent, got = 0, b""
    try:
        while sent < limit:
            s.settimeout(10)
            s.sendall(piece)
            sent += len(piece)
            r, _, _ = select.select([s], [], [], 0)
            if r:
                got = s.recv(65536)
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent, got


def post(d, body, ctype="application/json"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return d.request("POST", EXECUTE, body, headers={"Content-Type": ctype})


def expect_400(d, body, *words):
    status, res = post(d, body)
    assert status == 400, "HTTP %d for %r: %s" % (status, body[:200] if isinstance(body, (str, bytes)) else body, res)
    assert isinstance(res, dict) and isinstance(res.get("error"), str), res
    msg = res["error"].lower()
    assert any(w.lower() in msg for w in words), "error %r names none of %s" % (res["error"], words)
    return res["error"]


def after(d):
    assert_normal(d)
    assert_settled(d, POOL)


# 19
def check_huge_body(d):
    rss0 = vm_rss_kb(d.proc.pid)
    # Content-Length of 1 GB: refused from the headers; we stream zeros and
    # must see the 413 long before 20 MB went out.
    s = connect(d)
    s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1073741824\r\n\r\n")
    sent, chunk, got = 0, b"0" * 65536, None
    s.setblocking(False)
    while sent < 20 << 20:
        r, w, _ = select.select([s], [s], [], 5)
        if r:
            got = s.recv(65536)
            break
        if w:
            try:
                sent += s.send(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        elif not r:
            break
    s.setblocking(True)
    if got is None:
        got = s.recv(65536)
    assert got.startswith(b"HTTP/1.1 413"), "after %d bytes: %r" % (sent, got[:200])
    log("1 GB Content-Length: 413 after %d bytes sent" % sent)
    s.close()
    # Chunked: no length up front; refused once it passes the limit.
    s = connect(d)
    s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = b"%x\r\n%s\r\n" % (1 << 20, b"1" * (1 << 20))
    sent, got = send_until_answered(s, piece, 20 << 20)
    if not got:
        try:
            got = s.recv(65536)
        except OSError:
            got = b""
    s.close()
    assert sent <= 12 << 20, "sent %d MB of a chunked body before being stopped" % (sent >> 20)
    assert got.startswith(b"HTTP/1.1 413") or got == b"", got[:200]
    log("chunked body: stopped after %d MB (%r)" % (sent >> 20, got[:40]))
    # 1 MB of headers: refused (400 or 431) without reading it all.
    s = connect(d)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Junk: " + b"a" * 1000 + b"\r\n"
    sent, got = send_until_answered(s, line, 1 << 20)
    if not got:
        try:
            s.sendall(b"\r\n")
            got = s.recv(65536)
        except OSError:
            pass
    s.close()
    assert got[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 431") or got == b"", got[:200]
    assert sent < 1 << 20 or got, "1 MB of headers were all accepted"
    log("1 MB headers: %r after %d kB" % (got[:12], sent >> 10))
    # One header line of 1 MB.
    s = connect(d)
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nX-Long: " + b"b" * (1 << 20) + b"\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        got = s.recv(65536)
    except OSError:
        got = b""
    s.close()
    assert not got.startswith(b"HTTP/1.1 200"), got[:200]
    grown = vm_rss_kb(d.proc.pid) - rss0
    log("runnerd RSS grew by %d kB over the huge bodies" % grown)
    assert grown < 16 * 1024, "runnerd buffered: RSS +%d kB" % grown
    # A body just over the limit with a correct length: 413 too.
    s = connect(d)
    body = b"{" + b" " * (8 << 20) + b"}"
    try:
        s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, _, _ = read_response(s)
    s.close()
    assert status == 413, status
    after(d)


# 20
def check_malformed_json(d):
    expect_400(d, '{"language": "bash", "code": "echo', "json", "pars", "invalid", "end")
    expect_400(d, "", "json", "body", "empty")
    expect_400(d, "[]", "object", "expected")
    expect_400(d, '"just a string"', "object", "expected")
    expect_400(d, '{"language": "bash", "code": "echo"} trailing', "json", "end", "garbage")
    deep = '{"language": "bash", "code": "echo", "files": ' + "[" * 5000 + "]" * 5000 + "}"
    expect_400(d, deep, "deep", "nest", "depth")
    expect_400(d, '{"language": "bash", "language": "python", "code": "echo"}', "duplicate")
    expect_400(d, b'{"language": "bash", "code": "echo \xff\xfe"}', "utf-8", "utf8", "json", "invalid")
    expect_400(d, '{"language": "bash", "code": "echo", "timeout": NaN}', "json", "invalid")
    after(d)


# 21
def check_nul_and_b64(d):
    expect_400(d, {"language": "bash", "code": "echo a\u0000b"}, "nul", "code")
    expect_400(d, {"language": "bash", "code": "echo", "code_b64": "ZWNobw=="}, "code")
    expect_400(d, {"language": "bash", "code_b64": "not base64!!"}, "code_b64", "base64")
    expect_400(d, {"language": "bash"}, "code")
    raw = b"cat main.sh\nexit 0\n# \xff\xfe\x00\x01\xc3( \xf0\x9f\x92\xa9 end\n"
    status, r = post(d, {"language": "bash", "code_b64": base64.b64encode(raw).decode(), "encoding": "base64"})
    assert status == 200 and r["status"] == "success", r
    assert base64.b64decode(r["stdout_b64"]) == raw, base64.b64decode(r["stdout_b64"])
    # stdin with NUL and invalid UTF-8 through stdin_b64, byte-exact.
    data = bytes(range(256)) * 4
    status, r = post(d, {"language": "bash", "code": "cat", "stdin_b64": base64.b64encode(data).decode(),
                         "encoding": "base64"})
    assert status == 200 and base64.b64decode(r["stdout_b64"]) == data, r
    after(d)


# 22
def check_bad_fields(d):
    problems = []

    def soft_400(body, *words):
        try:
            expect_400(d, body, *words)
        except AssertionError as e:
            problems.append(str(e))
    status, r = post(d, {"language": "cobol", "code": "x"})
    assert status == 404 and "cobol" in r.get("error", ""), (status, r)
    status, r = post(d, {"language": "../../etc/passwd", "code": "x"})
    assert status in (400, 404), (status, r)
    status, r = post(d, {"language": "", "code": "x"})
    assert status in (400, 404), (status, r)
    for field, val in [("timeout", -1), ("timeout", 0), ("timeout", "10"), ("timeout", True), ("timeout", None),
                       ("cpu_time", -5), ("memory_mb", -1), ("memory_mb", 0), ("memory_mb", 1.5),
                       ("memory_mb", "lots"), ("memory_mb", [1]), ("output_limit", -1), ("output_limit", {}),
                       ("encoding", "latin-1"), ("encoding", 1), ("stdin", 5), ("files", {}), ("code", 42),
                       ("language", 7), ("timeout", 1e400), ("memory_mb", 10 ** 30)]:
        body = {"language": "bash", "code": "echo"}
        body[field] = val
        if isinstance(val, float) and val == float("inf"):
            soft_400('{"language": "bash", "code": "echo", "timeout": 1e400}', "timeout", "overflow")
            continue
        if field == "memory_mb" and val == 10 ** 30:
            soft_400(body, field, "too big integer")  # jansson refuses it while parsing
            continue
        soft_400(body, field)
    soft_400({"language": "bash", "code": "echo", "evil": 1}, "evil")
    soft_400({"language": "bash", "code": "echo", "Timeout": 1}, "timeout")
    # An unknown field inside a file object must be named as well.
    soft_400({"language": "bash", "code": "ls", "files": [{"name": "a", "content": "x", "mode": 777}]}, "mode")
    # Huge limits are clamped to the documented maxima, and said so: memory to
    # the API's 1024 MB and below that to the guest's RAM less 32 MB (bash
    # runs in a 512 MB guest).
    status, r = post(d, {"language": "bash", "code": "echo hi", "timeout": 10 ** 9, "cpu_time": 10 ** 9,
                         "memory_mb": 10 ** 6, "output_limit": 2 ** 31})
    assert status == 200 and r["status"] == "success" and r["stdout"] == "hi\n", (status, r)
    assert r["limits"] == {"timeout": 60, "cpu_time": 60, "memory_mb": 512 - 32, "output_limit": 1 << 20}, r["limits"]
    after(d)
    assert not problems, "; ".join(problems)


# 23
def check_bad_file_names(d):
    for name in ["..", ".", "../x", "a/b", "/etc/passwd", "a\u0000b", "x" * 4096, "", "main.sh", "x" * 256]:
        expect_400(d, {"language": "bash", "code": "ls", "files": [{"name": name, "content": "x"}]},
                   "name", "file")
    expect_400(d, {"language": "bash", "code": "ls", "files": [{"name": "a", "content": "1"},
                                                                 {"name": "a", "content": "2"}]},
               "duplicate", "unique", "name")
    expect_400(d, {"language": "bash", "code": "ls", "files": [{"name": "n%d" % i, "content": ""}
                                                                for i in range(17)]}, "files", "many", "16")
    expect_400(d, {"language": "bash", "code": "ls", "files": [{"name": "a"}]}, "content")
    expect_400(d, {"language": "bash", "code": "ls", "files": ["a"]}, "files", "object")
    # The longest allowed name works and lands in /work, nowhere else.
    name = "n" * 255
    status, r = post(d, {"language": "bash", "code": "ls /work; cat /work/%s" % name,
                         "files": [{"name": name, "content_b64": base64.b64encode(b"\x00\xffok").decode()}],
                         "encoding": "base64"})
    assert status == 200 and base64.b64decode(r["stdout_b64"]) == ("main.sh\n%s\n" % name).encode() + b"\x00\xffok" \
        or base64.b64decode(r["stdout_b64"]) == ("%s\nmain.sh\n" % name).encode() + b"\x00\xffok", (status, r)
    after(d)


# 24
def health_ok(d, timeout=5):
    try:
        status, h = d.get("/health", timeout=timeout)
        return status == 200
    except OSError:
        return False


def check_slowloris(d):
    # A slowloris: one header byte a second. The absolute deadline (30 s)
    # must cut it although every byte resets evhttp's idle timeout.
    slow = connect(d)
    req = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200
    cut = {}

    def drip():
        t = time.time()
        try:
            for b in req:
                slow.sendall(bytes([b]))
                r, _, _ = select.select([slow], [], [], 1.0)
                if r and not slow.recv(100):
                    break
        except OSError:
            pass
        cut["after"] = time.time() - t
    th = threading.Thread(target=drip, daemon=True)
    th.start()
    # Meanwhile, /health answers.
    for _ in range(3):
        assert health_ok(d), "/health does not answer during a slowloris"
        time.sleep(1)
    th.join(60 * SLOW)
    assert "after" in cut and cut["after"] < 40 * SLOW, "slowloris still connected after %s s" % cut.get("after")
    log("slowloris cut after %.1fs" % cut["after"])
    slow.close()

    # 300 idle connections (the cap is 256): the extra ones are shut down
    # at once; /health must still answer.
    idle = []
    for _ in range(300):
        for _ in range(100):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(d.socket)  # EAGAIN while the listen backlog is full
                idle.append(s)
                break
            except BlockingIOError:
                s.close()
                time.sleep(0.02)
        else:
            raise AssertionError("could not open connection %d" % len(idle))
    time.sleep(1)
    closed = 0
    for s in idle:
        r, _, _ = select.select([s], [], [], 0)
        if r and not s.recv(10):
            closed += 1
    log("of %d idle connections, %d were shut down by runnerd" % (len(idle), closed))
    assert closed >= len(idle) - 256, "over the cap of 256 but only %d of %d closed" % (closed, len(idle))
    t = time.time()
    ok = health_ok(d, timeout=5)
    log("/health with %d idle connections held: %s" % (len(idle) - closed, "answered" if ok else "NO ANSWER"))
    try:
        assert ok, ("/health does not answer while %d idle connections hold the connection cap "
                    "(docs/security.md, row 24)" % (len(idle) - closed))
    finally:
        for s in idle:
            s.close()
        # Once they are gone, everything works again.
        wait_for(lambda: health_ok(d), 40 * SLOW, "/health after the idle connections closed")
        log("/health answered again %.1fs after closing them" % (time.time() - t))
    after(d)


# 25
def check_overload(d):
    n = 12
    results = [None] * n

    def one(i):
        try:
            s = connect(d, timeout=120 * SLOW)
            body = json.dumps({"language": "bash", "code": "sleep 1; echo %d" % i}).encode()
            s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            results[i] = read_response(s, timeout=120 * SLOW)
            s.close()
        except Exception as e:  # noqa: BLE001
            results[i] = e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180 * SLOW)
    ok = busy = 0
    for i, r in enumerate(results):
        assert isinstance(r, tuple) and r[0] in (200, 429), (i, r)
        status, headers, body = r
        if status == 200:
            res = json.loads(body)
            assert res["status"] == "success" and res["stdout"] == "%d\n" % i, (i, res)
            ok += 1
        else:
            assert headers.get("retry-after", "").isdigit(), headers
            assert "error" in json.loads(body), body
            busy += 1
    log("%d concurrent runs, queue max %d, pool %d: %d ran, %d got 429" % (n, QUEUE_MAX, POOL, ok, busy))
    assert busy > 0, "no 429 although %d runs met a queue of %d" % (n, QUEUE_MAX)
    assert ok >= POOL, "only %d runs ran" % ok
    assert d.proc.poll() is None
    after(d)


# 25, at scale: 300 concurrent requests that each take memory and sleep,
# against a daemon whose pool may grow to 8 but whose global cap is 3 VMs.
# The VMs never pass the cap (runnerd's count in /health); every request
# gets 200, 429 or (beyond the connection cap) a closed connection;
# runnerd lives and serves after.
def check_flood(_):
    n, cap = 300, 3
    code = "x=$(head -c 20000000 /dev/zero | tr '\\0' a); sleep 1; echo ${#x}"
    # One clone kept ready (the harness waits for it), up to 8 by demand.
    extra = ("--pool-max", "8", "--max-vms", str(cap), "--queue-max", "16")
    with Daemon(languages=("bash",), pool_size=1, extra=extra) as d:
        results, peak, procs, done = [None] * n, [0], [0], threading.Event()

        # The cap counts VMs from the restore until the SIGKILL that
        # discards them; a killed QEMU may still be exiting for a moment,
        # so the processes seen are logged, the cap checked on runnerd's
        # own count.
        def watch():
            while not done.is_set():
                procs[0] = max(procs[0], len(qemu_pids_of(d.proc.pid)))
                try:
                    peak[0] = max(peak[0], d.get("/health", timeout=5)[1]["vms"]["vms"])
                except (OSError, TypeError, KeyError):
                    pass  # a refused connection at the cap: try again
                time.sleep(0.02)

        def one(i):
            try:
                s = connect(d, timeout=240 * SLOW)
                body = json.dumps({"language": "bash", "code": code}).encode()
                s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body) + body)
                results[i] = read_response(s, timeout=240 * SLOW)
                s.close()
            except OSError as e:
                results[i] = e
        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300 * SLOW)
        done.set()
        watcher.join()
        counts = {}
        for i, r in enumerate(results):
            key = r[0] if isinstance(r, tuple) else type(r).__name__
            counts[key] = counts.get(key, 0) + 1
            if isinstance(r, tuple) and r[0] == 200:
                res = json.loads(r[2])
                assert res["status"] == "success" and res["stdout"] == "20000000\n", (i, res)
            else:
                assert (isinstance(r, tuple) and r[0] in (429, None)) or isinstance(r, OSError), (i, r)
        log("%d concurrent requests, global cap %d: %s; at most %d VMs at once (%d QEMU processes, "
            "the killed ones still exiting included)" % (n, cap, counts, peak[0], procs[0]))
        assert peak[0] <= cap, "%d VMs ran at once over a cap of %d" % (peak[0], cap)
        assert counts.get(200, 0) >= cap, "only %s ran" % counts.get(200, 0)
        assert d.proc.poll() is None, "runnerd died"
        assert_normal(d)


# 25, fairness: requests that wait for a VM get one in arrival order.
def check_fifo(d):
    assert_settled(d, POOL)
    n, gap = 4, 0.05  # 2 leased at once, 2 queued together
    sent, results = [None] * n, [None] * n

    def one(i):
        try:
            s = connect(d, timeout=120 * SLOW)
            body = json.dumps({"language": "bash", "code": "sleep 1; echo %d" % i}).encode()
            sent[i] = time.monotonic()
            s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            results[i] = read_response(s, timeout=120 * SLOW)
            s.close()
        except Exception as e:  # noqa: BLE001
            results[i] = e
    threads = []
    for i in range(n):
        threads.append(threading.Thread(target=one, args=(i,)))
        threads[-1].start()
        time.sleep(gap)
    for t in threads:
        t.join(180 * SLOW)
    leased = []
    for i, r in enumerate(results):
        assert isinstance(r, tuple) and r[0] == 200, (i, r)
        res = json.loads(r[2])
        assert res["stdout"] == "%d\n" % i, res
        leased.append(sent[i] + res["timings"]["queue_ms"] / 1000)
    log("FIFO: lease times relative to the first: %s" % ["%.2f" % (t - leased[0]) for t in leased])
    for i in range(1, n):
        assert leased[i] >= leased[i - 1] - 0.05, "request %d got a VM before request %d" % (i, i - 1)
    after(d)


# 27
# 25, per caller: a caller may have --caller-runs-max runs in flight or
# waiting (more get 429), and one caller flooding the queue does not make a
# second caller wait behind all of it: waiting requests are served fairly
# across caller uids.
def check_two_callers(_):
    flood = 10
    extra = ("--max-vms", "1", "--queue-max", "64", "--caller-runs-max", str(flood), "--socket-mode", "0666")
    with Daemon(languages=("bash",), pool_size=1, extra=extra) as d:
        assert_settled(d, 1)
        done, lock = [], threading.Lock()

        def one(i):
            s = connect(d, timeout=240 * SLOW)
            body = json.dumps({"language": "bash", "code": "sleep 1; echo A%d" % i}).encode()
            s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            r = read_response(s, timeout=240 * SLOW)
            s.close()
            with lock:
                done.append((i, r[0], time.monotonic()))
        threads = [threading.Thread(target=one, args=(i,)) for i in range(flood)]
        for t in threads:
            t.start()
        # All of them in flight (running or queued), so the next one is over the cap.
        wait_for(lambda: d.get("/health")[1]["in_flight"] >= flood, 60 * SLOW,
                 "the first caller's requests in flight")
        # Over its cap: refused at once, with the reason.
        s = connect(d)
        body = json.dumps({"language": "bash", "code": "echo over"}).encode()
        s.sendall(b"POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status, headers, rbody = read_response(s, timeout=30 * SLOW)
        s.close()
        assert status == 429 and b"this caller" in rbody and headers.get("retry-after"), (status, rbody)
        # A second caller (uid 65534) arrives behind the whole flood.
        os.chmod(d.dir, 0o711)
        client = ("import json, socket, sys\n"
                  "s = socket.socket(socket.AF_UNIX)\n"
                  "s.connect(sys.argv[1])\n"
                  "b = json.dumps({'language': 'bash', 'code': 'echo B'}).encode()\n"
                  "s.sendall(b'POST /api/v1/execute HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n' "
                  "% len(b) + b)\n"
                  "data = b''\n"
                  "while b'\\r\\n\\r\\n' not in data:\n"
                  "    data += s.recv(65536)\n"
                  "print(data.split()[1].decode())\n")
        with lock:
            before = len(done)
        try:
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                                "-c", client, d.socket], capture_output=True, timeout=240 * SLOW)
        finally:
            os.chmod(d.dir, 0o700)
        with lock:
            after_b = len(done)
        for t in threads:
            t.join(240 * SLOW)
        log("second caller answered %s after %d of the first caller's %d runs (%d when it arrived)" % (
            p.stdout.decode().strip(), after_b, flood, before))
        assert p.stdout.decode().strip() == "200", (p.stdout, p.stderr.decode()[-500:])
        assert after_b - before <= 2, "the second caller waited behind %d runs of the first" % (after_b - before)
        assert all(r == 200 for _, r, _ in done) and len(done) == flood, done
        assert d.proc.poll() is None


def check_permissions(d):
    st = os.stat(d.socket)
    assert st.st_mode & 0o777 == 0o660, "socket mode %o" % (st.st_mode & 0o777)
    # Let anyone traverse the private directory, so only the socket's own
    # mode decides.
    os.chmod(d.dir, 0o711)
    try:
        client = ("import socket, sys\n"
                  "s = socket.socket(socket.AF_UNIX)\n"
                  "try:\n"
                  "    s.connect(sys.argv[1])\n"
                  "    s.sendall(b'GET /health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
                  "    print('CONNECTED', s.recv(20))\n"
                  "except OSError as e:\n"
                  "    print('REFUSED', e.errno)\n")
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                            "-c", client, d.socket], capture_output=True, timeout=30)
        out = p.stdout.decode()
        assert out.startswith("REFUSED 13"), (out, p.stderr.decode()[-500:])
    finally:
        os.chmod(d.dir, 0o700)
    # The caller's uid is logged for every connection.
    with open(d.logpath, "rb") as f:
        text = f.read().decode(errors="replace")
    assert "CALLER_UID=0" in text, "caller uids are not logged"
    after(d)


def main():
    daemon = Daemon(languages=("bash",), pool_size=POOL, extra=("--queue-max", str(QUEUE_MAX)))
    run_checks(daemon, settle=POOL, checks=[
        ("19 1 GB bodies and 1 MB headers", check_huge_body),
        ("20 malformed, deep, duplicate-key JSON", check_malformed_json),
        ("21 NUL in code; code_b64 byte-exact", check_nul_and_b64),
        ("22 unknown language, bad limits and fields", check_bad_fields),
        ("23 bad file names", check_bad_file_names),
        ("25 more runs than VMs: 200 or 429", check_overload),
        ("25 300 concurrent runs under a global cap of 3 VMs", check_flood),
        ("25 a caller's cap, and a flooding caller cannot starve another", check_two_callers),
        ("25 waiting runs get VMs in arrival order", check_fifo),
        ("27 socket permissions", check_permissions),
        ("24 slowloris and 300 idle connections", check_slowloris),
    ])


if __name__ == "__main__":
    main()
