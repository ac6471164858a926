#!/usr/bin/env python3
"""A webhook receiver for scepgate's tests (docs/webhooks.md).

Checks every request's X-Scepgate-Signature ("sha256=" + hex
HMAC-SHA256 of the secret over timestamp + "." + body) and its
X-Scepgate-Timestamp (within --skew seconds of now); a bad one gets 401.

POST /check (challenge validation) decides by the challenge's prefix:
  ok-...         {"allow": true}
  acct-NAME-...  {"allow": true, "account": "NAME"}
  slow-...       sleeps --slow seconds, then {"allow": true}
  anything else  {"allow": false, "reason": "unknown device"}
POST /events (notifications) answers --notify-status (default 200).

Every request is appended to --log as one JSON line: path, whether the
signature was good, the signature headers and the decoded body.
Prints the port it listens on to stdout (or writes it to --port-file).
"""
import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()


def secret():
    with open(ARGS.secret_file, "rb") as f:
        return f.read().strip()


def log(entry):
    with LOCK, open(ARGS.log, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def verify(ts, sig, body):
    """True when the timestamp is fresh and the signature is ours."""
    try:
        if abs(time.time() - int(ts)) > ARGS.skew:
            return False
    except (TypeError, ValueError):
        return False
    want = "sha256=" + hmac.new(secret(), ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, sig or "")


def decide(req):
    chal = req.get("challenge", "")
    if chal.startswith("ok-"):
        return {"allow": True}
    if chal.startswith("acct-"):
        return {"allow": True, "account": chal.split("-")[1]}
    if chal.startswith("slow-"):
        time.sleep(ARGS.slow)
        return {"allow": True}
    return {"allow": False, "reason": "unknown device"}


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (its timeout)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ts = self.headers.get("X-Scepgate-Timestamp")
        sig = self.headers.get("X-Scepgate-Signature")
        good = verify(ts, sig, body)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        log({"path": self.path, "valid": good, "timestamp": ts,
             "signature": sig,
             "event_id": self.headers.get("X-Scepgate-Event-Id"),
             "body": doc})
        if not good:
            self.answer(401, {"error": "bad signature"})
        elif self.path == "/check" and isinstance(doc, dict):
            self.answer(200, decide(doc))
        elif self.path == "/events":
            self.answer(ARGS.notify_status, {})
        else:
            self.answer(404, {"error": "no such path"})

    def log_message(self, fmt, *args):
        pass


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--secret-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--slow", type=float, default=10)
    p.add_argument("--skew", type=int, default=300)
    p.add_argument("--notify-status", type=int, default=200)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    port = str(srv.server_address[1])
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(port + "\n")
        os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    else:
        print(port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
