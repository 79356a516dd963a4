#!/usr/bin/env python3
"""What unsigned requests cost the relay, and whether they delay others (SECURITY.md, issue 32 item 3).

Usage: hostile_requests.py RELAY_BINARY [--requests N]

Starts `webhook-relay dev` for its embedded Kafka broker, then `webhook-relay serve` with a GitHub
source (one HMAC secret) and a Standard Webhooks source with two whpk_ ed25519 public keys. Then:

1. CPU per MiB: N unsigned 5 MiB requests of each kind, one at a time, with the relay's CPU time
   (utime + stime from /proc) read before and after:
   - github: a wrong X-Hub-Signature-256 (one HMAC-SHA256 over the body);
   - standard-webhooks, 2 v1a entries: the most ed25519 checks allowed (2 entries x 2 keys);
   - standard-webhooks, 800 v1a entries: refused from the header (more than 8 entries).
2. Other connections: GET /healthz latency on its own connection, alone and while four
   connections send unsigned 5 MiB ed25519 requests back to back.

Prints one JSON object. Loopback only; every loop is bounded.
"""
import base64
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SIZE = 5 << 20
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_for(process, pattern, timeout=60):
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            time.sleep(0.05)
            continue
        seen += line
        match = re.search(pattern, seen)
        if match:
            return match
    raise RuntimeError(f"no {pattern!r} in: {seen[-2000:]}")


def ed25519_public_key():
    """A real ed25519 public key (a valid point), from openssl."""
    private = subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519"], capture_output=True, check=True).stdout
    public = subprocess.run(
        ["openssl", "pkey", "-pubout", "-outform", "DER"], input=private, capture_output=True, check=True
    ).stdout
    return public[-32:]


def post(port, path, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def main():
    binary = sys.argv[1]
    requests = int(sys.argv[sys.argv.index("--requests") + 1]) if "--requests" in sys.argv else 20
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    dev = subprocess.Popen(
        [binary, "dev", "--http-port", "0"], env=base_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    relay = None
    try:
        bootstrap = wait_for(dev, r"export RELAY_KAFKA_BOOTSTRAP_SERVERS=(\S+)").group(1)
        port = free_port()
        keys = [base64.b64encode(ed25519_public_key()).decode() for _ in range(2)]
        env = dict(base_env)
        env.update({
            "RELAY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "RELAY_HTTP_HOST": "127.0.0.1",
            "RELAY_HTTP_PORT": str(port),
            "RELAY_ADMIN_PORT": "0",
            "RELAY_BUFFER_PATH": tempfile.mkdtemp(prefix="hostile-bench-"),
            "RELAY_GITHUB_SECRETS": "hostile-bench-github-secret-000000",
            "RELAY_STANDARD_WEBHOOKS_SECRETS": ",".join("whpk_" + key for key in keys),
            "RELAY_LOG_LEVEL": "error",
        })
        relay = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the relay did not start")
            time.sleep(0.2)

        body = b'{"type":"x","pad":"' + b"x" * (SIZE - 22) + b'"}'
        now = str(int(time.time()))
        # Random R, and S below the group order (top byte 0): ed25519 hashes the whole body before it
        # can refuse such a signature, where a random S is refused at once.
        v1a = lambda count: " ".join(
            "v1a," + base64.b64encode(os.urandom(63) + b"\x00").decode() for _ in range(count)
        )
        kinds = {
            "github_hmac": ("/webhooks/github", {
                "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1",
                "X-Hub-Signature-256": "sha256=" + "0" * 64,
            }),
            "standard_webhooks_4_ed25519_checks": ("/webhooks/standard-webhooks", {
                "Content-Type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": now,
                "webhook-signature": v1a(2),
            }),
            "standard_webhooks_800_entries": ("/webhooks/standard-webhooks", {
                "Content-Type": "application/json", "webhook-id": "msg_1", "webhook-timestamp": now,
                "webhook-signature": v1a(800),
            }),
        }
        result = {"requests_per_kind": requests, "body_mib": SIZE >> 20}
        for name, (path, headers) in kinds.items():
            post(port, path, headers, body)  # warm-up
            before = cpu_seconds(relay.pid)
            statuses = [post(port, path, headers, body) for _ in range(requests)]
            spent = cpu_seconds(relay.pid) - before
            result[name] = {
                "statuses": sorted(set(statuses)),
                "cpu_ms_per_mib": round(spent * 1000 / (requests * (SIZE >> 20)), 2),
            }

        def health_latencies(count):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            samples = []
            for _ in range(count):
                started = time.perf_counter()
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                samples.append((time.perf_counter() - started) * 1000)
                time.sleep(0.005)
            conn.close()
            return samples

        def summary(samples):
            ordered = sorted(samples)
            return {"p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2)}

        result["healthz_alone"] = summary(health_latencies(400))
        stop = threading.Event()
        path, headers = kinds["standard_webhooks_4_ed25519_checks"]

        def flood():
            sent = 0
            while not stop.is_set() and sent < 2000:
                post(port, path, headers, body)
                sent += 1

        floods = [threading.Thread(target=flood) for _ in range(4)]
        for thread in floods:
            thread.start()
        time.sleep(0.5)
        result["healthz_during_flood"] = summary(health_latencies(400))
        stop.set()
        for thread in floods:
            thread.join()
        print(json.dumps(result))
    finally:
        for process in (relay, dev):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
