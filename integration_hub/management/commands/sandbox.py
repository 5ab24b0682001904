"""Run a vendor API emulator in the foreground: `manage.py sandbox --vendor hubspot --seed demo`."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base import RateLimit
from connectors.sandbox import DEFAULT_TOKEN, EMULATORS, serve


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
        faults: dict[str, Any] = {"error_rate": options["error_rate"], "latency_ms": options["latency_ms"]}
        if options["rate_limit"]:
            try:
                limit = RateLimit.parse(options["rate_limit"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            faults["rate_limit"] = {"requests": limit.requests, "per_seconds": limit.per_seconds}

        def announce(message: str) -> None:
            self.stdout.write(message)
            self.stdout.flush()

        try:
            serve(options["vendor"], host=options["host"], port=options["port"], token=options["token"],
                  seed=options["seed"], state_file=options["state"], faults=faults, announce=announce)
        except OSError as exc:
            raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc}") from exc
