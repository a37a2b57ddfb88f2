"""Sync benchmarks (run with `make bench`); each prints figures and ratios against a same-run baseline.

Targets (the foundation issue):
- 100,000 contacts (~120,000 numbers) + 50,000 matters: requests no more than ceil(N/200) per resource
  plus one, peak memory under 250 MB, at least 5,000 records per second of local processing;
- under a rate limit: at most one 429 and within 10% of the pace the limit allows;
- an incremental sync after 100 changed records: at most 2 list requests per resource.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.cms.connect import build_client
from connector.sandbox import DEFAULT_TOKEN
from connector.settings import load_settings
from connector.store import make_engine, upgrade
from connector.sync.syncer import Syncer
from mappings import load_mapping
from tests.support.sandbox_process import control, sandbox_process

pytestmark = pytest.mark.bench

CONTACTS, MATTERS = 100_000, 50_000
# The baseline asks for exactly what the sync asks for.
FIELDS = {spec.path.lstrip("/"): str(spec.params["fields"]) for spec in load_mapping("clio").resources.values()}


def _env(base_url: str, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATTERLINE_")}
    env.update(
        MATTERLINE_DATABASE_URL=f"sqlite:///{db}",
        MATTERLINE_CMS_BASE_URL=base_url,
        MATTERLINE_CMS_ACCESS_TOKEN=DEFAULT_TOKEN,
    )
    return env


def _run_cli(env: dict[str, str], *args: str) -> tuple[dict[str, Any] | None, float, float, float]:
    """Run `matterline ARGS` as a child; return (JSON output, wall seconds, CPU seconds, peak RSS MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    data = json.loads(out) if out.strip().startswith(b"{") else None
    return data, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _raw_walk(base_url: str) -> tuple[float, int, int]:
    """Baseline: page through the same endpoints with bare requests + JSON parsing, storing nothing."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {DEFAULT_TOKEN}"
    started = time.perf_counter()
    records = pages = 0
    for path, fields in FIELDS.items():
        url: str | None = f"{base_url}/{path}"
        params: dict[str, Any] | None = {"fields": fields, "limit": 200}
        while url:
            body = session.get(url, params=params, timeout=60).json()
            pages += 1
            records += len(body["data"])
            url, params = body["meta"]["paging"].get("next"), None
    return time.perf_counter() - started, records, pages


def test_full_and_incremental_sync_of_a_large_firm(tmp_path: Path) -> None:
    with sandbox_process(CONTACTS, MATTERS, "--seed", "42") as base_url:
        env = _env(base_url, tmp_path / "bench.db")
        _run_cli(env, "init")
        fetch_seconds, records, pages = _raw_walk(base_url)
        report, wall, cpu, peak_mb = _run_cli(env, "sync", "--full", "--json")
        assert report is not None
        totals = {name: report[name]["fetched"] for name in ("clients", "matters", "relationships")}
        minimum = sum(math.ceil(n / 200) for n in totals.values())
        synced = sum(totals.values())
        local = max(wall - fetch_seconds, 1e-9)
        print()
        print(f"full sync: {totals} ({report['phones']}) in {wall:.1f}s wall, {cpu:.1f}s CPU, peak {peak_mb:.0f} MB")
        print(f"  baseline (bare page walk, same endpoints, no store): {fetch_seconds:.1f}s, {pages} pages")
        print(f"  requests: {report['requests']} (minimum {minimum}; allowed {minimum + 3})")
        print(
            f"  local processing: {synced / local:,.0f} records/s over the baseline; "
            f"{synced / cpu:,.0f} records per CPU-second of the sync process"
        )
        print(f"  ratio sync/baseline wall: {wall / fetch_seconds:.2f}")
        assert records == synced
        assert report["requests"] <= minimum + 3
        assert report["rate_limited"] == 0

        control(base_url, "touch", {"resource": "contacts", "count": 100})
        control(base_url, "touch", {"resource": "matters", "count": 100})
        before = control(base_url, "stats")
        incremental, inc_wall, _, _ = _run_cli(env, "sync", "--json")
        after = control(base_url, "stats")
        assert incremental is not None
        per_resource = {
            key: after["by_endpoint"].get(key, 0) - before["by_endpoint"].get(key, 0)
            for key in after["by_endpoint"]
            if key.startswith("GET ") and "/_sandbox" not in key
        }
        print(
            f"incremental after 100 changed contacts and 100 changed matters: "
            f"{incremental['clients']} / {incremental['matters']} in {inc_wall:.2f}s; "
            f"list requests {per_resource}"
        )
        assert incremental["clients"]["updated"] + incremental["clients"]["unchanged"] >= 100
        assert all(count <= 2 for count in per_resource.values())
    print(f"  bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _sync_in_process(base_url: str, db: Path, *, full: bool) -> tuple[dict[str, Any], float]:
    """A sync in this process, returning its report and the epoch time its first request could go."""
    settings = load_settings(
        {
            "MATTERLINE_DATABASE_URL": f"sqlite:///{db}",
            "MATTERLINE_CMS_BASE_URL": base_url,
            "MATTERLINE_CMS_ACCESS_TOKEN": DEFAULT_TOKEN,
        },
        env_file=None,
    )
    mapping = load_mapping("clio")
    engine = make_engine(settings.database_url)
    upgrade(engine)
    syncer = Syncer(engine, build_client(settings, mapping, engine), mapping, progress=False)
    started = time.time()
    report = syncer.run(full=full).to_json()
    engine.dispose()
    return report, started


def ideal_seconds(requests_made: int, started: float, limit: int, window: float, per_request: float) -> float:
    """The least time `requests_made` requests can take under fixed windows aligned on the epoch clock.

    The first window is whatever is left of the current one; every `limit` requests wait for the next
    window; the last window's requests go at the unlimited pace.
    """
    windows_waited = (requests_made - 1) // limit
    last_window_start = (math.floor(started / window) + windows_waited) * window
    in_last = requests_made - windows_waited * limit
    return max(0.0, last_window_start - started) + in_last * per_request


def test_sync_under_a_rate_limit_paces_itself(tmp_path: Path) -> None:
    limit, window = 50, 5  # Clio's 50 a minute, with the window compressed twelve-fold
    with sandbox_process(20_000, 10_000, "--seed", "5") as base_url:
        unlimited, _ = _sync_in_process(base_url, tmp_path / "unlimited.db", full=True)
        per_request = unlimited["seconds"] / unlimited["requests"]
        control(base_url, "rate_limit", {"limit": limit, "window_seconds": window})
        report, started = _sync_in_process(base_url, tmp_path / "limited.db", full=True)
        ideal = ideal_seconds(report["requests"], started, limit, window, per_request)
        print()
        print(
            f"baseline, no limit: {unlimited['requests']} requests in {unlimited['seconds']:.2f}s "
            f"({per_request * 1000:.1f} ms each)"
        )
        print(
            f"rate-limited full sync ({limit} per {window}s window): {report['requests']} requests in "
            f"{report['seconds']:.2f}s, {report['rate_limited']} answered 429"
        )
        print(
            f"  the least time the limit allows: {ideal:.2f}s; ratio {report['seconds'] / ideal:.3f} "
            f"(target <= 1.10); average pace {report['requests'] / report['seconds']:.2f} req/s "
            f"against a nominal {limit / window:.2f}"
        )
        assert report["rate_limited"] <= 1
        assert report["seconds"] <= 1.10 * ideal
