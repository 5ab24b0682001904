"""The sync engine's pure parts: the three-way field merge (``merge``)."""
