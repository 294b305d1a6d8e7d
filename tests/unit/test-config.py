#!/usr/bin/env python3
"""test-config.py: runnerd's configuration files, through the real binary
and `runnerd --check-config` (no VM): the [runnerd] section, drop-ins in
lexical order, the command line over the files, and an unknown key, a bad
value, a bad path or a line that is no key each named by FILE:LINE with a
non-zero exit."""
import os
import subprocess
import sys
import tempfile

RUNNERD = os.path.abspath(sys.argv[1])
failed = 0
n = 0


def check(name, ok, detail=""):
    global failed, n
    n += 1
    print("%s %d - %s%s" % ("ok" if ok else "not ok", n, name, "" if ok else ": " + detail))
    failed += 0 if ok else 1


def run(conf, *args):
    # Paths that exist on any machine, so only what a test changes can fail.
    base = ["--kernel", RUNNERD, "--qemu", "/bin/sh", "--images", "/"]
    p = subprocess.run([RUNNERD, "--config", conf, "--check-config"] + base + list(args), capture_output=True,
                       text=True, timeout=30)
    return p.returncode, p.stdout + p.stderr


with tempfile.TemporaryDirectory() as d:
    conf = os.path.join(d, "runnerd.conf")
    dropins = conf + ".d"
    os.mkdir(dropins)

    def write(path, text):
        with open(path, "w") as f:
            f.write(text)

    rc, out = run(conf)
    check("no file at all: the defaults are valid", rc == 0, out)
    write(conf, "# comment\n[runnerd]\npool-max = 3\nno-jail = yes\nsocket-mode = 0600\naccel = tcg\n")
    rc, out = run(conf)
    check("a valid file", rc == 0 and "valid" in out, out)
    write(conf, "[runnerd]\npool-max = 3\npool-mux = 4\n")
    rc, out = run(conf)
    check("unknown key: FILE:LINE", rc != 0 and conf + ":3: unknown key 'pool-mux'" in out, out)
    write(conf, "[runnerd]\n\npool-max = lots\n")
    rc, out = run(conf)
    check("bad value: FILE:LINE", rc != 0 and conf + ":3: invalid value 'lots' for 'pool-max'" in out, out)
    write(conf, "[runnerd]\nlanguages = /nonexistent-dir\n")
    rc, out = run(conf)
    check("bad path: named with FILE:LINE", rc != 0 and "languages (" + conf + ":2): /nonexistent-dir" in out, out)
    rc, out = run(conf, "--languages", d)
    check("the command line overrides the file", rc == 0, out)
    write(conf, "pool-max = 3\n")
    rc, out = run(conf)
    check("a key outside [runnerd]", rc != 0 and "outside section [runnerd]" in out, out)
    write(conf, "[runnerd]\naccel = warp\n")
    rc, out = run(conf)
    check("a bad accelerator", rc != 0 and "'warp' is not kvm, tcg or auto" in out, out)
    write(conf, "[runnerd]\nlanguages = /nonexistent-dir\n")
    write(os.path.join(dropins, "20-fix.conf"), "[runnerd]\nlanguages = %s\n" % d)
    rc, out = run(conf)
    check("a drop-in overrides the file", rc == 0, out)
    write(os.path.join(dropins, "30-break.conf"), "[runnerd]\nlanguages = /nonexistent-too\n")
    rc, out = run(conf)
    check("drop-ins apply in lexical order", rc != 0 and "30-break.conf:2" in out, out)
    os.unlink(os.path.join(dropins, "30-break.conf"))
    write(os.path.join(dropins, "40-noise.txt"), "not a config\n")
    rc, out = run(conf)
    check("files not named *.conf are ignored", rc == 0, out)
    write(os.path.join(dropins, "50-garbage.conf"), "[runnerd]\nthis is not a key line\n")
    rc, out = run(conf)
    check("a line that is no key: FILE:LINE", rc != 0 and "50-garbage.conf:2" in out, out)
    os.unlink(os.path.join(dropins, "50-garbage.conf"))
    write(os.path.join(dropins, "60-token.conf"), "[runnerd]\ntcp-token-file = /etc/hostname\n")
    rc, out = run(conf)
    check("tcp-token-file without tcp", rc != 0 and "without --tcp" in out, out)

print("1..%d" % n)
sys.exit(1 if failed else 0)
