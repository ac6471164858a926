#!/usr/bin/env python3
"""Slow and idle HTTP clients for test_slow_clients.sh (loopback only).

  slowload.py hold --port P [--slow N] [--slow-body N] [--idle N]
      [--request PATH] [--source ADDR] [--duration S] [--ready FILE]
      [--full] [--report FILE] [--stop-file FILE]
    Holds N slow-header connections (one header byte a second, never
    finishing the headers), N slow-body ones (a POST whose body comes at
    one byte a second) and N idle ones (connected, silent; with --request
    each first sends one keep-alive GET and reads the answer).
    A connection the server closes is opened again after --retry seconds.
    Writes FILE (--ready) 2 s after the last connection was started (with
    --full: once every one is held; 25 s at most), and at the end (--duration, or --stop-file
    exists) a JSON report: held, opened, closed by the server, and the
    longest life of a slow connection of each kind.
  slowload.py probe --port P --path PATH [--source ADDR] [--count N]
      [--budget S]
    N sequential GETs, a new connection each; prints a JSON line with
    p50/p99/max in ms and the number of errors (timeout 2 s each; those
    not sent within --budget seconds count as errors too).
  slowload.py proxy --port P --listen-port Q [--source ADDR] [--duration S]
    Forwards 127.0.0.3:Q to 127.0.0.1:P from ADDR, so that a client that
    cannot choose its source address (scepclient) connects from ADDR.

Everything is bounded: counts by the arguments, time by --duration.
"""

import argparse
import asyncio
import json
import os
import socket
import sys
import time

HOST = "127.0.0.1"


KINDS = ("slow", "body", "idle")


class Stats:
    def __init__(self):
        self.held = dict.fromkeys(KINDS, 0)
        self.opened = dict.fromkeys(KINDS, 0)
        self.closed = dict.fromkeys(KINDS, 0)
        self.failed = dict.fromkeys(KINDS, 0)
        self.life_max = {"slow": 0.0, "body": 0.0}
        self.peak = 0
        self.errors = {}


def local_addr(args):
    """
    bind() before connect() cannot take a port in TIME_WAIT, connect()
    alone can (tcp_tw_reuse on loopback), so bind only for another source:
    reconnecting thousands of times would exhaust the ephemeral ports.
    """
    return None if args.source == HOST else (args.source, 0)


async def one(kind, args, stats, stop):
    """Keep one connection of this kind open until stop is set."""
    first = True
    while not stop.is_set():
        if not first:
            try:
                await asyncio.wait_for(stop.wait(), args.retry)
                break
            except asyncio.TimeoutError:
                pass
        first = False
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(HOST, args.port,
                                        local_addr=local_addr(args)), 5)
        except (OSError, asyncio.TimeoutError):
            stats.failed[kind] += 1
            continue
        start = time.monotonic()
        stats.opened[kind] += 1
        held = False
        try:
            await greet(kind, args, reader, writer)
            held = True
            stats.held[kind] += 1
            stats.peak = max(stats.peak, sum(stats.held.values()))
            await drive(kind, reader, writer, stop)
        except (OSError, asyncio.TimeoutError,
                asyncio.IncompleteReadError) as e:
            name = type(e).__name__
            stats.errors[name] = stats.errors.get(name, 0) + 1
        finally:
            writer.close()
        if held:
            stats.held[kind] -= 1
        if stop.is_set():
            break
        stats.closed[kind] += 1
        if held and kind != "idle":
            stats.life_max[kind] = max(stats.life_max[kind],
                                       time.monotonic() - start)


async def wait_eof(reader, stop):
    """Return when the server closes (or on stop)."""
    stopper = asyncio.ensure_future(stop.wait())
    reading = asyncio.ensure_future(reader.read(65536))
    try:
        while True:
            done, _ = await asyncio.wait(
                {stopper, reading}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done or reading.result() == b"":
                return
            reading = asyncio.ensure_future(reader.read(65536))
    finally:
        stopper.cancel()
        reading.cancel()


async def greet(kind, args, reader, writer):
    """Idle: the one request (--request), answered. Slow: a header start."""
    if kind == "idle":
        if args.request:
            writer.write(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                          % (args.request, HOST)).encode())
            await writer.drain()
            # Status line and headers; wait_eof() reads the small body.
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        return
    if kind == "body":
        writer.write(b"POST /scep/demo?operation=PKIOperation HTTP/1.1\r\n"
                     b"Host: " + HOST.encode() + b"\r\nContent-Type: "
                     b"application/x-pki-message\r\n"
                     b"Content-Length: 60000\r\n\r\n")
    else:
        writer.write(b"GET /scep/demo?operation=GetCACaps HTTP/1.1\r\n"
                     b"Host: " + HOST.encode() + b"\r\nX-Slow: ")
    await writer.drain()


async def drive(kind, reader, writer, stop):
    """Until the server closes: silence, or one byte a second."""
    if kind == "idle":
        await wait_eof(reader, stop)
        return
    eof = asyncio.ensure_future(wait_eof(reader, stop))
    try:
        while not eof.done():
            writer.write(b"a")
            await writer.drain()
            await asyncio.wait({eof}, timeout=1.0)
    finally:
        eof.cancel()


async def hold(args):
    stats = Stats()
    stop = asyncio.Event()
    tasks = []
    kinds = (["slow"] * args.slow + ["body"] * args.slow_body +
             ["idle"] * args.idle)
    # Ramp at --rate a second so that the listen backlog never overflows.
    for i, kind in enumerate(kinds):
        tasks.append(asyncio.ensure_future(one(kind, args, stats, stop)))
        if i % 100 == 99:
            await asyncio.sleep(100 / args.rate)
    # Ready 2 s after the last connection was started, or with --full
    # when every connection is held; after 25 s at most.
    ramp_start = time.monotonic()
    ramp_end = ramp_start + 25
    while time.monotonic() < ramp_end:
        if args.full and sum(stats.held.values()) >= len(kinds):
            break
        if not args.full and time.monotonic() > ramp_start + 2:
            break
        await asyncio.sleep(0.2)
    if args.ready:
        with open(args.ready, "w") as fp:
            json.dump({"held": stats.held, "ramp_s":
                       round(time.monotonic() - ramp_start, 1)}, fp)
    end = time.monotonic() + args.duration
    while time.monotonic() < end and not os.path.exists(args.stop_file):
        await asyncio.sleep(0.2)
    held = dict(stats.held)
    stop.set()
    await asyncio.wait(tasks, timeout=5)
    report = {"held_at_end": held, "peak": stats.peak,
              "opened": stats.opened, "closed_by_server": stats.closed,
              "failed": stats.failed, "errors": stats.errors,
              "life_max_s": {k: round(v, 2)
                             for k, v in stats.life_max.items()}}
    text = json.dumps(report)
    if args.report:
        with open(args.report, "w") as fp:
            fp.write(text + "\n")
    print(text)


def probe(args):
    times, errors = [], 0
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
           % (args.path, HOST)).encode()
    end = time.monotonic() + args.budget
    for _ in range(args.count):
        t0 = time.monotonic()
        if t0 > end:    # out of time: the rest count as errors
            errors += 1
            times.append(2000.0)
            continue
        try:
            with socket.create_connection((HOST, args.port), timeout=2,
                                          source_address=(args.source, 0)) as s:
                s.sendall(req)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            if not data.startswith(b"HTTP/1.1 200"):
                raise OSError("status: %r" % data[:40])
            times.append((time.monotonic() - t0) * 1000)
        except OSError:
            errors += 1
            times.append(2000.0)
        time.sleep(0.005)
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 1)
    print(json.dumps({"count": args.count, "errors": errors,
                      "p50_ms": pick(0.50), "p99_ms": pick(0.99),
                      "max_ms": round(times[-1], 1)}))


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def proxy(args):
    async def serve(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection(
                HOST, args.port, local_addr=local_addr(args))
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pipe(creader, swriter), pipe(sreader, cwriter))

    server = await asyncio.start_server(serve, "127.0.0.3", args.listen_port)
    async with server:
        await asyncio.sleep(args.duration)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["hold", "probe", "proxy"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--source", default="127.0.0.1")
    ap.add_argument("--slow", type=int, default=0)
    ap.add_argument("--slow-body", type=int, default=0)
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--request", default="")
    ap.add_argument("--retry", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=2000)
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--ready", default="")
    ap.add_argument("--report", default="")
    ap.add_argument("--stop-file", default="/nonexistent/stop")
    ap.add_argument("--path", default="/scep/demo?operation=GetCACaps")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--budget", type=float, default=20)
    ap.add_argument("--listen-port", type=int, default=0)
    args = ap.parse_args()
    if args.slow + args.slow_body + args.idle > 20000 or args.count > 10000:
        sys.exit("slowload.py: too many connections or requests")
    if args.duration > 300:
        sys.exit("slowload.py: --duration is at most 300 s")
    if args.mode == "probe":
        probe(args)
    elif args.mode == "hold":
        asyncio.run(hold(args))
    else:
        asyncio.run(proxy(args))


if __name__ == "__main__":
    main()
