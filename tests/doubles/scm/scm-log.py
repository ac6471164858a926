#!/usr/bin/env python3
"""Print scm-double's request log (GET /__test/log) as HTTP exchanges.

usage: scm-log.py [FILE|URL] [--full]

FILE is a saved log (SCM_EXAMPLE of tests/integration/test_scm.sh), URL
the double's base URL (e.g. http://127.0.0.1:8443); default: stdin.
Secrets are already redacted by the double. Without --full, long base64
lines are shortened and the double's own /__test calls are left out.
"""
import json
import re
import sys
import urllib.request

REASONS = {200: "OK", 204: "No Content", 400: "Bad Request",
           401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
           500: "Internal Server Error", 503: "Service Unavailable"}
# Request headers worth showing (the rest is curl's own).
SHOW = ("login", "password", "customerUri", "Authorization", "Content-Type")


def shorten(text):
    """Keep the first and last line of each base64 block."""
    out, block = [], []
    for line in text.split("\n"):
        if re.fullmatch(r"[A-Za-z0-9+/=]{40,}", line):
            block.append(line)
            continue
        if block:
            out.append(block[0][:24] + "..." if len(block) > 1 else block[0])
            block = []
        out.append(line)
    return "\n".join(out)


def body_text(b, full):
    if isinstance(b, dict):
        return "(binary, base64) " + b.get("base64", "")[:48] + "..."
    if not full:
        try:
            j = json.loads(b)
            if isinstance(j, dict) and "csr" in j:
                j["csr"] = shorten(j["csr"])
                b = json.dumps(j, separators=(",", ":"))
        except ValueError:
            b = shorten(b)
    return b


def main():
    args = [a for a in sys.argv[1:] if a != "--full"]
    full = "--full" in sys.argv[1:]
    if args and args[0].startswith("http"):
        with urllib.request.urlopen(args[0].rstrip("/") + "/__test/log") as r:
            log = json.load(r)
    elif args:
        with open(args[0]) as f:
            log = json.load(f)
    else:
        log = json.load(sys.stdin)
    for e in log:
        if e["path"].startswith("/__test") and not full:
            continue
        print("```http")
        print(f'{e["method"]} {e["path"]} HTTP/1.1')
        for k in SHOW:
            if k in e["headers"]:
                print(f"{k}: {e['headers'][k]}")
        if e["body"]:
            print()
            print(body_text(e["body"], full))
        print()
        if e["status"] == 0:
            print("(connection closed without an answer)")
        else:
            print(f'HTTP/1.1 {e["status"]} {REASONS.get(e["status"], "")}')
            for k, v in e["response_headers"].items():
                print(f"{k}: {v}")
            if e["response"]:
                print()
                print(body_text(e["response"], full))
        print("```")
        print()


if __name__ == "__main__":
    main()
