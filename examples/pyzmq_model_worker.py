#!/usr/bin/env python3
"""A model worker in Python: MDP/0.1 (ZeroMQ RFC 7) on a pyzmq DEALER, with its own CURVE key.

Any process can serve a model id this way. It needs a key pair admitted by the gateway with the
`model` role (`tradectl keys add DIR model NAME` makes one and appends it to DIR/authorized_keys;
restart the gateway to admit it) and the gateway's public key:

    CURVE_SECRET_KEY_FILE=DIR/NAME.key CURVE_SERVER_KEY_FILE=DIR/gateway.pub \
    BROKER_ENDPOINT=tcp://127.0.0.1:5555 MODEL_ID=py python3 examples/pyzmq_model_worker.py

It answers every `predict` with a probability from the RSI feature. Without CURVE variables it
connects in the clear (the gateway admits that only in paper mode on loopback).
"""
import json
import os
import signal
import time

import zmq

HEADER = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"


def read_key(name):
    path = os.environ.get(name + "_FILE")
    if path:
        with open(path, "rb") as handle:
            return handle.read().strip()
    value = os.environ.get(name)
    return value.encode() if value else None


def predict(model_id, body):
    request = json.loads(body)
    if request.get("op") != "predict":
        return {"v": 1, "error": {"code": "unknown_operation", "detail": request.get("op", ""), "status": 502}}
    rsi = request["payload"]["features"]["rsi_14"]
    probability = min(1.0, max(0.0, rsi / 100.0))
    return {"v": 1, "result": {"modelId": model_id, "version": "pyzmq-1", "probabilityUp": probability}}


def main():
    # A parent may have blocked these (some runtimes block signals in their threads); a worker
    # must still stop on SIGTERM.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    model_id = os.environ.get("MODEL_ID", "py")
    service = ("model." + model_id).encode()
    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.linger = 0
    secret, server = read_key("CURVE_SECRET_KEY"), read_key("CURVE_SERVER_KEY")
    if secret and server:
        dealer.curve_secretkey = secret
        dealer.curve_publickey = zmq.curve_public(secret)
        dealer.curve_serverkey = server
    dealer.connect(os.environ.get("BROKER_ENDPOINT", "tcp://127.0.0.1:5555"))
    dealer.send_multipart([b"", HEADER, READY, service])
    print(json.dumps({"level": "INFO", "msg": "python worker started", "service": service.decode()}), flush=True)
    interval = int(os.environ.get("HEARTBEAT_INTERVAL_MS", "1000")) / 1000.0
    next_heartbeat = time.monotonic() + interval
    try:
        while True:
            if dealer.poll(timeout=int(interval * 500)):
                frames = dealer.recv_multipart()
                command = frames[2] if len(frames) > 2 else b""
                if command == REQUEST:
                    client, bodies = frames[3], frames[5:]
                    replies = [json.dumps(predict(model_id, body)).encode() for body in bodies]
                    dealer.send_multipart([b"", HEADER, REPLY, client, b""] + replies)
                elif command == DISCONNECT:
                    time.sleep(interval)
                    dealer.send_multipart([b"", HEADER, READY, service])
            if time.monotonic() >= next_heartbeat:
                dealer.send_multipart([b"", HEADER, HEARTBEAT])
                next_heartbeat = time.monotonic() + interval
    except KeyboardInterrupt:
        dealer.send_multipart([b"", HEADER, DISCONNECT])


if __name__ == "__main__":
    main()
