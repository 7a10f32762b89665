#!/usr/bin/env python3
"""Measures the kill switch: POST /api/halt until a control subscriber hears `halted: true`.

    python3 scripts/halt_latency.py URL CONTROL_ENDPOINT [ROUNDS=50] [KEY_DIR]

With KEY_DIR (a `tradectl keys generate` set) it subscribes with the observer key over CURVE.
Each round halts, waits for the halted state on the channel, then resumes and waits for the
resumed state. Prints one line: `HALT rounds p50_ms p99_ms max_ms`.

The clock starts when the request is handed to an HTTP connection already open (keep-alive) and
stops when the subscriber receives the halted state, on one thread: what is measured is the
system's path (HTTP parse, broadcast, ZeroMQ, CURVE), not the client's connection setup or a
hand-over between client threads.
"""
import json
import os
import socket
import sys
import time
import urllib.parse

import zmq


class Client:
    """One kept-alive HTTP/1.1 connection to the gateway. A request is written with one send, as
    curl writes a small request: http.client writes the headers and the body separately, and the
    gateway would then wait a second segment before it can act."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host = "%s:%d" % (parts.hostname, parts.port or 80)
        self.socket = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.socket.makefile("rb")
        token = os.environ.get("API_TOKEN")
        self.authorization = ("Authorization: Bearer %s\r\n" % token) if token else ""

    def send(self, path, body):
        payload = json.dumps(body).encode()
        head = "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n" % (
            path, self.host, self.authorization, len(payload))
        self.socket.sendall(head.encode() + payload)

    def finish(self):
        status_line = self.reader.readline().decode()
        length = 0
        while True:
            line = self.reader.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.reader.read(length)
        status = int(status_line.split()[1])
        if status >= 300:
            raise SystemExit("%s answered %d" % (status_line.strip(), status))


def wait_for(subscriber, halted, reason=None, timeout=5.0):
    """The time a control state with `halted` (and `reason`) arrives."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not subscriber.poll(int(remaining * 1000) + 1):
            raise SystemExit("no control state with halted=%s within %.0f s" % (halted, timeout))
        _, body = subscriber.recv_multipart()
        at = time.monotonic()
        state = json.loads(body)
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
    wait_for(subscriber, False)
    client = Client(url)
    latencies = []
    for round_number in range(rounds):
        reason = "latency round %d" % round_number
        started = time.monotonic()
        client.send("/api/halt", {"reason": reason, "requestedBy": "bench"})
        latencies.append((wait_for(subscriber, True, reason) - started) * 1000)
        client.finish()
        client.send("/api/resume", {"requestedBy": "bench"})
        client.finish()
        wait_for(subscriber, False)
    print("HALT %d %.2f %.2f %.2f" % (rounds, percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies)))


if __name__ == "__main__":
    main()
