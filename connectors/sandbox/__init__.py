"""Sandbox emulators of vendor APIs: real HTTP on localhost, the vendor's paths and payloads, fault knobs."""
from __future__ import annotations

import importlib
import signal
import threading
from collections.abc import Callable
from typing import Any

from connectors.sandbox.server import DEFAULT_TOKEN, Emulator, RunningEmulator, serve_in_background

# vendor -> "module:Class"; one line per emulator.
EMULATORS: dict[str, str] = {
    "hubspot": "connectors.sandbox.hubspot:HubSpotEmulator",
    "netsuite": "connectors.sandbox.netsuite:NetSuiteEmulator",
}

DEFAULT_PORTS: dict[str, int] = {"hubspot": 8101, "netsuite": 8102}


def emulator_class(vendor: str) -> type[Emulator]:
    """The emulator class for `vendor`; ValueError naming the known vendors otherwise."""
    try:
        module_name, _, class_name = EMULATORS[vendor].partition(":")
    except KeyError:
        raise ValueError(f"no sandbox emulator for {vendor!r}; available: {', '.join(sorted(EMULATORS))}") from None
    return getattr(importlib.import_module(module_name), class_name)


def create_emulator(vendor: str, *, token: str = DEFAULT_TOKEN, seed: str | None = None,
                    state_file: str | None = None, faults: dict[str, Any] | None = None) -> Emulator:
    """Build an emulator; `seed` loads a preset unless the state file already holds data."""
    emulator = emulator_class(vendor)(token=token, state_file=state_file, faults=faults)
    if seed and not emulator.store.table("_seeded"):
        with emulator.store.lock:
            emulator.seed(seed)
            emulator.store.table("_seeded")[seed] = True
            emulator.store.changed()
    return emulator


def start_emulator(vendor: str, port: int = 0, token: str = DEFAULT_TOKEN, seed: str | None = None,
                   state_file: str | None = None, *, host: str = "127.0.0.1",
                   faults: dict[str, Any] | None = None) -> RunningEmulator:
    """Serve a vendor emulator on a background thread (port 0 = a free port); call `.stop()` when done."""
    emulator = create_emulator(vendor, token=token, seed=seed, state_file=state_file, faults=faults)
    return serve_in_background(emulator, host, port)


def serve(vendor: str, *, host: str = "127.0.0.1", port: int | None = None, token: str = DEFAULT_TOKEN,
          seed: str | None = None, state_file: str | None = None, faults: dict[str, Any] | None = None,
          announce: Callable[[str], object] = print) -> None:
    """Serve an emulator in the foreground until SIGINT or SIGTERM (the CLI and the bench subprocess)."""
    emulator = create_emulator(vendor, token=token, seed=seed, state_file=state_file, faults=faults)
    running = serve_in_background(emulator, host, DEFAULT_PORTS.get(vendor, 0) if port is None else port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    announce(f"{vendor} sandbox listening on {running.url} (token {token!r})")
    stop.wait()
    running.stop()
    announce(f"{vendor} sandbox stopped")


__all__ = ["DEFAULT_PORTS", "DEFAULT_TOKEN", "EMULATORS", "Emulator", "RunningEmulator", "create_emulator",
           "emulator_class", "serve", "start_emulator"]
