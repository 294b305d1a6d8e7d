#!/usr/bin/env python3
"""test-s3-runnerd.py: images and snapshots through runnerd to a real S3
server (s3rver on 127.0.0.1) and back, with real TCG VMs: runnerctl rootfs
and snapshot upload, the remote listings, download into a second daemon's
cache, a run that uses the downloaded snapshot (its directory is the one
the download made, not a rebuild), and a downloaded snapshot whose keys do
not match this host, which is rebuilt locally while the listing says why."""
import importlib.util
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CACHE, KERNEL, ROOT, SKIP, Checks, Daemon, image_path, log  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("s3test", os.path.join(HERE, "test-s3.py"))
s3test = importlib.util.module_from_spec(spec)
spec.loader.exec_module(s3test)

LANG = "bash"


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def private_cache(root, name, with_snapshot_of=None):
    """A cache of its own: the shared kernel and bash's image, hard-linked
    (runner-image replaces files by rename, so a link keeps its bytes)."""
    cache = os.path.join(root, name)
    os.makedirs(os.path.join(cache, "kernel"))
    os.makedirs(os.path.join(cache, "images"))
    os.link(KERNEL, os.path.join(cache, "kernel", "vmlinux"))
    img = image_path(LANG)
    base = os.path.basename(img)[:-len(".erofs")]
    for ext in (".erofs", ".erofs.id", ".versions", ".inputs"):
        src = os.path.join(os.path.dirname(img), base + ext)
        if os.path.exists(src):
            os.link(src, os.path.join(cache, "images", base + ext))
    return cache, base


def snapshot_rows(d):
    status, r = d.get("/api/v1/snapshots")
    assert status == 200, r
    return [x for x in r["snapshots"] if x["language"] == LANG]


def snapshot_dirs(cache):
    d = os.path.join(cache, "snapshots")
    return sorted(n for n in os.listdir(d) if n.startswith(LANG + "-") and ".tmp." not in n)


def main():
    if not shutil.which("node"):
        skip("node is not installed (Debian: apt-get install npm)")
    inst = s3test.subprocess.run([os.path.join(ROOT, "tests", "s3rver-install")], capture_output=True, text=True)
    if inst.returncode != 0:
        skip("s3rver cannot be installed: " + (inst.stderr.strip().splitlines() or ["?"])[-1])
    program = inst.stdout.strip()
    if not os.path.exists(KERNEL) or not os.path.exists(image_path(LANG)):
        skip("no kernel or %s image in %s" % (LANG, CACHE))

    # Below the shared cache's parent, so hard links work; the jailed VMM
    # reads the image there.
    root = tempfile.mkdtemp(prefix="runnerd-test-s3d.", dir=os.path.dirname(CACHE.rstrip("/")))
    os.chmod(root, 0o755)
    server = None
    c = Checks()
    os.environ.update(AWS_ACCESS_KEY_ID=s3test.KEY_ID, AWS_SECRET_ACCESS_KEY=s3test.SECRET, AWS_REGION="us-east-1")
    try:
        server = s3test.S3rver(program, root)
        s3args = ["--s3-endpoint", "http://127.0.0.1:%d" % server.port, "--s3-bucket", s3test.BUCKET]
        cache_a, image = private_cache(root, "cache-a")
        cache_b, _ = private_cache(root, "cache-b")
        state = {}

        def upload():
            with Daemon(languages=(LANG,), pool_size=1, cache=cache_a, extra=s3args) as d:
                for kind in ("rootfs", "snapshot"):
                    p = d.runnerctl(kind, "upload", "--lang", LANG, timeout=900)
                    assert p.returncode == 0, (kind, p.returncode, p.stderr)
                p = d.runnerctl("--json", "rootfs", "list", "--remote")
                r = json.loads(p.stdout)
                assert p.returncode == 0 and r["remote"] and r["bucket"] == s3test.BUCKET, p.stdout
                row = [x for x in r["rootfs"] if x["image"] == image]
                assert row and LANG in row[0]["languages"] and row[0]["size"] > 0, r
                p = d.runnerctl("--json", "snapshot", "list", "--remote")
                r = json.loads(p.stdout)
                row = [x for x in r["snapshots"] if x["language"] == LANG]
                assert p.returncode == 0 and row and row[0]["mem_size"] > 0 and row[0]["vmstate_size"] > 0, r
                state["uploaded_dir"] = row[0]["dir"]
                with open(os.path.join(cache_a, "snapshots", row[0]["dir"], "meta.json")) as f:
                    state["meta"] = json.load(f)
            with open(os.path.join(cache_a, "images", image + ".erofs.id")) as f:
                state["image_id"] = f.read()

        def download_and_run():
            with Daemon(languages=(LANG,), pool_size=1, cache=cache_b, extra=s3args) as d:
                built = snapshot_dirs(cache_b)
                assert built == [state["uploaded_dir"]], (built, state)  # same keys: same name
                p = d.runnerctl("rootfs", "download", "--lang", LANG, timeout=900)
                assert p.returncode == 0, (p.returncode, p.stderr)
                with open(os.path.join(cache_b, "images", image + ".erofs.id")) as f:
                    assert f.read() == state["image_id"]
                p = d.runnerctl("snapshot", "rm", LANG)
                assert p.returncode == 0 and snapshot_dirs(cache_b) == [], (p.returncode, p.stderr)
                p = d.runnerctl("snapshot", "download", "--lang", LANG, timeout=900)
                assert p.returncode == 0, (p.returncode, p.stderr)
                ino = os.stat(os.path.join(cache_b, "snapshots", state["uploaded_dir"])).st_ino
                d.wait_ready()
                r = d.execute(LANG, "echo from the downloaded snapshot")
                assert r["status"] == "success" and r["stdout"] == "from the downloaded snapshot\n", r
                rows = snapshot_rows(d)
                assert len(rows) == 1 and rows[0]["status"] == "ready" and rows[0]["source"] == "downloaded", rows
                # Loaded, not rebuilt: a rebuild renames a new directory in.
                assert os.stat(os.path.join(cache_b, "snapshots", state["uploaded_dir"])).st_ino == ino
                with open(os.path.join(cache_b, "snapshots", state["uploaded_dir"], "meta.json")) as f:
                    meta = json.load(f)
                assert meta == state["meta"], (meta, state["meta"])
                log("the run used the downloaded snapshot %s" % state["uploaded_dir"])

        def stale_download():
            # A template made for another QEMU, as a store may hold: edit
            # what it says it was built with, then upload it.
            d_dir = os.path.join(cache_a, "snapshots", state["uploaded_dir"])
            meta_path = os.path.join(d_dir, "meta.json")
            with open(meta_path) as f:
                meta = json.load(f)
            meta["qemu_version"] = "QEMU emulator version 0.1 (elsewhere)"
            with open(meta_path, "w") as f:
                json.dump(meta, f)
            p = s3test.subprocess.run([os.path.join(os.environ.get("RUNNERD_BUILD", os.path.join(ROOT, "build")),
                                                    "tools", "runnerd-s3"), "--endpoint",
                                       "http://127.0.0.1:%d" % server.port, "--bucket", s3test.BUCKET,
                                       "put-snapshot", cache_a, LANG], capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, p.stderr
            with Daemon(languages=(LANG,), pool_size=1, cache=cache_b, extra=s3args) as d:
                p = d.runnerctl("snapshot", "download", "--lang", LANG, timeout=900)
                assert p.returncode == 0, (p.returncode, p.stderr)
                d.wait_ready()
                r = d.execute(LANG, "echo rebuilt")
                assert r["status"] == "success" and r["stdout"] == "rebuilt\n", r
                rows = snapshot_rows(d)
                ready = [x for x in rows if x["status"] == "ready"]
                assert ready and ready[0]["source"] == "built", rows
                notes = " ".join(x.get("reason", "") + x.get("note", "") for x in rows)
                assert "another QEMU" in notes and "rebuilt locally" in notes, rows
                log("listing says: %s" % notes)

        c.run("rootfs and snapshot upload through runnerd; remote listings", upload)
        c.run("download into another cache; a run uses the downloaded snapshot", download_and_run)
        c.run("a downloaded snapshot for another QEMU is rebuilt, and the listing says why", stale_download)
    finally:
        if server:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    c.exit()


if __name__ == "__main__":
    main()
