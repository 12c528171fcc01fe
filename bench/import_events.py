"""Benchmark: import 10 million product usage events from CSV and from Parquet; print rows/s and peak RSS.

    .venv/bin/python bench/import_events.py [--rows 10000000] [--accounts 2000] [--seed 7]

Generates the files (seeded) in a temporary directory, builds a fresh data directory with the accounts, then runs each
import in its own process (``kizuna import events FILE`` through the service) so that each peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(folder: Path, *, rows: int, accounts: int, seed: int) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    csv_path, parquet_path = folder / "events.csv", folder / "events.parquet"
    events = np.array(["login", "view_dashboard", "create_report", "export_csv", "invite_user", "api_call"])
    features = np.array(["dashboard", "reports", "export", "admin", "api", "workflow"])
    start = np.datetime64("2024-01-01T00:00:00")
    span = 2 * 365 * 86400
    chunk = 1_000_000
    csv_writer = parquet_writer = None
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        account = rng.integers(1, accounts + 1, n)
        seconds = np.sort(rng.integers(0, span, n))
        stamps = (start + seconds.astype("timedelta64[s]")).astype(str)
        kind = rng.integers(0, len(events), n)
        table = pa.table(
            {
                "event_id": pa.array(np.char.add("ev-", np.arange(offset, offset + n).astype(str))),
                "account_external_id": pa.array(np.char.add("ACC-", account.astype(str))),
                "user_id": pa.array(np.char.add("U-", (account * 100 + rng.integers(0, 30, n)).astype(str))),
                "event_name": pa.array(events[kind]),
                "feature": pa.array(features[kind]),
                "timestamp": pa.array(np.char.replace(stamps, "T", " ")),  # naive, read in Asia/Tokyo
                "properties": pa.array(np.char.add('{"n":', np.char.add(rng.integers(0, 9, n).astype(str), "}"))),
            }
        )
        if csv_writer is None:
            csv_writer = pacsv.CSVWriter(str(csv_path), table.schema)
            parquet_writer = pq.ParquetWriter(str(parquet_path), table.schema, compression="zstd")
        csv_writer.write_table(table)
        assert parquet_writer is not None
        parquet_writer.write_table(table, row_group_size=250_000)
    assert csv_writer is not None and parquet_writer is not None
    csv_writer.close()
    parquet_writer.close()
    return csv_path, parquet_path


def setup_data_dir(data_dir: Path, accounts: int) -> None:
    from kizuna import models as m
    from kizuna.migrations import upgrade
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    settings = Settings(data_dir=data_dir)
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    rt = Runtime.open(settings)
    with rt.transaction() as session:
        session.add_all(m.Account(external_id=f"ACC-{i}", name=f"株式会社ベンチ{i}") for i in range(1, accounts + 1))
    rt.close()


def import_one(data_dir: Path, path: Path) -> None:
    """Run in a child process: import one file and print the summary as JSON."""
    from kizuna.imports.service import import_file
    from kizuna.runtime import Runtime
    from kizuna.settings import Settings

    rt = Runtime.open(Settings(data_dir=data_dir))
    started = time.perf_counter()
    with rt.transaction() as session:
        summary = import_file(session, entity="events", path=path, settings=rt.settings, actor="bench")
    seconds = time.perf_counter() - started
    rt.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "summary": summary.model_dump(exclude={"sample_rejections"}),
                "seconds": seconds,
                "peak_rss_mib": peak_kib / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--import-one", nargs=2, metavar=("DATA_DIR", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_one:
        import_one(Path(args.import_one[0]), Path(args.import_one[1]))
        return
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        csv_path, parquet_path = generate(folder, rows=args.rows, accounts=args.accounts, seed=args.seed)
        print(
            f"generated {args.rows:,} events in {time.perf_counter() - started:.1f} s: "
            f"CSV {csv_path.stat().st_size / 2**20:,.0f} MiB, Parquet {parquet_path.stat().st_size / 2**20:,.0f} MiB"
        )
        for label, path in (("CSV", csv_path), ("Parquet", parquet_path)):
            data_dir = folder / f"data-{label.lower()}"
            setup_data_dir(data_dir, args.accounts)
            out = subprocess.run(
                [sys.executable, __file__, "--import-one", str(data_dir), str(path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            summary = result["summary"]
            rows = summary["imported"] + summary["updated"] + summary["unchanged"]
            print(
                f"{label:8s} {rows:>12,} rows in {result['seconds']:7.1f} s = "
                f"{rows / result['seconds']:>10,.0f} rows/s, "
                f"peak RSS {result['peak_rss_mib']:,.0f} MiB, rejected {summary['rejected']:,}"
            )


if __name__ == "__main__":
    main()
