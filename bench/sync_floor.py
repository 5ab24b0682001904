"""The database's share of an initial sync, alone: what PostgreSQL spends storing the rows one synced record
needs (the golden record, its history, both links with their history, the outbound change, the sync event,
the match and blocking keys), with no engine and no vendor in the way.

It copies the rows an earlier `bench/sync.py` run wrote for `--records` golden records out of that database,
then COPYs them into empty copies of the same tables (same indexes and constraints, in a scratch schema), and
measures the CPU of the PostgreSQL process that stores them. The sum is a floor for the sync's database cost:
the real sync also reads, looks up, updates and commits. PostgreSQL must run on this machine (its process is
measured through /proc).

Run: BENCH_DATABASE_URL=postgres://…/bench_full .venv/bin/python bench/sync_floor.py [--records 20000]
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import psycopg

# (table, how its rows belong to the sample of records "r") -- the rows one synced record needs.
TABLES = [
    ("hub_record", "id IN (SELECT id FROM r)"),
    ("hub_historicalrecord", "id IN (SELECT id FROM r)"),
    ("hub_recordlink", "record_id IN (SELECT id FROM r)"),
    ("hub_historicalrecordlink", "record_id IN (SELECT id FROM r)"),
    ("hub_outboundchange", "record_id IN (SELECT id FROM r)"),
    ("hub_syncevent", "record_id IN (SELECT id FROM r)"),
    ("hub_matchkey", "record_id IN (SELECT id FROM r)"),
    ("duplicates_blockingkey", "record_id IN (SELECT id FROM r)"),
]


def backend_cpu(connection) -> float:
    pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        sys.exit("BENCH_DATABASE_URL: the database of an earlier bench/sync.py run")
    with psycopg.connect(url, autocommit=True) as source, psycopg.connect(url, autocommit=True) as target:
        source.execute("CREATE TEMP TABLE r AS SELECT id FROM hub_record WHERE entity_type = 'account' "
                       "ORDER BY id LIMIT %s", [args.records])
        records = source.execute("SELECT count(*) FROM r").fetchone()[0]
        if not records:
            sys.exit("no synced accounts in that database: run bench/sync.py against it first")
        dumps = {}
        for table, belongs in TABLES:
            buffer = io.BytesIO()
            with source.cursor().copy(f"COPY (SELECT * FROM {table} WHERE {belongs}) TO STDOUT") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            dumps[table] = buffer.getvalue()
        target.execute("DROP SCHEMA IF EXISTS sync_floor CASCADE; CREATE SCHEMA sync_floor")
        for table, _ in TABLES:
            target.execute(f"CREATE TABLE sync_floor.{table} (LIKE public.{table} INCLUDING ALL)")
        total = 0.0
        for table, _ in TABLES:
            before = backend_cpu(target)
            with target.transaction(), target.cursor().copy(f"COPY sync_floor.{table} FROM STDIN") as copy:
                copy.write(dumps[table])
            cpu = backend_cpu(target) - before
            total += cpu
            rows = dumps[table].count(b"\n")
            print(f"  {table}: {rows / records:.1f} rows per record, {cpu / records * 1e6:.0f} µs per record")
        target.execute("DROP SCHEMA sync_floor CASCADE")
    print(f"figure: sync_floor_database = {total / records * 1000:.3f} ms/record (PostgreSQL's CPU to store the "
          f"rows of {records} synced records, nothing else)")


if __name__ == "__main__":
    main()
