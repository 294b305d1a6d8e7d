#!/usr/bin/env python3
"""test-s3.py: runnerd-s3 (docs/s3.md) against a real local S3 server,
s3rver (installed once by tests/s3rver-install with npm), with no VM.

s3rver checks that an access key exists but not Signature Version 4
signatures (it accepts any), so runnerd-s3 talks to it through a proxy in
this process that checks every request the way S3 does: the signature
(recomputed from the request as received, with the secret), the signed
headers S3 requires, the clock, x-amz-content-sha256 against the body, a
session token when one is expected. The same proxy misbehaves on demand:
it cuts a response half way, stalls, holds a body until told, pages
listings one key at a time.

Covered: image and snapshot round trips into an empty cache, byte for byte
(and the template's RAM file stays sparse); listings (paged, incomplete and
invalid sets left out); credentials from the environment, from a profile,
with a session token, wrong or missing; a missing bucket and image;
an object changed on the server (digest mismatch: nothing visible, the
installed copy untouched); a connection cut mid-object, a stall, SIGTERM
and a full disk mid-transfer (exit 1, nothing partial left); usage errors.

Environment: RUNNERD_BUILD (meson build dir), RUNNERD_TEST_CACHE (where
s3rver is installed; default /var/cache/runnerd-test). SKIP (exit 77)
without node and npm or when s3rver cannot be installed.
"""
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, ROOT, SKIP, Checks  # noqa: E402

RUNNERD_S3 = os.path.join(BUILD, "tools", "runnerd-s3")
BUCKET = "runnerd-test"
KEY_ID, SECRET, REGION = "S3RVER", "S3RVER", "us-east-1"
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
SNAP_DIR = "py-0123456789abcdef"
MiB = 1 << 20


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def s3_quote(s):
    return quote(s, safe="-_.~")


class Proxy:
    """The checking, misbehaving proxy in front of s3rver (see above)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.log = []  # (method, path) of every request that passed the checks
        self.lock = threading.Lock()
        self.reset()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self)

            do_PUT = do_DELETE = do_HEAD = do_POST = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # runnerd-s3 hanging up on a misbehaving proxy is the point

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        self.token = None  # x-amz-security-token the requests must carry
        self.max_keys = None  # forwarded listings get max-keys=N
        self.cut = None  # key suffix: close the connection half way through its body
        self.stall = None  # key suffix: send half its body, then nothing
        self.cut_put = None  # key suffix: close the connection half way through an upload
        self.hold = None  # (key suffix, Event): send half, wait for the event, send the rest
        self.sent_half = threading.Event()
        with self.lock:
            self.log = []

    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    @staticmethod
    def error(h, status, code, message=""):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                '<RequestId>0</RequestId></Error>' % (code, message)).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def check(self, h, body):
        """None if the request is signed as S3 wants it, else (status, code, message)."""
        auth = h.headers.get("Authorization", "")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?"
                         r"SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})", auth)
        if not m:
            return 403, "AccessDenied", "no SigV4 Authorization header: " + auth
        key_id, date, region, signed, signature = m.groups()
        if key_id != KEY_ID:
            return 403, "InvalidAccessKeyId", "no such key id"
        if region != REGION:
            return 400, "AuthorizationHeaderMalformed", "the region '%s' is wrong; expecting '%s'" % (region, REGION)
        names = signed.split(";")
        need = ["host", "x-amz-date", "x-amz-content-sha256"] + (["x-amz-security-token"] if self.token else [])
        unsigned = [k.lower() for k in h.headers.keys() if k.lower().startswith("x-amz-") and k.lower() not in names]
        if any(n not in names for n in need) or unsigned or names != sorted(names):
            return 403, "AccessDenied", "headers not signed as required: " + signed
        amz_date = h.headers.get("x-amz-date", "")
        try:
            t = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return 403, "AccessDenied", "bad x-amz-date"
        if abs(time.time() - t.timestamp()) > 900 or not amz_date.startswith(date):
            return 403, "RequestTimeTooSkewed", amz_date
        url = urlsplit(h.path)
        uri = "/".join(s3_quote(unquote(seg)) for seg in url.path.split("/"))
        query = "&".join("%s=%s" % kv for kv in sorted(
            (s3_quote(k), s3_quote(v)) for k, v in parse_qsl(url.query, keep_blank_values=True)))
        headers = "".join("%s:%s\n" % (n, " ".join(h.headers.get(n, "").split())) for n in names)
        payload = h.headers.get("x-amz-content-sha256")
        if payload is None:
            return 400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        creq = "\n".join([h.command, uri, query, headers, signed, payload])
        scope = "%s/%s/s3/aws4_request" % (date, region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256(creq.encode())])
        k = ("AWS4" + SECRET).encode()
        for part in (date, region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(hmac.new(k, sts.encode(), hashlib.sha256).hexdigest(), signature):
            return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match"
        if payload != "UNSIGNED-PAYLOAD" and payload != sha256(body):
            return 400, "XAmzContentSHA256Mismatch", "body does not match x-amz-content-sha256"
        if self.token and h.headers.get("x-amz-security-token") != self.token:
            return 403, "InvalidToken", "The provided token is malformed or otherwise invalid."
        return None

    def handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        if self.cut_put and h.command == "PUT" and urlsplit(h.path).path.endswith(self.cut_put):
            h.rfile.read(length // 2)
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        body = h.rfile.read(length) if length else b""
        bad = self.check(h, body)
        if bad:
            return self.error(h, *bad)
        with self.lock:
            self.log.append((h.command, h.path))
        path = h.path
        if self.max_keys and h.command == "GET" and "list-type=2" in path:
            path += "&max-keys=%d" % self.max_keys
        up = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
        skip_headers = ("expect", "connection", "keep-alive", "transfer-encoding", "proxy-connection")
        up.request(h.command, path, body=body if h.command in ("PUT", "POST") else None,
                   headers={k: v for k, v in h.headers.items() if k.lower() not in skip_headers})
        resp = up.getresponse()
        data = resp.read()
        up.close()
        h.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command == "HEAD":
            return
        p = urlsplit(h.path).path
        half = len(data) // 2
        if self.cut and p.endswith(self.cut):
            h.wfile.write(data[:half])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        if self.stall and p.endswith(self.stall):
            h.wfile.write(data[:half])
            h.wfile.flush()
            self.sent_half.set()
            time.sleep(60)
            h.close_connection = True
            return
        if self.hold and p.endswith(self.hold[0]):
            h.wfile.write(data[:half])
            h.wfile.flush()
            self.sent_half.set()
            self.hold[1].wait(60)
            data = data[half:]
        h.wfile.write(data)


class S3rver:
    """s3rver on a free port of 127.0.0.1 with bucket BUCKET, in a temporary directory."""

    def __init__(self, program, tmp):
        self.port = free_port()
        os.makedirs(os.path.join(tmp, "s3rver"))
        self.log = os.path.join(tmp, "s3rver.log")
        self.proc = subprocess.Popen(
            [program, "--directory", os.path.join(tmp, "s3rver"), "--address", "127.0.0.1", "--port",
             str(self.port), "--configure-bucket", BUCKET],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
            # Its continuation tokens are DES-encrypted, which OpenSSL 3 keeps
            # in its legacy provider.
            env=dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider"))
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("s3rver exited: see %s/s3rver.log" % tmp)
            try:
                # The bucket is configured once the server answers for it.
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/" + BUCKET + "?list-type=2")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("s3rver did not start in 60 s")

    def raw(self, method, key, body=None):
        """An unsigned request straight to s3rver (which allows them): the
        test's way to change the bucket behind runnerd-s3's back."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request(method, "/%s/%s" % (BUCKET, key), body=body)
        r = c.getresponse()
        data = r.read()
        assert 200 <= r.status < 300, (method, key, r.status, data[:300])
        return data

    def exists(self, key):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("HEAD", "/%s/%s" % (BUCKET, key))
        return c.getresponse().status == 200

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Env:
    def __init__(self, tmp, server, proxy):
        self.tmp, self.server, self.proxy = tmp, server, proxy
        self.home = os.path.join(tmp, "home")
        os.makedirs(self.home)

    def env(self, **over):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in PROXY_VARS}
        e.update(HOME=self.home, AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)
        for k, v in over.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def start(self, *args, endpoint=None, env=None, bucket=BUCKET):
        argv = [RUNNERD_S3, "--endpoint", endpoint or self.proxy.endpoint()]
        if bucket:
            argv += ["--bucket", bucket]
        return subprocess.Popen(argv + list(args), env=env or self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *args, expect=0, **kw):
        p = self.start(*args, **kw)
        out, err = p.communicate(timeout=300)
        assert p.returncode == expect, "exit %d, want %d; stderr:\n%s" % (p.returncode, expect, err)
        lines = err.splitlines()
        assert all(line.startswith("runnerd-s3: ") for line in lines), err
        return out, (lines[-1][len("runnerd-s3: "):] if lines else "")

    def fail(self, *args, **kw):
        """Runs a command that must fail (exit 1); its error line."""
        return self.run(*args, expect=1, **kw)[1]


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def make_cache(root):
    """A cache with image "test" and a python template (py-KEY), shaped as
    tools/runner-image and pool/template.c write them."""
    images = os.path.join(root, "images")
    erofs = os.urandom(3 * MiB + 12345)
    write(os.path.join(images, "test.erofs"), erofs)
    write(os.path.join(images, "test.erofs.id"), (sha256(erofs) + "\n").encode())
    write(os.path.join(images, "test.versions"), b"bash\tGNU bash, version 5.2.15\nsh\tdash 0.5.12\n")
    write(os.path.join(images, "test.inputs"), (sha256(b"inputs") + "\n").encode())
    snap = os.path.join(root, "snapshots", SNAP_DIR)
    os.makedirs(snap)
    # RAM as QEMU leaves it: 64 MiB, mostly holes, some pages of data.
    with open(os.path.join(snap, "ram"), "wb") as f:
        f.truncate(64 * MiB)
        for off in range(0, 64 * MiB, 4 * MiB):
            f.seek(off + 8192)
            f.write(os.urandom(256 * 1024))
    state = os.urandom(49222)
    write(os.path.join(snap, "state"), state)
    meta = {
        "agent_protocol": 1, "compile": None, "file": "main.py", "file_from": None, "format": 3,
        "files": {"ram_sha256": "ab" * 32, "ram_size": 64 * MiB, "state_sha256": sha256(state),
                  "state_size": len(state)},
        "hello": "print('Hello')", "hello_output": "Hello\n", "image_sha256": sha256(erofs),
        "kernel_sha256": "6c" * 32, "language": "py",
        "machine": "accel=tcg cpu=max smp=1 mem=512M tb=512 machine=microvm,isa-serial=on,acpi=off",
        "qemu_version": "QEMU emulator version 7.2.22", "run": "python3 main.py",
    }
    write(os.path.join(snap, "meta.json"), json.dumps(meta, indent=2, sort_keys=True).encode())
    return root


IMAGE_FILES = ["test.erofs", "test.erofs.id", "test.versions", "test.inputs"]
SNAP_FILES = ["ram", "state", "meta.json"]


def entries(root):
    """Every path under root, relative, but runner-image's lock files."""
    out = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            if not n.endswith(".lock"):
                out.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(out)


def assert_nothing_in(cache):
    left = entries(cache)
    assert left in ([], ["images"], ["snapshots"], ["images", "snapshots"]), "left behind: %s" % left


def assert_image_equal(a, b):
    for n in IMAGE_FILES:
        assert read(os.path.join(a, "images", n)) == read(os.path.join(b, "images", n)), n


def assert_snapshot_equal(a, b):
    for n in SNAP_FILES:
        assert read(os.path.join(a, "snapshots", SNAP_DIR, n)) == read(os.path.join(b, "snapshots", SNAP_DIR, n)), n


class Tests:
    def __init__(self, env):
        self.e = env
        self.src = make_cache(os.path.join(env.tmp, "src"))
        self.n = 0

    def fresh(self):
        self.n += 1
        return os.path.join(self.e.tmp, "cache%d" % self.n)

    def put_image(self):
        e = self.e
        e.proxy.reset()
        out, _ = e.run("put-image", self.src, "test")
        m = json.loads(out)
        assert m["format"] == 1 and m["kind"] == "image" and m["name"] == "test", m
        assert m["languages"] == ["bash", "sh"], m
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["uploaded_at"]), m
        for n in IMAGE_FILES:
            data = read(os.path.join(self.src, "images", n))
            assert m["files"][n] == {"size": len(data), "sha256": sha256(data)}, (n, m["files"][n])
        log = [(meth, p) for meth, p in e.proxy.log]
        # The old manifest goes first, the new one last.
        assert log[0] == ("DELETE", "/%s/images/test/manifest.json" % BUCKET), log
        assert log[-1] == ("PUT", "/%s/images/test/manifest.json" % BUCKET), log
        assert sorted(p for meth, p in log[1:-1]) == sorted("/%s/images/test/%s" % (BUCKET, n) for n in IMAGE_FILES)
        stored = json.loads(e.server.raw("GET", "images/test/manifest.json"))
        assert stored == m, (stored, m)

    def get_image(self):
        dst = self.fresh()
        out, last = self.e.run("get-image", dst, "test")
        assert json.loads(out)["files"]["test.erofs"]["size"] == 3 * MiB + 12345
        assert_image_equal(self.src, dst)
        assert entries(dst) == ["images"] + ["images/" + n for n in sorted(IMAGE_FILES)], entries(dst)
        st_img = os.stat(os.path.join(dst, "images", "test.erofs"))
        st_id = os.stat(os.path.join(dst, "images", "test.erofs.id"))
        # runnerd trusts an id only if it is not older than its image.
        assert st_id.st_mtime >= st_img.st_mtime
        assert "installed image test" in last, last
        # Again, over the installed copy.
        self.e.run("get-image", dst, "test")
        assert_image_equal(self.src, dst)
        self.image_copy = dst

    def put_get_snapshot(self):
        e = self.e
        out, _ = e.run("put-snapshot", self.src, "py")
        m = json.loads(out)
        meta = json.loads(read(os.path.join(self.src, "snapshots", SNAP_DIR, "meta.json")))
        assert m["kind"] == "snapshot" and m["name"] == "py" and m["language"] == "py" and m["dir"] == SNAP_DIR, m
        for k in ("qemu_version", "kernel_sha256", "image_sha256", "machine"):
            assert m[k] == meta[k], k
        assert m["files"]["ram"]["size"] == 64 * MiB
        dst = self.fresh()
        e.run("get-snapshot", dst, "py")
        assert_snapshot_equal(self.src, dst)
        assert entries(dst) == ["snapshots", "snapshots/" + SNAP_DIR] + [
            "snapshots/%s/%s" % (SNAP_DIR, n) for n in sorted(SNAP_FILES)], entries(dst)
        st = os.stat(os.path.join(dst, "snapshots", SNAP_DIR, "ram"))
        assert st.st_size == 64 * MiB and st.st_blocks * 512 < 16 * MiB, "RAM not sparse: %d blocks" % st.st_blocks
        assert os.stat(os.path.join(dst, "snapshots")).st_mode & 0o777 == 0o700
        # Again: the directory of the same name is exchanged, and removed.
        os.unlink(os.path.join(dst, "snapshots", SNAP_DIR, "state"))
        e.run("get-snapshot", dst, "py")
        assert_snapshot_equal(self.src, dst)
        assert os.listdir(os.path.join(dst, "snapshots")) == [SNAP_DIR]
        self.snap_copy = dst

    def put_snapshot_refusals(self):
        e = self.e
        other = self.fresh()
        assert e.fail("put-snapshot", other, "py") == "no snapshot of py in %s/snapshots" % other
        shutil.copytree(os.path.join(self.src, "snapshots"), os.path.join(other, "snapshots"))
        os.rename(os.path.join(other, "snapshots", SNAP_DIR), os.path.join(other, "snapshots", "py-fedcba9876543210"))
        shutil.copytree(os.path.join(self.src, "snapshots", SNAP_DIR), os.path.join(other, "snapshots", SNAP_DIR))
        assert "several snapshots of py" in e.fail("put-snapshot", other, "py")
        shutil.rmtree(os.path.join(other, "snapshots", "py-fedcba9876543210"))
        write(os.path.join(other, "snapshots", SNAP_DIR, "state"), b"other state")
        msg = e.fail("put-snapshot", other, "py")
        assert "not a complete template: meta.json's 'files' does not describe" in msg, msg
        # Another language's directory with a matching prefix is not py's.
        shutil.move(os.path.join(other, "snapshots", SNAP_DIR), os.path.join(other, "snapshots", "py-x-0123456789abcdef"))
        assert "no snapshot of py" in e.fail("put-snapshot", other, "py")
        # The id must vouch for the image.
        shutil.copytree(os.path.join(self.src, "images"), os.path.join(other, "images"))
        write(os.path.join(other, "images", "test.erofs.id"), ("0" * 64 + "\n").encode())
        assert "test.erofs.id does not match test.erofs" in e.fail("put-image", other, "test")
        assert e.fail("put-image", other, "nosuch").startswith("no image nosuch in %s/images" % other)

    def listing(self):
        e = self.e
        # An upload under way (no manifest) and a manifest that fails its checks.
        e.server.raw("PUT", "images/half/half.erofs", b"x" * 100)
        e.server.raw("PUT", "images/bad/manifest.json", b'{"format": 2}')
        for paged in (False, True):
            e.proxy.reset()
            e.proxy.max_keys = 1 if paged else None
            out, _ = e.run("list", "images")
            imgs = json.loads(out)["images"]
            assert [m["name"] for m in imgs] == ["test"], imgs
            assert imgs[0] == json.loads(e.server.raw("GET", "images/test/manifest.json"))
            out, _ = e.run("list", "snapshots")
            snaps = json.loads(out)["snapshots"]
            assert [(m["name"], m["dir"]) for m in snaps] == [("py", SNAP_DIR)], snaps
            lists = [p for meth, p in e.proxy.log if "list-type=2" in p]
            tokens = [p for p in lists if "continuation-token=" in p]
            # Paged: one key a page (7 under images/, 4 under snapshots/),
            # each page after a listing's first asked for with its token.
            assert (len(lists), len(tokens)) == ((11, 9) if paged else (2, 0)), lists
        p = e.start("list", "images")
        _, err = p.communicate(timeout=60)
        assert "runnerd-s3: skipping it: invalid manifest images/bad/manifest.json: 'format' is not 1" in err, err
        e.server.raw("DELETE", "images/bad/manifest.json")
        e.server.raw("DELETE", "images/half/half.erofs")
        e.proxy.reset()

    def credentials(self):
        e = self.e
        msg = e.fail("list", "images", env=e.env(AWS_SECRET_ACCESS_KEY="wrong"))
        assert msg == "access denied by the S3 server (check the credentials): SignatureDoesNotMatch", msg
        msg = e.fail("list", "images", env=e.env(AWS_ACCESS_KEY_ID="WRONG"))
        assert msg == "access denied by the S3 server (check the credentials): InvalidAccessKeyId", msg
        # s3rver's own answer, without the proxy.
        msg = e.fail("list", "images", env=e.env(AWS_ACCESS_KEY_ID="WRONG"),
                     endpoint="http://127.0.0.1:%d" % e.server.port)
        assert msg == "access denied by the S3 server (check the credentials): InvalidAccessKeyId", msg
        msg = e.fail("list", "images", env=e.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None))
        assert msg.startswith("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), msg
        msg = e.fail("list", "images", env=e.env(AWS_SECRET_ACCESS_KEY=None))
        assert msg == "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not", msg
        # A profile of the shared credentials file, the region from the config file.
        aws = os.path.join(e.home, ".aws")
        write(os.path.join(aws, "credentials"), (
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n"
            "# the test's\n[ci]\naws_access_key_id = %s\naws_secret_access_key=%s\n" % (KEY_ID, SECRET)).encode())
        write(os.path.join(aws, "config"), b"[profile ci]\nregion = eu-west-3\n")
        penv = e.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_PROFILE="ci")
        msg = e.fail("list", "images", env=penv)
        assert msg.startswith("bucket %s is not in region eu-west-3 (set --region): AuthorizationHeaderMalformed"
                              % BUCKET), msg
        e.run("--region", REGION, "list", "images", env=penv)
        write(os.path.join(aws, "config"), ("[profile ci]\nregion = %s\n" % REGION).encode())
        e.run("list", "images", env=penv)
        assert "InvalidAccessKeyId" in e.fail("list", "images", env=e.env(
            AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None))  # [default]'s
        shutil.rmtree(aws)
        # A session token is sent, and signed.
        e.proxy.token = "FQoGZXIvYXdzE+token/with=chars"
        msg = e.fail("list", "images")
        assert msg == "access denied by the S3 server (check the credentials): AccessDenied", msg
        e.run("list", "images", env=e.env(AWS_SESSION_TOKEN=e.proxy.token))
        e.proxy.reset()

    def missing(self):
        e = self.e
        dst = self.fresh()
        msg = e.fail("get-image", dst, "test", bucket="no-such-bucket")
        assert msg == "no bucket no-such-bucket at %s" % e.proxy.endpoint(), msg
        assert e.fail("get-image", dst, "nothere") == "no image nothere in bucket %s" % BUCKET
        assert e.fail("get-snapshot", dst, "nothere") == "no snapshot of nothere in bucket %s" % BUCKET
        port = free_port()
        msg = e.fail("list", "images", endpoint="http://127.0.0.1:%d" % port)
        assert msg == "cannot connect to http://127.0.0.1:%d: Connection refused" % port, msg
        assert not os.path.exists(dst), entries(dst)

    def changed_on_server(self):
        e = self.e
        erofs = read(os.path.join(self.src, "images", "test.erofs"))
        tampered = bytearray(erofs)
        tampered[len(erofs) // 2] ^= 1  # same size: only the digest can tell
        e.server.raw("PUT", "images/test/test.erofs", bytes(tampered))
        dst = self.fresh()
        msg = e.fail("get-image", dst, "test")
        assert msg.startswith("images/test/test.erofs does not match its manifest: SHA-256 "), msg
        assert_nothing_in(dst)
        # Over an installed copy: it stays as it was.
        assert "does not match its manifest" in e.fail("get-image", self.image_copy, "test")
        assert_image_equal(self.src, self.image_copy)
        assert entries(self.image_copy) == ["images"] + ["images/" + n for n in sorted(IMAGE_FILES)]
        # A different size is caught as it arrives.
        e.server.raw("PUT", "images/test/test.erofs", erofs + b"more")
        msg = e.fail("get-image", dst, "test")
        assert msg.startswith("images/test/test.erofs is larger than expected"), msg
        assert_nothing_in(dst)
        e.server.raw("PUT", "images/test/test.erofs", erofs[:-1])
        msg = e.fail("get-image", dst, "test")
        assert msg.startswith("images/test/test.erofs does not match its manifest: %d bytes instead of %d" % (
            len(erofs) - 1, len(erofs))), msg
        e.server.raw("PUT", "images/test/test.erofs", erofs)
        state = read(os.path.join(self.src, "snapshots", SNAP_DIR, "state"))
        e.server.raw("PUT", "snapshots/py/state", state[::-1])
        assert "snapshots/py/state does not match its manifest" in e.fail("get-snapshot", self.snap_copy, "py")
        assert_snapshot_equal(self.src, self.snap_copy)
        assert os.listdir(os.path.join(self.snap_copy, "snapshots")) == [SNAP_DIR]
        e.server.raw("PUT", "snapshots/py/state", state)
        e.run("get-image", dst, "test")
        assert_image_equal(self.src, dst)

    def bad_manifests(self):
        e = self.e
        good = e.server.raw("GET", "images/test/manifest.json")
        m = json.loads(good)
        bad = [
            dict(m, files=dict(m["files"], **{"../evil": {"size": 1, "sha256": "0" * 64}})),
            dict(m, files={k: v for k, v in m["files"].items() if k != "test.erofs.id"}),
            dict(m, files=dict(m["files"], **{"test.erofs": {"size": 1 << 40, "sha256": "0" * 64}})),
            dict(m, name="other"), dict(m, kind="snapshot"), dict(m, extra=1),
        ]
        dst = self.fresh()
        for doc in bad:
            e.server.raw("PUT", "images/test/manifest.json", json.dumps(doc).encode())
            assert e.fail("get-image", dst, "test").startswith("invalid manifest images/test/manifest.json: ")
        e.server.raw("PUT", "images/test/manifest.json", b" " * (1 << 20) + good)
        assert "larger than 1048576 bytes" in e.fail("get-image", dst, "test")
        e.server.raw("PUT", "images/test/manifest.json", good)
        assert not os.path.exists(dst)
        # An id that does not vouch for the image, with a manifest that agrees.
        idm = json.loads(good)
        fake = ("0" * 64 + "\n").encode()
        idm["files"]["test.erofs.id"] = {"size": len(fake), "sha256": sha256(fake)}
        e.server.raw("PUT", "images/test/test.erofs.id", fake)
        e.server.raw("PUT", "images/test/manifest.json", json.dumps(idm).encode())
        msg = e.fail("get-image", dst, "test")
        assert msg == "test.erofs.id in bucket %s does not match test.erofs: not installed" % BUCKET, msg
        assert_nothing_in(dst)
        e.run("put-image", self.src, "test")

    def interrupted(self):
        e = self.e
        dst = self.fresh()
        e.proxy.reset()
        e.proxy.cut = "/snapshots/py/ram"
        msg = e.fail("get-snapshot", dst, "py")
        assert msg.startswith("connection to %s broken during GET snapshots/py/ram" % e.proxy.endpoint()), msg
        assert_nothing_in(dst)
        e.proxy.reset()
        e.proxy.cut = "/images/test/test.erofs"
        assert "broken during GET images/test/test.erofs" in e.fail("get-image", dst, "test")
        assert_nothing_in(dst)
        # An upload cut short leaves no manifest: the image is not listed.
        e.proxy.reset()
        e.proxy.cut_put = "/images/test/test.erofs"
        msg = e.fail("put-image", self.src, "test")
        assert msg.startswith("connection to %s broken during PUT images/test/test.erofs" % e.proxy.endpoint()), msg
        assert not e.server.exists("images/test/manifest.json")
        e.proxy.reset()
        assert json.loads(e.run("list", "images")[0]) == {"images": []}
        assert e.fail("get-image", dst, "test") == "no image test in bucket %s" % BUCKET
        e.run("put-image", self.src, "test")

    def stalled(self):
        e = self.e
        dst = self.fresh()
        e.proxy.reset()
        e.proxy.stall = "/snapshots/py/ram"
        t = time.time()
        msg = e.fail("--stall-timeout", "2", "get-snapshot", dst, "py")
        assert msg.startswith("the S3 server at %s stalled during GET snapshots/py/ram (under 1 KiB/s for 2 s)"
                              % e.proxy.endpoint()), msg
        assert time.time() - t < 30
        assert_nothing_in(dst)
        e.proxy.reset()

    def sigterm(self):
        e = self.e
        dst = self.fresh()
        e.proxy.reset()
        release = threading.Event()
        e.proxy.hold = ("/snapshots/py/ram", release)
        p = e.start("get-snapshot", dst, "py")
        assert e.proxy.sent_half.wait(60), "the transfer did not start"
        time.sleep(0.5)
        tmp = [n for n in os.listdir(os.path.join(dst, "snapshots")) if ".tmp." in n]
        assert tmp == ["%s.tmp.%d" % (SNAP_DIR, p.pid)], tmp
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
        release.set()
        assert p.returncode == 1, (p.returncode, err)
        assert err.splitlines()[-1] == "runnerd-s3: interrupted during GET snapshots/py/ram", err
        assert_nothing_in(dst)
        # What a SIGKILL leaves is removed by the next transfer (or by runnerd).
        e.proxy.reset()
        release = threading.Event()
        e.proxy.hold = ("/images/test/test.erofs", release)
        p = e.start("get-image", dst, "test")
        assert e.proxy.sent_half.wait(60)
        p.kill()
        p.wait()
        release.set()
        assert os.path.isdir(os.path.join(dst, "images", ".test.dl.%d" % p.pid))
        e.proxy.reset()
        e.run("get-image", dst, "test")
        assert entries(dst) == ["images"] + ["images/" + n for n in sorted(IMAGE_FILES)] + ["snapshots"], entries(dst)

    def disk_full(self):
        e = self.e
        dst = self.fresh()
        os.makedirs(dst)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "runnerd-s3-test", dst], check=True)
        try:
            # Not enough room to begin with: refused before any byte.
            with open(os.path.join(dst, "filler"), "wb") as f:
                f.write(b"\xff" * (4 * MiB))
            msg = e.fail("get-image", dst, "test")
            assert re.fullmatch(r"not enough space in %s/images: 3\.0 MiB needed, .* free" % dst, msg), msg
            os.unlink(os.path.join(dst, "filler"))
            # Room at the start, none half way.
            release = threading.Event()
            e.proxy.reset()
            e.proxy.hold = ("/images/test/test.erofs", release)
            p = e.start("get-image", dst, "test")
            assert e.proxy.sent_half.wait(60)
            time.sleep(0.5)
            fd = os.open(os.path.join(dst, "filler"), os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    os.write(fd, b"\xff" * 65536)
            except OSError:
                pass
            os.close(fd)
            release.set()
            _, err = p.communicate(timeout=60)
            assert p.returncode == 1, err
            assert "No space left on device" in err.splitlines()[-1], err
            os.unlink(os.path.join(dst, "filler"))
            assert_nothing_in(dst)
        finally:
            e.proxy.reset()
            subprocess.run(["umount", dst])

    def usage(self):
        e = self.e
        for args, want in [
            ((), "no command (see runnerd-s3 --help)"),
            (("fetch", "x"), "unknown command fetch (see runnerd-s3 --help)"),
            (("get-image", "/tmp"), "get-image takes 2 arguments (see runnerd-s3 --help)"),
            (("list", "things"), "list what? images or snapshots"),
            (("get-image", "/tmp", "../x"), None),
            (("get-snapshot", "/tmp", "Py"), None),
        ]:
            out, msg = e.run(*args, expect=2)
            assert out == "" and (want is None or msg == want), msg
        assert e.run("list", "images", bucket=None, expect=2)[1] == "--bucket is required"
        assert "invalid bucket name" in e.run("list", "images", bucket="A_B", expect=2)[1]
        assert "invalid S3 endpoint" in e.fail("list", "images", endpoint="ftp://x")
        out = subprocess.run([RUNNERD_S3, "--help"], capture_output=True, text=True, check=True).stdout
        assert "put-image CACHE IMAGE" in out


def main():
    if not os.path.exists(RUNNERD_S3):
        skip("no %s (build it: ninja -C %s)" % (RUNNERD_S3, BUILD))
    if not shutil.which("node"):
        skip("node is not installed (Debian: apt-get install npm)")
    inst = subprocess.run([os.path.join(ROOT, "tests", "s3rver-install")], capture_output=True, text=True)
    if inst.returncode == 77:
        skip(inst.stderr.strip().splitlines()[-1] if inst.stderr.strip() else "s3rver cannot be installed")
    if inst.returncode != 0:
        skip("s3rver could not be installed: " + (inst.stderr.strip().splitlines() or ["?"])[-1])
    program = inst.stdout.strip()

    tmp = tempfile.mkdtemp(prefix="runnerd-test-s3.")
    server = None
    c = Checks()
    try:
        server = S3rver(program, tmp)
        proxy = Proxy(server.port)
        t = Tests(Env(tmp, server, proxy))
        c.run("put-image: files, then the manifest, all signed", t.put_image)
        c.run("get-image: byte-identical, id last, over an installed copy", t.get_image)
        c.run("put-snapshot and get-snapshot: byte-identical, RAM sparse, replaced whole", t.put_get_snapshot)
        c.run("put-* refuse what is not one complete set", t.put_snapshot_refusals)
        c.run("list: manifests only, paged, bad ones skipped", t.listing)
        c.run("credentials: environment, profile, session token, wrong, missing", t.credentials)
        c.run("missing bucket, image, snapshot, server", t.missing)
        c.run("an object changed on the server is not installed", t.changed_on_server)
        c.run("invalid manifests are refused", t.bad_manifests)
        c.run("a connection cut mid-object leaves nothing", t.interrupted)
        c.run("a stalled server is given up", t.stalled)
        c.run("SIGTERM mid-transfer leaves nothing; SIGKILL's leftovers go next time", t.sigterm)
        if os.geteuid() == 0:
            c.run("a disk that fills up mid-transfer leaves nothing", t.disk_full)
        else:
            print("ok - a disk that fills up mid-transfer leaves nothing # SKIP needs root (a tmpfs)", flush=True)
        c.run("usage errors exit 2", t.usage)
    finally:
        if server:
            server.stop()
            if c.failed:
                with open(server.log, errors="replace") as f:
                    errors = [line for line in f if "error" in line.lower() or " 500 " in line]
                print("s3rver's errors:\n" + "".join(errors[-40:]), flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    c.exit()


if __name__ == "__main__":
    main()
