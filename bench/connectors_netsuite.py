"""NetSuite connector throughput against the sandbox emulator: pull and push records/s, connector CPU ms/record.

    .venv/bin/python -m bench.connectors_netsuite [--records 2000] [--page-size 1000] [--concurrency 5]
                                                  [--latency-ms 0] [--json]

The emulator runs in a child process so the CPU time measured here is the connector's alone (JSON, OAuth 1.0a
signing, HTTP client), not the fake vendor's. Pull = SuiteQL change pages + one record GET per id (NetSuite's REST
API has no bulk read); push = one PUT eid: upsert per record, `--concurrency` at a time (the account's limit).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Callable
from typing import Any

from connectors.netsuite import NetSuiteConnector
from connectors.sandbox.netsuite import DEMO_TBA


def _serve(records: int, concurrency: int, latency_ms: int, conn: Any, stop: Any) -> None:
    """Child process: an emulator holding `records` customers, serving until `stop` is set."""
    from connectors.sandbox import server, start_emulator

    # Without TCP_NODELAY each response with a body stalls ~40 ms (headers and body go out in two writes: Nagle +
    # delayed ACK), which would time the emulator's socket, not the connector. Drop once server.py sets it.
    server._Handler.disable_nagle_algorithm = True
    running = start_emulator("netsuite", faults={"concurrency_limit": concurrency, "latency_ms": latency_ms})
    emulator = running.emulator
    with running.store.lock:
        for i in range(records):
            emulator.put_seed("customer", {"companyName": f"Bench Customer {i}", "email": f"c{i}@bench.example",
                                           "phone": f"+1 555 {i:07d}", "creditLimit": 1000.0 + i,
                                           "externalId": f"BENCH-{i}", "isInactive": False})
    conn.send(running.url)
    stop.wait()
    running.stop()


def _measure(action: Callable[[], int]) -> dict[str, float]:
    """Run `action` (returns records handled); wall time, records/s and this process's CPU ms per record."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = action()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"records": count, "seconds": round(wall, 3), "records_per_s": round(count / wall, 1) if wall else 0.0,
            "cpu_ms_per_record": round(cpu * 1000 / count, 3) if count else 0.0}


def run(records: int = 2000, page_size: int = 1000, concurrency: int = 5, latency_ms: int = 0) -> dict[str, Any]:
    """Start the emulator, then time a full pull, a push of new records and a push of updates."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    stop = ctx.Event()
    process = ctx.Process(target=_serve, args=(records, concurrency, latency_ms, child, stop), daemon=True)
    process.start()
    try:
        url = parent.recv()
        connector = NetSuiteConnector(url, DEMO_TBA, concurrency=concurrency, rate_limit=None)

        def pull() -> int:
            return sum(len(page.records) for page in connector.changes("customer", None, page_size=page_size))

        def push(prefix: str) -> Callable[[], int]:
            def write() -> int:
                batch = [{"externalId": f"{prefix}-{i}", "companyName": f"Pushed {i}", "email": f"p{i}@bench.example",
                          "creditLimit": 500.0} for i in range(records)]
                results = connector.upsert_many("customer", batch, "externalId")
                failed = [r for r in results if not r.ok]
                if failed:
                    raise RuntimeError(f"{len(failed)} writes failed, first: {failed[0].error}")
                return len(results)
            return write

        figures = {"pull": _measure(pull), "push_create": _measure(push("NEW")),
                   "push_update": _measure(push("NEW"))}
        connector.close()
        return {"vendor": "netsuite", "records": records, "page_size": page_size, "concurrency": concurrency,
                "latency_ms": latency_ms, **figures}
    finally:
        stop.set()
        process.join(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=5, help="the account's concurrent-request limit")
    parser.add_argument("--latency-ms", type=int, default=0, help="latency the emulator adds to every request")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    result = run(args.records, args.page_size, args.concurrency, args.latency_ms)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"NetSuite sandbox: {args.records} customers, page size {args.page_size}, concurrency {args.concurrency}, "
          f"latency {args.latency_ms} ms")
    for name in ("pull", "push_create", "push_update"):
        f = result[name]
        print(f"  {name:<12} {f['records']:>6} records in {f['seconds']:>7.2f} s = {f['records_per_s']:>8.1f} "
              f"records/s, connector CPU {f['cpu_ms_per_record']:.3f} ms/record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
