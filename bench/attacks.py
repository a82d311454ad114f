"""The open-web attacks of docs/security.md, measured against kg serve with its defaults.

    python bench/attacks.py [--seconds 30]

Starts ``kg serve`` on 127.0.0.1 with the default limits and, one after another:

1. *fair share*: two client addresses (told apart by X-Forwarded-For, trusted from
   127.0.0.1 as behind a proxy) loop the heaviest query they can, a four-way cartesian
   COUNT, while a third asks a cheap query that is new each time (so the answer cache
   cannot help) every 100 ms: its median and worst time, and its non-200 answers;
2. *held connections*: one address (127.0.0.2) opens 300 connections and holds them while
   another (127.0.0.3) asks 50 queries: their answers;
3. *a 4 MB header*: one request with a 4 MB Accept header while /health is asked every
   5 ms: the answer to it, and the worst /health time.

Prints a Markdown table (the figures of docs/security.md). Every loop is bounded in
count and time, every address is on this machine, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import BIN, ROOT, free_port, started

HEAVY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def fair_share(url: str, seconds: float) -> dict:
    stop = threading.Event()
    attacker: list[int] = []

    def attack(address: str) -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"X-Forwarded-For": address}) as c:
            while not stop.is_set():
                attacker.append(c.post("/sparql", data={"query": HEAVY}).status_code)

    times, statuses = [], []
    with ThreadPoolExecutor(2) as pool:
        for address in ("203.0.113.31", "203.0.113.32"):
            pool.submit(attack, address)
        time.sleep(1)
        with httpx.Client(base_url=url, timeout=60,
                          headers={"X-Forwarded-For": "198.51.100.31"}) as c:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                start = time.monotonic()
                r = c.get("/sparql", params={"query": f"ASK {{ BIND({len(times)} AS ?n) }}"})
                times.append(time.monotonic() - start)
                statuses.append(r.status_code)
                time.sleep(0.1)
        stop.set()
    return {"queries": len(times), "median": statistics.median(times), "worst": max(times),
            "not_200": sum(s != 200 for s in statuses),
            "attacker": {s: attacker.count(s) for s in sorted(set(attacker))}}  # fmt: skip


def held_connections(url: str) -> dict:
    port = int(url.rsplit(":", 1)[1])
    held, refused = [], 0
    for _ in range(300):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=2,
                                                 source_address=("127.0.0.2", 0)))
        except OSError:
            refused += 1
    try:
        transport = httpx.HTTPTransport(local_address="127.0.0.3")
        with httpx.Client(base_url=url, timeout=30, transport=transport) as c:
            statuses = [c.get("/sparql", params={"query": f"ASK {{ BIND({i} AS ?n) }}"})
                        .status_code for i in range(50)]  # fmt: skip
    finally:
        for s in held:
            s.close()
    return {"opened": len(held), "others_200": statuses.count(200), "others": len(statuses)}


def huge_header(url: str) -> dict:
    port = int(url.rsplit(":", 1)[1])
    stop = threading.Event()
    health: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            while not stop.is_set():
                start = time.monotonic()
                c.get("/health")
                health.append(time.monotonic() - start)
                time.sleep(0.005)

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.3)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        with contextlib.suppress(OSError):
            s.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nAccept: "
                      + b",".join([b"*/*"] * (1 << 20)) + b"\r\n\r\n")
        answer = s.recv(100).split(b"\r\n")[0].decode()
    time.sleep(0.3)
    stop.set()
    thread.join()
    return {"answer": answer, "worst_health": max(health), "health_asked": len(health)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "kg"), "--root", str(ROOT), "serve", "--port", str(port)]
    with started(cmd, url + "/sparql", "ASK {}"):
        fair = fair_share(url, args.seconds)
        held = held_connections(url)
        header = huge_header(url)
    print("| attack (kg serve, default limits) | measured |")
    print("|---|---|")
    print(f"| two addresses loop a 4-way cartesian COUNT; a third asks a new cheap query "
          f"every 100 ms for {args.seconds:g} s | third client: median "
          f"{fair['median'] * 1000:.0f} ms, worst {fair['worst']:.2f} s, "
          f"{fair['not_200']} of {fair['queries']} not 200; attackers' answers "
          f"{fair['attacker']} |")
    print(f"| one address holds 300 connections (past --max-connections 256) | "
          f"{held['opened']} opened; another address: {held['others_200']} of "
          f"{held['others']} queries answered 200 |")
    print(f"| one GET with a 4 MB Accept header while /health is asked every 5 ms | "
          f"{header['answer']}; worst /health {header['worst_health'] * 1000:.0f} ms over "
          f"{header['health_asked']} |")


if __name__ == "__main__":
    main()
