#!/usr/bin/env python3
"""test-metrics.py: GET /metrics of the real runnerd with real TCG VMs
(python and bash, one clone each, no queue), read by Prometheus' own
parser (prometheus_client.parser, Debian's python3-prometheus-client):

  - the answer: 200, text/plain; version=0.0.4, a HELP and a TYPE line
    for every family, HEAD without a body; build_info, the pool gauges
    and the VM counts present and sane, every served language's series
    there at 0 before any request;
  - runs move the numbers: requests_total by language (an alias counts
    under the language's own name) and status (a success, a non-zero
    exit that is still a success, a timeout), the histograms' counts and
    sums (program_seconds_sum is the sum of the answers' exec_time_ms),
    buckets cumulative up to +Inf = count;
  - an unknown language makes no label;
  - requests refused with 429 (the queue is full) count as rejected,
    exactly as many as were answered 429;
  - a client that leaves mid-run counts as cancelled, and in_flight
    returns to 0.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, SLOW, Checks, Daemon, UnixHTTPConnection, log  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's package is seen by the system's interpreter only: when
    # another python3 runs us (meson found one earlier in PATH), try that.
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.access(SYSTEM_PYTHON, os.X_OK):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    print("SKIP: prometheus_client is not importable (install python3-prometheus-client: tools/install-deps)")
    sys.exit(SKIP)

LANGS = ("python", "bash")
STATUSES = ("success", "compile_error", "timeout", "compile_timeout", "memory_limit", "sandbox_error",
            "cancelled", "rejected")
HISTOGRAMS = ("runnerd_queue_seconds", "runnerd_startup_seconds", "runnerd_program_seconds",
              "runnerd_request_seconds")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Scrape:
    """One /metrics answer, parsed: families by name, samples by name and labels."""

    def __init__(self, d, method="GET"):
        conn = UnixHTTPConnection(d.socket, 60 * SLOW)
        try:
            conn.request(method, "/metrics")
            resp = conn.getresponse()
            self.status = resp.status
            self.content_type = resp.getheader("Content-Type")
            self.text = resp.read().decode()
        finally:
            conn.close()
        self.families = {}
        self.samples = {}
        if method == "GET":
            for fam in text_string_to_metric_families(self.text):
                self.families[fam.name] = fam
                for s in fam.samples:
                    self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def get(self, name, **labels):
        return self.samples.get((name, frozenset(labels.items())))

    def value(self, name, **labels):
        v = self.get(name, **labels)
        assert v is not None, "no sample %s%s" % (name, labels)
        return v

    def label_values(self, label):
        return {dict(k[1]).get(label) for k in self.samples} - {None}

    def requests(self, lang, status):
        return self.value("runnerd_requests_total", language=lang, status=status)

    def histogram(self, name, lang):
        """(cumulative buckets [(le, count)], sum, count) of one language."""
        buckets = sorted(((float(dict(k[1])["le"]), v) for k, v in self.samples.items()
                          if k[0] == name + "_bucket" and dict(k[1]).get("language") == lang),
                         key=lambda b: b[0])
        return buckets, self.value(name + "_sum", language=lang), self.value(name + "_count", language=lang)


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def wait_ready_vm(d, lang):
    """With --queue-max 0 a request finding no ready clone is refused: wait
    for one (through the metric itself)."""
    wait_for(lambda: Scrape(d).value("runnerd_pool_ready_vms", language=lang) >= 1, 120 * SLOW,
             "a ready %s clone" % lang)


def run(d, lang, code, name=None, **fields):
    """Runs code in lang, asked for by name (an alias) if given."""
    wait_ready_vm(d, lang)
    return d.execute(name or lang, code, **fields)


def check_format(d):
    m = Scrape(d)
    assert m.status == 200, m.status
    assert m.content_type == CONTENT_TYPE, m.content_type
    assert m.text.endswith("\n"), m.text[-50:]
    helps = {line.split()[2] for line in m.text.splitlines() if line.startswith("# HELP ")}
    types = {line.split()[2]: line.split()[3] for line in m.text.splitlines() if line.startswith("# TYPE ")}
    assert helps == set(types), (helps, types)
    for line in m.text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            assert any(name == f or name.startswith(f + "_") for f in types), "sample without TYPE: " + line
    assert types["runnerd_requests_total"] == "counter", types
    for h in HISTOGRAMS:
        assert types[h] == "histogram", (h, types)
    for g in ("runnerd_pool_ready_vms", "runnerd_pool_restoring_vms", "runnerd_pool_busy_vms",
              "runnerd_pool_queued_requests", "runnerd_vmm_processes", "runnerd_vms", "runnerd_vms_max",
              "runnerd_in_flight", "runnerd_build_info"):
        assert types[g] == "gauge", (g, types)
    for c in ("runnerd_restores_total", "runnerd_restore_failures_total", "runnerd_vm_evictions_total"):
        assert types[c] == "counter", (c, types)
    # every name is runnerd's, counters end in _total, histograms in _seconds
    assert all(n.startswith("runnerd_") for n in types), types
    assert all(n.endswith("_total") for n, t in types.items() if t == "counter"), types
    assert all(n.endswith("_seconds") for n, t in types.items() if t == "histogram"), types

    head = Scrape(d, method="HEAD")
    assert head.status == 200 and head.content_type == CONTENT_TYPE, (head.status, head.content_type)
    assert head.text == "", head.text[:80]
    conn = UnixHTTPConnection(d.socket, 30 * SLOW)
    try:
        conn.request("DELETE", "/metrics")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 405 and resp.getheader("Allow") == "GET, HEAD", resp.status
    finally:
        conn.close()


def check_start(d):
    m = Scrape(d)
    status, health = d.get("/health")
    infos = [(dict(k[1]), v) for k, v in m.samples.items() if k[0] == "runnerd_build_info"]
    assert infos == [({"version": health["version"], "accel": health["accel"]}, 1.0)], infos
    assert m.label_values("language") == set(LANGS), m.label_values("language")
    for lang in LANGS:
        for st in STATUSES:
            assert m.requests(lang, st) == 0, (lang, st)
        for h in HISTOGRAMS:
            buckets, total, count = m.histogram(h, lang)
            assert count == 0 and total == 0 and buckets[-1] == (float("inf"), 0), (h, lang, buckets)
            assert len(buckets) == 17, buckets
        assert m.value("runnerd_pool_ready_vms", language=lang) >= 1, lang
        assert m.value("runnerd_pool_queued_requests", language=lang) == 0, lang
        assert m.value("runnerd_pool_busy_vms", language=lang) == 0, lang
        assert m.value("runnerd_pool_restoring_vms", language=lang) >= 0, lang
        assert m.value("runnerd_restores_total", language=lang) >= 1, lang
        assert m.value("runnerd_restore_failures_total", language=lang) == 0, lang
    assert m.value("runnerd_vms_max") == 8, m.value("runnerd_vms_max")
    assert 2 <= m.value("runnerd_vms") <= 8, m.value("runnerd_vms")
    assert m.value("runnerd_vmm_processes") >= m.value("runnerd_vms"), m.text
    assert m.value("runnerd_in_flight") == 0
    assert m.value("runnerd_vm_evictions_total") == 0


def check_histograms_sane(m, lang):
    for h in HISTOGRAMS:
        buckets, total, count = m.histogram(h, lang)
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), (h, lang, buckets)
        assert buckets[-1][0] == float("inf") and buckets[-1][1] == count, (h, lang, buckets, count)
        assert total >= 0, (h, lang, total)


def check_runs_counted(d):
    before = Scrape(d)
    answers = [
        ("python", run(d, "python", "print('hello')")),
        ("python", run(d, "python", name="py", code="import sys\nprint('bye')\nsys.exit(3)")),  # an alias
        ("python", run(d, "python", "while True:\n    pass\n", timeout=1)),
        ("bash", run(d, "bash", "echo hello")),
    ]
    assert answers[0][1]["status"] == "success", answers[0]
    assert answers[1][1]["status"] == "success" and answers[1][1]["exit_code"] == 3, answers[1]
    assert answers[2][1]["status"] == "timeout", answers[2]
    assert answers[3][1]["status"] == "success", answers[3]
    after = Scrape(d)

    def delta(lang, st):
        return after.requests(lang, st) - before.requests(lang, st)

    assert delta("python", "success") == 2, delta("python", "success")
    assert delta("python", "timeout") == 1, delta("python", "timeout")
    assert delta("bash", "success") == 1, delta("bash", "success")
    for lang in LANGS:
        for st in STATUSES:
            if (lang, st) not in (("python", "success"), ("python", "timeout"), ("bash", "success")):
                assert delta(lang, st) == 0, (lang, st, delta(lang, st))
    assert "py" not in after.label_values("language"), after.label_values("language")
    for lang in LANGS:
        mine = [a for l, a in answers if l == lang]
        for h in HISTOGRAMS:
            _, s0, c0 = before.histogram(h, lang)
            _, s1, c1 = after.histogram(h, lang)
            assert c1 - c0 == len(mine), (h, lang, c0, c1)
            assert s1 >= s0, (h, lang, s0, s1)
        check_histograms_sane(after, lang)
        # the run step's wall time is the answers' exec_time_ms, to the ms
        _, s0, _ = before.histogram("runnerd_program_seconds", lang)
        _, s1, _ = after.histogram("runnerd_program_seconds", lang)
        want = sum(a["exec_time_ms"] for a in mine) / 1000.0
        assert abs((s1 - s0) - want) < 1e-6, (lang, s1 - s0, want)
        # end to end: timings.total_ms (rounded to the µs in the answer)
        _, s0, _ = before.histogram("runnerd_request_seconds", lang)
        _, s1, _ = after.histogram("runnerd_request_seconds", lang)
        want = sum(a["timings"]["total_ms"] for a in mine) / 1000.0
        assert abs((s1 - s0) - want) < 0.001 * len(mine), (lang, s1 - s0, want)
    # the timed-out run took its 1 s limit: it is above the 0.5 s bucket
    def over_half_second(m):
        return m.value("runnerd_program_seconds_count", language="python") - \
            m.value("runnerd_program_seconds_bucket", language="python", le="0.5")

    assert over_half_second(after) - over_half_second(before) >= 1, after.histogram("runnerd_program_seconds", "python")
    log("after the runs:\n" + "\n".join(l for l in after.text.splitlines()
                                        if l.startswith(("runnerd_requests_total{language=\"python\"",
                                                         "runnerd_program_seconds_count", "runnerd_vms"))))


def check_unknown_language(d):
    status, body = d.request("POST", "/api/v1/execute", {"language": "nosuchlang", "code": "x"})
    assert status == 404, (status, body)
    m = Scrape(d)
    assert "nosuchlang" not in m.text, "an unknown language made a label"
    assert m.label_values("language") == set(LANGS), m.label_values("language")


def check_rejected(d):
    """With --queue-max 0 and one clone, a burst finds the clone taken and
    no queue: the pool refuses the rest with 429 (a restore takes far longer
    than the burst)."""
    wait_ready_vm(d, "bash")
    before = Scrape(d)
    codes = []
    barrier = threading.Barrier(4)

    def one():
        barrier.wait()
        status, _ = d.request("POST", "/api/v1/execute", {"language": "bash", "code": "sleep 1; echo done"})
        codes.append(status)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = Scrape(d)
    assert set(codes) <= {200, 429} and codes.count(429) >= 1, codes
    rejected = after.requests("bash", "rejected") - before.requests("bash", "rejected")
    assert rejected == codes.count(429), (rejected, codes)
    assert after.requests("bash", "success") - before.requests("bash", "success") == codes.count(200), codes
    log("burst of 4: %s; rejected counted %d" % (sorted(codes), rejected))


def check_cancelled(d):
    wait_ready_vm(d, "bash")
    before = Scrape(d)
    body = '{"language": "bash", "code": "sleep 30"}'
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.socket)
    s.sendall(("POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" %
               (len(body), body)).encode())
    wait_for(lambda: Scrape(d).value("runnerd_in_flight") == 1, 60 * SLOW, "the run in flight")
    m = wait_for(lambda: (lambda m: m if m.value("runnerd_pool_busy_vms", language="bash") == 1 else None)(Scrape(d)),
                 60 * SLOW, "a busy bash clone")
    assert m.value("runnerd_in_flight") == 1
    s.close()
    after = wait_for(lambda: (lambda m: m if m.requests("bash", "cancelled") > before.requests("bash", "cancelled")
                              else None)(Scrape(d)), 30 * SLOW, "the cancel counted")
    assert after.requests("bash", "cancelled") - before.requests("bash", "cancelled") == 1
    assert after.value("runnerd_in_flight") == 0, after.value("runnerd_in_flight")
    # a cancelled run has no result: no histogram moved for it
    for h in HISTOGRAMS:
        assert after.histogram(h, "bash")[2] == before.histogram(h, "bash")[2], h


def main():
    c = Checks()
    with Daemon(languages=LANGS, pool_size=1, extra=("--queue-max", "0", "--max-vms", "8")) as d:
        c.run("format: content type, HELP and TYPE, names, HEAD, 405", check_format, d)
        c.run("at start: build_info, gauges, every series at 0", check_start, d)
        c.run("runs counted by language and status, histograms move", check_runs_counted, d)
        c.run("an unknown language makes no label", check_unknown_language, d)
        c.run("429s counted as rejected", check_rejected, d)
        c.run("a client that leaves counts as cancelled", check_cancelled, d)
    c.exit()


if __name__ == "__main__":
    main()
