"""Duplicate detection and merging: normalisation, blocking, scoring with evidence, the review queue,
merge with survivorship, undo, the data readiness report."""
