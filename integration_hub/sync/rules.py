"""A mapping's published rules, compiled once per run for the engine's hot path (mapping/compiled.py: the
readers below the sync compile them the same way)."""
from __future__ import annotations

from mapping.compiled import (
    LINE_ITEM_TARGET,
    SIDES,
    CompiledMapping,
    NothingPublished,
    compile_mapping,
)

__all__ = ["LINE_ITEM_TARGET", "SIDES", "CompiledMapping", "NothingPublished", "compile_mapping"]
