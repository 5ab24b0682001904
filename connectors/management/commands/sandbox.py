"""Run a vendor API emulator in the foreground: `manage.py sandbox --vendor hubspot --seed demo`."""
from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import RateLimit
from connectors.sandbox import DEFAULT_PORTS, DEFAULT_TOKEN, EMULATORS, create_emulator
from connectors.sandbox.server import serve_in_background


class Command(BaseCommand):
    help = "Serve a sandbox emulator of a vendor API on localhost until Ctrl-C or SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vendor", required=True, choices=sorted(EMULATORS))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, help="default: 8101 hubspot, 8102 netsuite; 0 = any free port")
        parser.add_argument("--token", default=DEFAULT_TOKEN, help="the accepted bearer token")
        parser.add_argument("--seed", help="load a data preset (e.g. demo) unless the state file has data")
        parser.add_argument("--state", help="JSON file to load on start and save writes to")
        parser.add_argument("--rate-limit", help="N/SECONDS, e.g. 100/10: beyond it answer 429 + Retry-After")
        parser.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500/503")
        parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every request")

    def handle(self, *args: Any, **options: Any) -> None:
        vendor = options["vendor"]
        faults: dict[str, Any] = {"error_rate": options["error_rate"], "latency_ms": options["latency_ms"]}
        if options["rate_limit"]:
            try:
                limit = RateLimit.parse(options["rate_limit"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            faults["rate_limit"] = {"requests": limit.requests, "per_seconds": limit.per_seconds}
        port = options["port"] if options["port"] is not None else DEFAULT_PORTS.get(vendor, 0)
        emulator = create_emulator(vendor, token=options["token"], seed=options["seed"],
                                   state_file=options["state"], faults=faults)
        try:
            running = serve_in_background(emulator, options["host"], port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{port}: {exc}") from exc

        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"{vendor} sandbox listening on {running.url} (token {options['token']!r})")
        self.stdout.flush()
        stop.wait()
        running.stop()
        self.stdout.write(f"{vendor} sandbox stopped")
