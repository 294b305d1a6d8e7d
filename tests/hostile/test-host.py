#!/usr/bin/env python3
"""test-host.py: host trouble (docs/security.md, rows 29 and 32). Missing images or kernel
give a clear error, never a crash; an unusable cached snapshot (truncated
state, meta.json that does not match the inputs) is rebuilt or refused with
a reason, never loaded blindly and never a crash. The snapshot tests work
on a private cache dir: symlinks to the shared kernel/ and images/, and a
sparse copy of the shared bash template (so nothing shared is touched)."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SLOW, assert_normal, qemu_pids_of, wait_for  # noqa: E402
from harness import CACHE, Checks, Daemon, log  # noqa: E402


def read_log(d):
    with open(d.logpath, "rb") as f:
        return f.read().decode(errors="replace")


def expect_clean_exit(d, words, timeout=30):
    d.start(wait=False)
    try:
        rc = d.proc.wait(timeout=timeout * SLOW)
    except subprocess.TimeoutExpired:
        # Still running is acceptable only if it says why it cannot serve.
        status, h = d.get("/health", timeout=5)
        d.stop()
        assert h.get("status") == "degraded", h
        return "degraded: %s" % json.dumps(h["pools"])
    d.stop()
    text = read_log(d)
    assert rc not in (0,) and rc > 0, "runnerd exit status %d (crash?)\n%s" % (rc, text[-2000:])
    assert any(w in text for w in words), "no clear reason in the log:\n%s" % text[-2000:]
    assert not qemu_pids_of(d.proc.pid)
    return "exit %d: %s" % (rc, text.strip().splitlines()[-1])


def check_empty_images():
    empty = tempfile.mkdtemp(prefix="runnerd-noimages-")
    try:
        d = Daemon(languages=("bash",), extra=("--images", empty))
        how = expect_clean_exit(d, ["image"])
        log("empty --images: " + how)
        shutil.rmtree(d.dir, ignore_errors=True)
    finally:
        os.rmdir(empty)


def check_missing_kernel():
    d = Daemon(languages=("bash",), extra=("--kernel", "/nonexistent/vmlinux"))
    how = expect_clean_exit(d, ["vmlinux", "kernel"])
    log("missing kernel: " + how)
    shutil.rmtree(d.dir, ignore_errors=True)


def private_cache():
    cache = tempfile.mkdtemp(prefix="runnerd-cache-")
    os.symlink(os.path.join(CACHE, "kernel"), os.path.join(cache, "kernel"))
    os.symlink(os.path.join(CACHE, "images"), os.path.join(cache, "images"))
    os.mkdir(os.path.join(cache, "snapshots"), 0o700)
    src = glob.glob(os.path.join(CACHE, "snapshots", "bash-*"))
    src = [s for s in src if not s.endswith(".tmp") and os.path.exists(os.path.join(s, "meta.json"))]
    if len(src) != 1:
        return cache, None
    dst = os.path.join(cache, "snapshots", os.path.basename(src[0]))
    subprocess.run(["cp", "-a", "--sparse=always", src[0], dst], check=True)
    return cache, dst


def wait_outcome(d, timeout):
    """Ready (status ok) or degraded with a reason; the daemon must live."""
    def outcome():
        assert d.proc.poll() is None, "runnerd exited with %s\n%s" % (d.proc.returncode, read_log(d)[-2000:])
        try:
            status, h = d.get("/health", timeout=5)
        except OSError:
            return None
        if h.get("status") == "ok" and h["pools"]["bash"]["ready"] >= 1:
            return h
        if h.get("status") == "degraded":
            return h
        return None
    return wait_for(outcome, timeout, "the daemon to become ready or degraded")


def with_private_template(fn):
    cache, snap = private_cache()
    d = Daemon(languages=("bash",), pool_size=1, extra=("--cache-dir", cache))
    try:
        if not snap:
            log("no cached bash template to copy: the daemon builds one")
        d.start()
        assert_normal(d)
        d.stop()
        snap = glob.glob(os.path.join(cache, "snapshots", "bash-*"))[0]
        fn(d, cache, snap)
        shutil.rmtree(d.dir, ignore_errors=True)
    finally:
        d.stop()
        shutil.rmtree(cache, ignore_errors=True)


def truncated_state(d, cache, snap):
    # A truncated device state: loading it must fail cleanly; the daemon
    # then rebuilds, or reports the language degraded and answers requests
    # with a quick 503 and a reason.
    state = os.path.join(snap, "state")
    with open(state, "r+b") as f:
        f.truncate(os.path.getsize(state) // 2)
    d.start(wait=False)
    h = wait_outcome(d, 300 * SLOW)
    log("truncated state: health %s; bash pool %s" % (h["status"], json.dumps(h["pools"]["bash"])))
    t = time.time()
    try:
        status, r = d.request("POST", "/api/v1/execute", {"language": "bash", "code": "echo x"},
                              timeout=15 * SLOW)
    except OSError as e:
        raise AssertionError("no answer within %.0fs (%s): requests queue for a template that cannot "
                             "restore; health %s" % (15 * SLOW, e, json.dumps(h)))
    el = time.time() - t
    log("truncated state: execute -> HTTP %d in %.1fs: %s" % (status, el, r))
    assert d.proc.poll() is None, "runnerd crashed"
    if status == 200:
        assert r["status"] == "success" and r["stdout"] == "x\n", r
    else:
        assert status == 503 and isinstance(r, dict) and r.get("error"), (status, r)
        assert el < 10 * SLOW, "503 took %.1fs" % el
    assert len(qemu_pids_of(d.proc.pid)) <= 3, "VMMs pile up: %s" % qemu_pids_of(d.proc.pid)


def expect_rebuilt(d, cache, snap, what):
    """Starts runnerd on the altered template: it must serve from a new
    one, its RAM written anew (the altered one never loaded). Returns the
    new template's directory; the daemon is stopped."""
    ram_mtime = os.stat(os.path.join(snap, "ram")).st_mtime_ns
    t = time.time()
    d.start(wait=False)
    h = wait_outcome(d, 300 * SLOW)
    assert h["status"] == "ok", "not rebuilt: %s" % json.dumps(h)
    log("%s: rebuilt in %.1fs" % (what, time.time() - t))
    snaps = glob.glob(os.path.join(cache, "snapshots", "bash-*"))
    assert len(snaps) == 1, snaps
    assert os.stat(os.path.join(snaps[0], "ram")).st_mtime_ns != ram_mtime, "the %s was loaded" % what
    assert_normal(d)
    d.stop()
    return snaps[0]


def poisoned_ram(d, cache, snap):
    # Bytes of the template's RAM changed in place (same size, meta.json
    # untouched), as a writer of the cache would: the SHA-256 recorded in
    # meta.json no longer matches, so the template is rebuilt, never
    # loaded, and runs come from the new one.
    ram = os.path.join(snap, "ram")
    with open(ram, "r+b") as f:
        f.seek(4096 * 300)
        page = f.read(4096)
        f.seek(4096 * 300)
        f.write(bytes(b ^ 0x5A for b in page) if page.strip(b"\0") else b"poison" + page[6:])
    meta = json.load(open(os.path.join(snap, "meta.json")))
    assert len(meta["files"]["ram_sha256"]) == 64, meta["files"]
    expect_rebuilt(d, cache, snap, "poisoned RAM")


def stale_meta(d, cache, snap):
    # meta.json from "another QEMU version": never loaded; rebuilt, and
    # meta.json rewritten with the true inputs.
    meta_path = os.path.join(snap, "meta.json")
    meta = json.load(open(meta_path))
    meta["qemu_version"] = "QEMU emulator version 0.0.1 (stale)"
    json.dump(meta, open(meta_path, "w"))
    new = expect_rebuilt(d, cache, snap, "stale meta.json")
    meta2 = json.load(open(os.path.join(new, "meta.json")))
    assert meta2["qemu_version"] != meta["qemu_version"], "the stale meta.json was kept"


def main():
    c = Checks()
    c.run("29 empty --images: clear error, no crash", check_empty_images)
    c.run("29 missing kernel: clear error, no crash", check_missing_kernel)
    c.run("29 truncated snapshot state: rebuilt or a quick 503, never a crash", with_private_template,
          truncated_state)
    c.run("29 meta.json of another QEMU: rebuilt, never loaded", with_private_template, stale_meta)
    c.run("32 template RAM altered in the cache (same size, meta.json kept): rebuilt, never loaded",
          with_private_template, poisoned_ram)
    c.exit()


if __name__ == "__main__":
    main()
