#!/usr/bin/env python3
"""test-from-image.py: language images made from container images
(tools/runner-image from-image, and the `source` key of a .lang file),
without a registry or a Docker engine. The test makes its own OCI archives:
Debian's static busybox packed with umoci and written by skopeo. It builds
the image of a language whose `source` names one, checks that every
documented error is one line and leaves nothing in the cache, then runs the
language's hello world through runnerd in a microVM.

The archive's PATH is /opt/bbsh/bin:/bin and the language's run command,
`bbsh`, exists only in /opt/bbsh/bin: it runs only if the image's PATH
reaches the chroot check and the guest agent (/etc/runnerd/path).

Needs root, skopeo, umoci, busybox-static, the agent and the guest kernel;
prints SKIP and exits 77 without them."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, KERNEL, ROOT, RUNNERD, SKIP, Checks, Daemon, log  # noqa: E402

RUNNER_IMAGE = os.path.join(ROOT, "tools", "runner-image")
AGENT = os.path.join(BUILD, "guest-agent", "runnerd-agent")
IMAGE_PATH = "/opt/bbsh/bin:/bin"

LANG = """# A shell from a container image: busybox, packed by the test.
name = bbsh
source = oci-archive:../bb.tar
version_cmd = busybox
file = main.sh
run = bbsh {file}
hello = echo Hello
hello_output = Hello\\n
"""


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def static_busybox():
    """The path of busybox-static's binary, or None."""
    p = subprocess.run(["dpkg-query", "-L", "busybox-static"], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    paths = [l for l in p.stdout.splitlines() if l.endswith("/bin/busybox") and os.path.isfile(l)]
    return paths[0] if paths else None


def run(*argv, cwd=None):
    subprocess.run(list(argv), check=True, cwd=cwd, stdout=subprocess.DEVNULL)


class Work:
    """The test's directory: archives, languages, and a cache of its own."""

    def __init__(self, busybox):
        self.dir = tempfile.mkdtemp(prefix="runnerd-from-image-")
        os.chmod(self.dir, 0o755)  # the jailed VMM opens the image below it
        self.busybox = busybox
        self.layout = os.path.join(self.dir, "layout")
        self.langs = os.path.join(self.dir, "languages")
        self.cache = os.path.join(self.dir, "cache")
        self.images = os.path.join(self.cache, "images")
        os.mkdir(self.langs)
        with open(os.path.join(self.langs, "bbsh.lang"), "w") as f:
            f.write(LANG)
        run("umoci", "init", "--layout", self.layout)

    def archive(self, name, shell=True, arch=None, extra_file=None):
        """DIR/NAME.tar: an oci-archive of busybox (with its applet links
        and /bin/sh when shell), the bbsh command in /opt/bbsh/bin."""
        bundle = os.path.join(self.dir, "bundle-" + name)
        image = "%s:%s" % (self.layout, name)
        run("umoci", "new", "--image", image)
        run("umoci", "unpack", "--image", image, bundle)
        rootfs = os.path.join(bundle, "rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        os.makedirs(os.path.join(rootfs, "opt", "bbsh", "bin"))
        shutil.copy2(self.busybox, os.path.join(rootfs, "bin", "busybox"))
        if shell:
            run("chroot", rootfs, "/bin/busybox", "--install", "-s", "/bin")
        bbsh = os.path.join(rootfs, "opt", "bbsh", "bin", "bbsh")
        with open(bbsh, "w") as f:
            f.write('#!/bin/sh\nexec sh "$@"\n')
        os.chmod(bbsh, 0o755)
        if extra_file:
            with open(os.path.join(rootfs, extra_file), "w") as f:
                f.write("changed\n")
        run("umoci", "repack", "--image", image, bundle)
        run("umoci", "config", "--image", image, "--config.env", "PATH=" + IMAGE_PATH)
        if arch:
            run("umoci", "config", "--image", image, "--architecture", arch)
        shutil.rmtree(bundle)
        out = os.path.join(self.dir, name + ".tar")
        run("skopeo", "copy", "--quiet", "oci:" + image, "oci-archive:" + out)
        return out

    def runner_image(self, *args):
        """runner-image ARGS against this cache and languages dir, from DIR."""
        t = time.time()
        p = subprocess.run([RUNNER_IMAGE] + list(args) + ["--cache", self.cache, "--languages", self.langs,
                                                         "--agent", AGENT],
                           capture_output=True, text=True, cwd=self.dir, timeout=600)
        p.seconds = time.time() - t
        return p

    def cache_listing(self):
        """Every name in the cache, dot files and temporary ones included."""
        names = set()
        for d, dirs, files in os.walk(self.cache):
            for n in dirs + files:
                names.add(os.path.relpath(os.path.join(d, n), self.cache))
        return names

    def read(self, name):
        with open(os.path.join(self.images, name)) as f:
            return f.read()


def skopeo_leftovers():
    """skopeo's temporary directories in /var/tmp (runner-image gives it
    the build's own directory instead)."""
    try:
        return {n for n in os.listdir("/var/tmp") if re.fullmatch(r"oci\d+", n)}
    except OSError:
        return set()


def main():
    if os.geteuid() != 0:
        skip("needs root (umoci unpack, chroot)")
    for tool in ("skopeo", "umoci", "mkfs.erofs"):
        if not shutil.which(tool):
            skip("no %s (tools/install-deps)" % tool)
    busybox = static_busybox()
    if not busybox:
        skip("no busybox-static (apt-get install busybox-static)")
    missing = [p for p in (AGENT, RUNNERD, KERNEL) if not os.path.exists(p)]
    if missing:
        skip("missing " + ", ".join(missing) + " (ninja -C build, tools/build-kernel)")

    w = Work(busybox)
    c = Checks()
    state = {}
    try:
        t = time.time()
        bb = w.archive("bb")
        w.archive("nosh", shell=False)
        w.archive("arm", arch="arm64")
        changed = w.archive("changed", extra_file="bin/changed")
        with open(bb, "rb") as f:
            data = f.read()
        with open(os.path.join(w.dir, "corrupt.tar"), "wb") as f:
            f.write(data[:len(data) // 2])
        log("archives made in %.1f s (%d KiB each)" % (time.time() - t, len(data) // 1024))

        def build():
            p = w.runner_image("build", "bbsh")
            log("build: %.1f s" % p.seconds)
            assert p.returncode == 0, p.stderr
            img = os.path.join(w.images, "bbsh.erofs")
            assert p.stdout == img + "\n", p.stdout
            for n in ("bbsh.erofs", "bbsh.erofs.id", "bbsh.versions", "bbsh.inputs"):
                assert os.path.getsize(os.path.join(w.images, n)) > 0, n
            assert re.fullmatch(r"[0-9a-f]{64}\n", w.read("bbsh.erofs.id")), w.read("bbsh.erofs.id")
            assert w.read("bbsh.versions").startswith("bbsh\tBusyBox v"), w.read("bbsh.versions")
            assert not [n for n in os.listdir(w.images) if ".build." in n], os.listdir(w.images)
            state["id"] = w.read("bbsh.erofs.id")

        def up_to_date():
            p = w.runner_image("build", "bbsh")
            assert p.returncode == 0 and "up to date" in p.stderr, p.stderr
            # from-image with the same archive (relative to its cwd, where
            # the source's is relative to the languages dir): same inputs.
            p = w.runner_image("from-image", "--name", "bbsh", "--image", "oci-archive:bb.tar")
            assert p.returncode == 0 and "up to date" in p.stderr, p.stderr
            p = w.runner_image("list")
            assert p.returncode == 0 and re.match(r"bbsh +bbsh +built ", p.stdout), p.stdout

        def error_case(args, message, image="bbsh"):
            before, tmp_before = w.cache_listing(), skopeo_leftovers()
            p = w.runner_image(*args)
            assert p.returncode == 1, (p.returncode, p.stderr)
            errors = [l for l in p.stderr.splitlines() if "error:" in l]
            assert len(errors) == 1 and errors[0].startswith("runner-image: error: "), p.stderr
            assert re.search(message, errors[0]), "%r does not match %r" % (errors[0], message)
            log("  " + errors[0])
            # Nothing new in the cache but the image's lock file.
            new = w.cache_listing() - before
            assert new <= {"locks", "locks/%s.lock" % image} and not before - w.cache_listing(), new
            assert skopeo_leftovers() <= tmp_before, skopeo_leftovers() - tmp_before
            # The image built before is still there, untouched.
            assert w.read("bbsh.erofs.id") == state["id"]
            assert not os.path.exists(os.path.join(w.images, image + ".erofs")) or image == "bbsh"

        def from_image(ref, *extra):
            return ["from-image", "--name", "bbsh", "--image", ref] + list(extra)

        errors = [
            ("an unknown reference", from_image("oci:layout:bb"),
             r"unknown image reference 'oci:layout:bb' \(docker://"),
            ("a nonexistent archive", from_image("oci-archive:missing.tar"),
             r"image oci-archive:missing.tar: no such archive /.*/missing.tar$"),
            ("an image with no shell", from_image("oci-archive:nosh.tar"),
             r"image oci-archive:/.*/nosh.tar has no /bin/sh; runnerd's guests need a shell$"),
            ("the wrong architecture", from_image("oci-archive:arm.tar"),
             r"image oci-archive:/.*/arm.tar is for arm64, runnerd's guests are amd64$"),
            ("an image over the size limit", from_image("oci-archive:bb.tar", "--size", "1", "--force"),
             r"image oci-archive:/.*/bb.tar unpacks to \d+ MB, over the limit of 1 MB \(--size\)$"),
            ("a corrupt archive", from_image("oci-archive:corrupt.tar"),
             r"skopeo cannot read image oci-archive:/.*/corrupt.tar: .+"),
        ]

        def source_error():
            # The same through a .lang file's source, for an image never built.
            lf = os.path.join(w.langs, "bbnosh.lang")
            with open(lf, "w") as f:
                f.write(LANG.replace("bbsh", "bbnosh", 1).replace("../bb.tar", "../nosh.tar"))
            try:
                error_case(["build", "bbnosh"], r"has no /bin/sh; runnerd's guests need a shell$", "bbnosh")
            finally:
                os.unlink(lf)

        def docker_archive():
            # Another image, from a docker-archive of the same tree.
            run("skopeo", "copy", "--quiet", "oci:%s:bb" % w.layout, "docker-archive:%s/bb-docker.tar" % w.dir)
            lf = os.path.join(w.langs, "bbdocker.lang")
            with open(lf, "w") as f:
                f.write(LANG.replace("bbsh", "bbdocker", 1).replace("oci-archive:../bb.tar",
                                                                     "docker-archive:../bb-docker.tar"))
            try:
                p = w.runner_image("build", "bbdocker")
                assert p.returncode == 0, p.stderr
                assert w.read("bbdocker.versions").startswith("bbdocker\tBusyBox v")
            finally:
                os.unlink(lf)

        def changed_archive():
            shutil.copyfile(changed, bb)
            p = w.runner_image("list")
            assert re.match(r"bbsh +bbsh +stale ", p.stdout), p.stdout
            p = w.runner_image("build", "bbsh")
            assert p.returncode == 0 and "up to date" not in p.stderr, p.stderr
            log("rebuild: %.1f s" % p.seconds)
            assert w.read("bbsh.erofs.id") != state["id"]
            state["id"] = w.read("bbsh.erofs.id")

        def vm_hello():
            with Daemon(languages=("bbsh",), pool_size=1, cache=w.cache, languages_dir=w.langs) as d:
                r = d.execute("bbsh", "echo Hello")
                assert r["status"] == "success" and r["stdout"] == "Hello\n" and r["exit_code"] == 0, r
                r = d.execute("bbsh", 'echo "$PATH"; command -v bbsh')
                assert r["stdout"] == IMAGE_PATH + "\n/opt/bbsh/bin/bbsh\n", r

        def via_daemon():
            """Runner Codes' `rootfs from-docker`: the import runs in runnerd
            as a task, and the language it makes is served at once."""
            with open(os.path.join(w.langs, "bbsh2.lang"), "w") as f:
                f.write(LANG.replace("name = bbsh", "name = bbsh2").replace("source = oci-archive:../bb.tar\n",
                                                                             "packages = busybox\n"))
            with Daemon(languages=("bbsh",), pool_size=1, cache=w.cache, languages_dir=w.langs,
                        extra=["--only", "bbsh,bbsh2"]) as d:
                status, r = d.get("/api/v1/languages/bbsh2")
                assert status == 404, (status, r)
                p = d.runnerctl("rootfs", "from-image", "--name", "bbsh2", "--image", "oci-archive:" + bb,
                                "--size", "64", timeout=600)
                assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
                status, r = d.get("/api/v1/rootfs")
                row = [x for x in r["rootfs"] if x["language"] == "bbsh2"]
                assert row and row[0]["state"] == "ready" and row[0]["task"]["state"] == "done", r
                p = d.runnerctl("exec", "-l", "bbsh2", "-c", "echo Hello from an OCI archive", timeout=600)
                assert p.returncode == 0 and p.stdout == b"Hello from an OCI archive\n", (p.returncode, p.stdout,
                                                                                          p.stderr)
                p = d.runnerctl("rootfs", "from-image", "--name", "bbsh2", "--image", "oci-archive:/nonexistent.tar")
                assert p.returncode == 1 and b"nonexistent" in p.stderr, (p.returncode, p.stderr)
                # rootfs build: a language's own source (bbsh's archive), forced
                before = w.read("bbsh.erofs.id")
                p = d.runnerctl("rootfs", "build", "bbsh", timeout=600)
                assert p.returncode == 0, (p.returncode, p.stderr)
                p = d.runnerctl("exec", "-l", "bbsh", "-c", "echo rebuilt", timeout=600)
                assert p.returncode == 0 and p.stdout == b"rebuilt\n", (p.returncode, p.stdout, p.stderr)
                log("rootfs build: id %s -> %s" % (before[:12], w.read("bbsh.erofs.id")[:12]))
                # rootfs rm: the image goes, its language says so
                p = d.runnerctl("rootfs", "rm", "bbsh2")
                assert p.returncode == 0, (p.returncode, p.stderr)
                assert not os.path.exists(os.path.join(w.images, "bbsh2.erofs"))
                status, r = d.get("/api/v1/rootfs")
                row = [x for x in r["rootfs"] if x["language"] == "bbsh2"]
                assert row and row[0]["state"] == "missing", r

        c.run("build a language whose source is an oci-archive", build)
        c.run("it is up to date for build, from-image and list", up_to_date)
        for name, args, message in errors:
            c.run("error: " + name, error_case, args, message)
        c.run("error: a source in a .lang file", source_error)
        c.run("build a language whose source is a docker-archive", docker_archive)
        c.run("a changed archive rebuilds the image", changed_archive)
        c.run("runnerd runs its hello world in a microVM", vm_hello)
        c.run("runnerctl rootfs from-image through runnerd: a new language is served", via_daemon)
    finally:
        shutil.rmtree(w.dir, ignore_errors=True)
    c.exit()


if __name__ == "__main__":
    main()
