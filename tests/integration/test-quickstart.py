#!/usr/bin/env python3
"""test-quickstart.py: the one-time host setup (Runner Codes' `setup`; the
README's first command), tools/quickstart, run for real on a private
socket: packages, build, kernel and images (all cached by then), a runnerd
started in the background, and examples/hello.py run in a microVM. The
daemon it leaves running is stopped afterwards."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, SLOW, SKIP, Checks  # noqa: E402

PIDFILE = "/run/runnerd.quickstart.pid"


def main():
    if os.geteuid() != 0:
        print("SKIP: tools/quickstart runs as root")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="runnerd-quickstart-")
    sock = os.path.join(tmp, "runnerd.sock")
    c = Checks()

    def quickstart():
        t = time.time()
        p = subprocess.run([os.path.join(ROOT, "tools", "quickstart")], capture_output=True,
                           env=dict(os.environ, RUNNERD_SOCKET=sock), timeout=1800 * SLOW)
        print("# quickstart took %.0f s" % (time.time() - t))
        assert p.returncode == 0, (p.returncode, p.stderr.decode(errors="replace")[-2000:])
        assert p.stdout == b"Hello\n", p.stdout

    try:
        c.run("tools/quickstart: set-up, a daemon, hello.py in a microVM", quickstart)
    finally:
        try:
            with open(PIDFILE) as f:
                pid = int(f.read())
            os.kill(pid, signal.SIGTERM)
            for _ in range(int(300 * SLOW)):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
    c.exit()


if __name__ == "__main__":
    sys.exit(main())
