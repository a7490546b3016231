"""`remediator metrics-exporter`: a worker host's counters, written by other processes in
multiprocess mode, served over HTTP for Prometheus."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import wait_for

COUNT_JOBS = """
from remediator.metrics.instruments import JOBS
JOBS.labels(rule="r", script="noop", tier="prod", status="succeeded").inc(3)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_exporter_serves_what_other_processes_on_the_host_counted(tmp_path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes, each with its own file
        subprocess.run([sys.executable, "-c", COUNT_JOBS], env=env, check=True)
    port = free_port()
    exporter = subprocess.Popen(
        [sys.executable, "-m", "remediator", "metrics-exporter", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def scrape() -> str | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.ConnectionError:
                return None

        text = wait_for(scrape, 20, 0.2, "the exporter to answer")
        samples = {
            (s.name, s.labels.get("status")): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert samples[("remediator_jobs_total", "succeeded")] == 6
    finally:
        exporter.terminate()
        exporter.wait(10)


def test_exporter_without_a_metrics_folder_says_what_to_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "remediator", "metrics-exporter"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "PROMETHEUS_MULTIPROC_DIR" in done.stderr
