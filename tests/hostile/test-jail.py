#!/usr/bin/env python3
"""test-jail.py: every VMM runnerd starts is jailed (docs/security.md, "The
jail", row 31). With pools of two languages running, each QEMU process is
read from the host's /proc and must have: a uid and gid that are not root,
not runnerd's and not another VMM's; no supplementary groups and no
capabilities; NoNewPrivs 1 and two seccomp filters (ours and QEMU's);
rlimits on file size, open files (1024) and core dumps (none); mount, pid, network, ipc and uts
namespaces other than runnerd's; a root that holds only what QEMU needs (no
cache, no /etc, no runnerd socket); and a cgroup of its own in the memory,
pids and cpu hierarchies with limits set. The runs still work.

Then a stand-in VMM (jail-probe.c), started by jail-launch through the same
jail functions runnerd uses for QEMU, tries what a VMM taken over by its
guest would: open host files, the cache, runnerd's socket and other
processes; ptrace, signal, process_vm_readv or pidfd_getfd another process;
open an AF_INET socket; load a module; write the template memfd; exceed its
memory and pids limits. Each attempt must fail."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import assert_normal, wait_for  # noqa: E402
from harness import BUILD, CACHE, SLOW, Checks, Daemon, jail_uids, log, qemu_pids_of  # noqa: E402

NAMESPACES = ("mnt", "pid", "net", "ipc", "uts")
ROOT_ENTRIES = {"bin", "dev", "lib", "lib64", "proc", "sbin", "usr", "vm"}


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


def read_limits(pid):
    """Soft limits from /proc/PID/limits, by name."""
    out = {}
    with open("/proc/%d/limits" % pid) as f:
        next(f)
        for line in f:
            name, soft = line[:26].strip(), line[26:].split()[0]
            out[name] = soft
    return out


def cgroups(pid):
    out = {}
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    return out


def read_limit(path):
    with open(path) as f:
        return f.read().split()


def check_cgroup(pid):
    """The VMM's own cgroup under runnerd's runnerd-vms-FIRST, limits set:
    v1 memory, pids and cpu hierarchies here, else the v2 unified one."""
    cg = cgroups(pid)
    if all(c in cg for c in ("memory", "pids", "cpu")) and "runnerd-vms-" in cg["memory"]:
        for c in ("memory", "pids", "cpu"):
            assert "/runnerd-vms-" in cg[c] and "/slot-" in cg[c], (c, cg[c])
        base = "/sys/fs/cgroup/%s%s/"
        mem = int(read_limit(base % ("memory", cg["memory"]) + "memory.limit_in_bytes")[0])
        pids = read_limit(base % ("pids", cg["pids"]) + "pids.max")[0]
        quota = int(read_limit(base % ("cpu", cg["cpu"]) + "cpu.cfs_quota_us")[0])
        assert mem < 1 << 40, "no memory limit: %d" % mem
        assert pids != "max", "no pids limit"
        assert quota > 0, "no cpu quota"
        return cg["memory"]
    path = cg.get("", "")
    assert "/runnerd-vms-" in path and "/slot-" in path, "no cgroup of its own: %s" % cg
    base = "/sys/fs/cgroup" + path
    assert read_limit(base + "/memory.max")[0] != "max", "no memory limit"
    assert read_limit(base + "/pids.max")[0] != "max", "no pids limit"
    return path


def check_vmms(d, want):
    pids = wait_for(lambda: (lambda p: p if len(p) >= want else None)(qemu_pids_of(d.proc.pid)), 120 * SLOW,
                    "%d VMMs" % want)
    me = status(d.proc.pid)
    uids, groups = set(), set()
    for pid in pids:
        st = status(pid)
        uid, gid = st["Uid"], st["Gid"]
        assert len(set(uid)) == 1 and len(set(gid)) == 1, "mixed ids %s %s" % (uid, gid)
        assert uid[0] != "0" and gid[0] != "0", "VMM %d runs as root" % pid
        assert uid[0] != me["Uid"][0], "VMM %d shares runnerd's uid" % pid
        assert uid[0] not in uids, "two VMMs share uid %s" % uid[0]
        uids.add(uid[0])
        assert st.get("Groups", []) == [], "supplementary groups %s" % st.get("Groups")
        assert st["NoNewPrivs"] == ["1"], "NoNewPrivs %s" % st["NoNewPrivs"]
        assert st["Seccomp"] == ["2"], "Seccomp %s" % st["Seccomp"]
        # Ours (jail-seccomp.c) and QEMU's own -sandbox on top of it.
        assert int(st["Seccomp_filters"][0]) >= 2, "Seccomp_filters %s" % st["Seccomp_filters"]
        for caps in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            assert st[caps] == ["0000000000000000"], "%s %s" % (caps, st[caps])
        limits = read_limits(pid)
        assert limits["Max core file size"] == "0", "core dumps allowed: %s" % limits["Max core file size"]
        assert limits["Max open files"] == "1024", "open files: %s" % limits["Max open files"]
        assert limits["Max file size"] != "unlimited", "no file size limit"
        for ns in NAMESPACES:
            mine = os.readlink("/proc/%d/ns/%s" % (d.proc.pid, ns))
            assert os.readlink("/proc/%d/ns/%s" % (pid, ns)) != mine, "VMM %d shares runnerd's %s namespace" % (
                pid, ns)
        entries = set(os.listdir("/proc/%d/root" % pid))
        assert entries <= ROOT_ENTRIES, "unexpected in the VMM's root: %s" % (entries - ROOT_ENTRIES)
        for leak in ("etc", "var", "run", "tmp", "root", "home"):
            assert not os.path.exists("/proc/%d/root/%s" % (pid, leak)), leak
        groups.add(check_cgroup(pid))
    assert len(groups) == len(pids), "VMMs share a cgroup: %s" % groups
    log("%d VMMs: uids %s, each its own namespaces, root and cgroup" % (len(pids), sorted(uids)))


def check_jailed_pools():
    with Daemon(languages=("python", "bash"), pool_size=2) as d:
        check_vmms(d, 4)
        for lang, code, out in (("python", "print(6*7)", "42\n"), ("bash", "echo $((6*7))", "42\n")):
            r = d.execute(lang, code)
            assert r["status"] == "success" and r["stdout"] == out, json.dumps(r)[:300]
        assert_normal(d)


def check_stand_in_vmm():
    state = tempfile.mkdtemp(prefix="runnerd-jail-")
    first = jail_uids().split(":")[0]
    probe = os.path.join(BUILD, "tests", "jail-probe")
    launch = os.path.join(BUILD, "tests", "jail-launch")
    p = subprocess.run([launch, probe, state, first, CACHE, "/run/runnerd/runnerd.sock"], capture_output=True,
                       text=True, timeout=60 * SLOW)
    os.rmdir(state)
    lines = p.stdout.splitlines()
    for line in lines:
        log(line)
    bad = [line for line in lines if not line.startswith("ok ")]
    assert p.returncode == 0 and not bad and len(lines) >= 17, "exit %d: %s %s" % (p.returncode, bad,
                                                                                   p.stderr[-500:])


def main():
    c = Checks()
    c.run("31 every VMM is jailed: own uid, no privileges, seccomp, namespaces, root and cgroup",
          check_jailed_pools)
    c.run("31 a stand-in VMM in the same jail cannot reach the host, other processes, the network, the kernel "
          "or the template, nor exceed its limits", check_stand_in_vmm)
    c.exit()


if __name__ == "__main__":
    main()
