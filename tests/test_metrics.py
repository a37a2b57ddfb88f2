"""The metrics every process counts: several processes add up in one scrape, and labels stay bounded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from connector import metrics

COUNT = """
import sys
from connector import metrics
for _ in range(int(sys.argv[1])):
    metrics.text_received("stored")
    metrics.text_sent("failed", 30007)
metrics.cms_waited(float(sys.argv[1]) / 4)
metrics.writeback_landed(90.0)
"""
SCRAPE = """
import sys
from connector import metrics
body, content_type = metrics.exposition()
sys.stdout.write(content_type + "\\n" + body.decode())
"""


def python(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE, text=True)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counters_of_several_processes_add_up_in_one_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [python(COUNT, "3", env=env), python(COUNT, "5", env=env)]
    assert [worker.wait(timeout=30) for worker in workers] == [0, 0]
    scrape = python(SCRAPE, env=env)
    out, _ = scrape.communicate(timeout=30)
    assert scrape.returncode == 0
    content_type, _, body = out.partition("\n")
    assert content_type.startswith("text/plain")
    found = samples(body)
    assert found[("matterline_texts_received_total", (("result", "stored"),))] == 8
    assert found[("matterline_texts_sent_total", (("result", "failed"), ("twilio_code", "30007")))] == 8
    assert found[("matterline_cms_rate_limit_wait_seconds_total", ())] == 2.0
    assert found[("matterline_writeback_lag_seconds_count", ())] == 2
    assert found[("matterline_writeback_lag_seconds_bucket", (("le", "60.0"),))] == 0
    assert found[("matterline_writeback_lag_seconds_bucket", (("le", "120.0"),))] == 2
    assert not any(name.endswith("_created") for name, _ in found)


class Figures:
    """A stand-in for the store's collector."""

    def collect(self) -> Iterable[Metric]:
        return [GaugeMetricFamily("matterline_sessions", "live sessions", value=3)]


def test_the_store_collector_joins_one_scrape_and_is_not_kept() -> None:
    with_store = samples(metrics.exposition(Figures())[0].decode())
    assert with_store[("matterline_sessions", ())] == 3
    assert ("matterline_sessions", ()) not in samples(metrics.exposition()[0].decode())


def test_labels_stay_bounded_whatever_the_caller_passes() -> None:
    def value(name: str, **labels: str) -> float:
        return samples(metrics.exposition()[0].decode()).get((name, tuple(sorted(labels.items()))), 0.0)

    before = value("matterline_delivery_status_total", status="other", twilio_code="")
    metrics.delivery_status("+14155550100", "not a code")  # never a label of its own
    assert value("matterline_delivery_status_total", status="other", twilio_code="") == before + 1
    before = value("matterline_cms_requests_total", method="OTHER", status="error")
    metrics.cms_request("brew", "error")
    assert value("matterline_cms_requests_total", method="OTHER", status="error") == before + 1
