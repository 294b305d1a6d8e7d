#!/usr/bin/env python3
"""test-runner-codes.py: runnerd as a drop-in for Runner Codes, against the
real daemon with real TCG VMs: its README example sent with curl to the
UNIX socket and to the TCP listener (bearer token), every field of its
example response with its type, its error shape, the language names its
clients use, the listing endpoints, snapshot create with a guest size that
then holds, the administrators-only rule (403), and the runnerctl
equivalents of its CLI (README, "Coming from Runner Codes")."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, RUNNERCTL, SLOW, SKIP, Checks, Daemon, lang_keys, log  # noqa: E402

README_BODY = '{"language": "python", "code": "print(\\"Hello from Firecracker!\\")", "timeout": 30}'
RUNNER_CODES_NAMES = ["python", "nodejs", "go", "rust", "cpp", "csharp", "dotnet", "java", "ruby", "php",
                      "lisp", "scheme", "r", "d", "bash", "c"]
TOKEN = "rc-test-token-0123456789abcdef"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def curl(args):
    p = subprocess.run(["curl", "-s", "-S", "--max-time", str(int(120 * SLOW)), "-w", "\n%{http_code}"] + args,
                       capture_output=True, timeout=150 * SLOW)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.decode().rpartition("\n")
    return int(code), json.loads(body) if body else None


def check_example_fields(r):
    """Every field of Runner Codes' README response, with its type."""
    assert isinstance(r["trace_id"], str) and r["trace_id"].startswith("tr-"), r
    assert r["status"] == "success", r
    assert r["stdout"] == "Hello from Firecracker!\n", r
    assert r["stderr"] is None, r
    assert r["exit_code"] == 0 and isinstance(r["exit_code"], int), r
    assert re.fullmatch(r"\d+ms", r["exec_time"]), r["exec_time"]
    assert re.fullmatch(r"\d+ms", r["load_time"]), r["load_time"]
    # runnerd's own fields stay beside them
    assert isinstance(r["exec_time_ms"], int) and "timings" in r, r


def check_readme_socket(d):
    code, r = curl(["--unix-socket", d.socket, "http://localhost/api/v1/execute", "-H",
                    "Content-Type: application/json", "-d", README_BODY])
    assert code == 200, (code, r)
    check_example_fields(r)


def check_readme_tcp(d, port):
    url = "http://127.0.0.1:%d/api/v1/execute" % port
    code, r = curl([url, "-H", "Content-Type: application/json", "-d", README_BODY])
    assert code == 401 and "Bearer" in r["error"], (code, r)
    code, r = curl([url, "-H", "Content-Type: application/json", "-H", "Authorization: Bearer " + TOKEN, "-d",
                    README_BODY])
    assert code == 200, (code, r)
    check_example_fields(r)


def check_error_shape(d):
    code, r = curl(["--unix-socket", d.socket, "http://localhost/api/v1/execute", "-d",
                    '{"language": "ruby2", "code": "x"}'])
    assert code == 404 and r == {"error": "language not found: ruby2"}, (code, r)


def check_language_names(d):
    names = {}
    for f in os.listdir(os.path.join(ROOT, "tools", "languages")):
        if f.endswith(".lang"):
            k = lang_keys(f[:-5])
            for n in [k["name"]] + k.get("aliases", "").split():
                names[n] = k["name"]
    missing = [n for n in RUNNER_CODES_NAMES if n not in names]
    assert not missing, "names Runner Codes' clients use that resolve to no language: %s" % missing
    status, r = d.get("/api/v1/languages")
    assert status == 200 and r["count"] == len(r["languages"]), r
    assert all(isinstance(x["name"], str) and x["extension"].startswith(".") for x in r["languages"]), r
    status, r = d.get("/api/v1/languages/python3")
    assert status == 200 and r["name"] == "python" and r["extension"] == ".py", r
    status, r = d.get("/api/v1/languages/ruby2")
    assert status == 404 and r["error"] == "language not found: ruby2", r


def check_listings(d):
    status, r = d.get("/api/v1/rootfs")
    assert status == 200, r
    rows = {x["language"]: x for x in r["rootfs"]}
    for lang in ("python", "bash"):
        x = rows[lang]
        assert x["size"] > 0 and os.path.exists(x["path"]) and x["state"] == "ready", x
        assert lang in x["languages"] and x["source"] == "debian" and x["inputs"], x
    status, r = d.get("/api/v1/snapshots")
    assert status == 200, r
    rows = {x["language"]: x for x in r["snapshots"] if x["status"] == "ready"}
    x = rows["python"]
    assert x["vmstate_size"] > 0 and x["mem_size"] >= x["mem_mb"] << 20, x
    assert x["keys"]["qemu_version"].startswith("QEMU") and len(x["keys"]["image_sha256"]) == 64, x


def mem_total_kb(d, lang="bash"):
    r = d.execute(lang, "awk '/MemTotal/ {print $2}' /proc/meminfo")
    assert r["status"] == "success", r
    return int(r["stdout"])


def check_snapshot_create(d):
    before = mem_total_kb(d)
    p = d.runnerctl("snapshot", "create", "--lang", "bash", "--mem", "384", "--vcpus", "1",
                    timeout=600 * SLOW)
    assert p.returncode == 0, (p.returncode, p.stderr)
    status, r = d.get("/api/v1/snapshots")
    row = [x for x in r["snapshots"] if x["language"] == "bash" and x["status"] == "ready"]
    assert row and row[0]["mem_mb"] == 384 and row[0]["vcpus"] == 1, r
    after = mem_total_kb(d)
    log("bash guest MemTotal: %d kB at 512 MB, %d kB after snapshot create --mem 384" % (before, after))
    assert after < before and after < 384 * 1024, (before, after)
    p = d.runnerctl("snapshot", "list")
    assert p.returncode == 0 and b"bash" in p.stdout and b"384" in p.stdout, p.stdout


def check_admin_only(d):
    """uid 65534 may read and run, not manage: 403."""
    os.chmod(d.dir, 0o711)
    os.chmod(d.socket, 0o666)
    script = r'''
import json, os, socket, sys
os.setgid(65534); os.setuid(65534)
def req(method, path, body=b""):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % (method, path, len(body)) + body)
    data = b""
    while True:
        c = s.recv(65536)
        if not c: break
        data += c
    return int(data.split(b" ")[1]), json.loads(data.split(b"\r\n\r\n", 1)[1])
out = [req(b"POST", b"/api/v1/snapshots", b'{"language": "bash"}'),
       req(b"POST", b"/api/v1/rootfs", b'{"language": "bash"}'),
       req(b"DELETE", b"/api/v1/rootfs/bash"),
       req(b"POST", b"/api/v1/rootfs/bash/upload", b'{}'),
       req(b"GET", b"/api/v1/rootfs")]
print(json.dumps(out))
'''
    p = subprocess.run([sys.executable, "-c", script, d.socket], capture_output=True, timeout=60)
    os.chmod(d.socket, 0o660)
    os.chmod(d.dir, 0o700)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [c for c, _ in out] == [403, 403, 403, 403, 200], out
    assert "administrators only" in out[0][1]["error"], out


def check_cli_equivalents(d, port, token_file):
    # host --lang X --code "..."
    p = d.runnerctl("exec", "-l", "bash", "-c", "echo from the command line")
    assert p.returncode == 0 and p.stdout == b"from the command line\n", (p.returncode, p.stdout, p.stderr)
    # api --port 8080: the same run through the TCP listener
    p = subprocess.run([RUNNERCTL, "--url", "http://127.0.0.1:%d" % port, "--token-file", token_file, "exec",
                        "-l", "python", "-c", "print(6 * 7)"], capture_output=True, timeout=120 * SLOW)
    assert p.returncode == 0 and p.stdout == b"42\n", (p.returncode, p.stdout, p.stderr)
    # rootfs list
    p = d.runnerctl("rootfs", "list")
    assert p.returncode == 0 and b"python" in p.stdout and b"ready" in p.stdout, (p.stdout, p.stderr)
    p = d.runnerctl("--json", "rootfs", "list")
    assert p.returncode == 0 and json.loads(p.stdout)["rootfs"], p.stdout


def check_tcp_refusals():
    """runnerd refuses a TCP listener beyond loopback without a token, and a
    token file others can read: it exits 2 with the reason."""
    from harness import RUNNERD
    bad_token = os.path.join("/tmp", "runnerd-rc-open-token-%d" % os.getpid())
    with open(bad_token, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(bad_token, 0o644)
    try:
        for extra, want in ((["--tcp", "0.0.0.0:%d" % free_port()], "needs --tcp-token-file"),
                            (["--tcp", "%d" % free_port(), "--tcp-token-file", bad_token], "chmod 0600"),
                            (["--tcp-token-file", bad_token], "without --tcp")):
            p = subprocess.run([RUNNERD, "--socket", "/tmp/runnerd-rc-refused.sock"] + extra, capture_output=True,
                               timeout=30)
            assert p.returncode == 2 and want.encode() in p.stderr, (extra, p.returncode, p.stderr)
    finally:
        os.unlink(bad_token)


def main():
    if not shutil.which("curl"):
        print("SKIP: curl not installed")
        return SKIP
    port = free_port()
    checks = Checks()
    tmp = os.path.join("/tmp", "runnerd-rc-token-%d" % os.getpid())
    with open(tmp, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tmp, 0o600)
    try:
        with Daemon(languages=("python", "bash"), pool_size=1,
                    extra=["--tcp", "127.0.0.1:%d" % port, "--tcp-token-file", tmp]) as d:
            checks.run("TCP beyond loopback without a token, or an open token file: refused", check_tcp_refusals)
            checks.run("README example on the UNIX socket", check_readme_socket, d)
            checks.run("README example on the TCP listener, with its token", check_readme_tcp, d, port)
            checks.run("error shape of an unknown language", check_error_shape, d)
            checks.run("language names and GET /api/v1/languages[/NAME]", check_language_names, d)
            checks.run("GET /api/v1/rootfs and /api/v1/snapshots", check_listings, d)
            checks.run("mutating endpoints: administrators only (403)", check_admin_only, d)
            checks.run("runnerctl: exec -c, --url with a token, rootfs list", check_cli_equivalents, d, port, tmp)
            checks.run("snapshot create --mem 384: the guest has 384 MB after", check_snapshot_create, d)
    finally:
        os.unlink(tmp)
    checks.exit()


if __name__ == "__main__":
    sys.exit(main())
