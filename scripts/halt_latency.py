#!/usr/bin/env python3
"""Measures the kill switch: POST /api/halt until a control subscriber hears `halted: true`.

    python3 scripts/halt_latency.py URL CONTROL_ENDPOINT [ROUNDS=50] [KEY_DIR]

With KEY_DIR (a `tradectl keys generate` set) it subscribes with the observer key over CURVE.
Each round halts, waits for the halted state on the channel, then resumes and waits for the
resumed state. Prints one line: `HALT rounds p50_ms p99_ms max_ms`.
"""
import json
import os
import queue
import sys
import threading
import time
import urllib.request

import zmq


def post(url, path, body):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    token = os.environ.get("API_TOKEN")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


class Listener(threading.Thread):
    """Receives the control channel on its own thread, stamping each state when it arrives."""

    def __init__(self, subscriber):
        super().__init__(daemon=True)
        self.subscriber = subscriber
        self.heard = queue.Queue()

    def run(self):
        while True:
            _, body = self.subscriber.recv_multipart()
            self.heard.put((time.monotonic(), json.loads(body)))

    def wait_for(self, halted, reason=None, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                at, state = self.heard.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit("no control state with halted=%s within %.0f s" % (halted, timeout))
            if state.get("halted") == halted and (reason is None or state.get("haltReason") == reason):
                return at


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    url, endpoint = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    key_dir = sys.argv[4] if len(sys.argv) > 4 else None
    subscriber = zmq.Context().socket(zmq.SUB)
    subscriber.linger = 0
    if key_dir:
        with open(os.path.join(key_dir, "observer.key"), "rb") as handle:
            secret = handle.read().strip()
        with open(os.path.join(key_dir, "gateway.pub"), "rb") as handle:
            subscriber.curve_serverkey = handle.read().strip()
        subscriber.curve_secretkey = secret
        subscriber.curve_publickey = zmq.curve_public(secret)
    subscriber.setsockopt(zmq.SUBSCRIBE, b"control")
    subscriber.connect(endpoint)
    listener = Listener(subscriber)
    listener.start()
    listener.wait_for(False)
    latencies = []
    for round_number in range(rounds):
        reason = "latency round %d" % round_number
        started = time.monotonic()
        post(url, "/api/halt", {"reason": reason, "requestedBy": "bench"})
        latencies.append((listener.wait_for(True, reason) - started) * 1000)
        post(url, "/api/resume", {"requestedBy": "bench"})
        listener.wait_for(False)
    print("HALT %d %.2f %.2f %.2f" % (rounds, percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies)))


if __name__ == "__main__":
    main()
