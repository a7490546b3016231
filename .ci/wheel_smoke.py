"""CI smoke of the installed wheel, run from a directory outside the checkout.

`remediator rules check`, then `remediator up`: /healthz answers, one signed webhook becomes
a finished job, and Ctrl-C leaves no process behind. Standard library only, so nothing but
the wheel and its dependencies is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

RULES = """\
version: 1
rules:
  - name: smoke
    match: {title: {contains: Smoke}}
    job: {script: noop, tier: nonprod, class: B, namespace: ci}
"""
PORT = 18765


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wait(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise SystemExit(f"wheel smoke: timed out after {timeout:g}s waiting for {what}")


def processes_of(data_dir: Path) -> list[int]:
    """Processes whose environment points at this data dir (every process `up` started)."""
    marker = f"REMEDIATOR_DATA_DIR={data_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="remediator-wheel-"))
    os.chdir(work)
    assert not (work / "remediator").exists()
    (work / "rules.yaml").write_text(RULES)
    data_dir = work / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATOR_", "SENTRY_", "PYTHONPATH"))}
    env.update({"REMEDIATOR_RULES_FILE": str(work / "rules.yaml"), "REMEDIATOR_DATA_DIR": str(data_dir)})
    exe = Path(sys.executable).parent / "remediator"

    check = subprocess.run([str(exe), "rules", "check"], env=env, capture_output=True, text=True)
    print(check.stdout + check.stderr, end="")
    if check.returncode != 0:
        raise SystemExit("wheel smoke: `remediator rules check` failed")
    subprocess.run([str(exe), "--version"], env=env, check=True)

    started = time.monotonic()
    log = open(work / "up.log", "wb")  # noqa: SIM115
    up = subprocess.Popen(
        [str(exe), "up", "--port", str(PORT)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait(lambda: http("GET", f"{base}/healthz")[0] == 200, 60, "/healthz")
        wait(lambda: http("GET", f"{base}/readyz")[0] == 200, 60, "/readyz (a worker consuming each tier)")
        secrets = json.loads((data_dir / "secrets.json").read_text())
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        document = {
            "action": "created",
            "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
            "installation": {"uuid": "00000000-0000-4000-8000-000000000000"},
            "data": {
                "issue": {
                    "id": "4242",
                    "title": "Smoke: the wheel works",
                    "culprit": "ci.smoke",
                    "level": "error",
                    "status": "unresolved",
                    "project": {"id": "1", "name": "ci", "slug": "ci"},
                    "firstSeen": now,
                    "lastSeen": now,
                }
            },
        }
        body = json.dumps(document).encode()
        headers = {
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Sentry-Hook-Signature": hmac.new(
                secrets["sentry_client_secret"].encode(), body, hashlib.sha256
            ).hexdigest(),
        }
        code, answer = http("POST", f"{base}/sentry/webhook", body, headers)
        if code != 202:
            raise SystemExit(f"wheel smoke: webhook answered {code} {answer}")
        job_id = answer["jobs"][0]["id"]
        auth = {"Authorization": f"Bearer {secrets['api_token']}"}

        def finished() -> dict | None:
            job = http("GET", f"{base}/api/jobs/{job_id}", headers=auth)[1]
            return job if job.get("status") in ("succeeded", "failed") else None

        job = wait(finished, 60, f"job {job_id} to finish")
        if job["status"] != "succeeded":
            raise SystemExit(f"wheel smoke: job ended {job['status']}: {job.get('error')}")
        print(f"wheel smoke: job {job_id} succeeded {time.monotonic() - started:.1f}s after `up` started")
        # The console's templates and assets ship in the wheel.
        pages = ((f"/jobs/{job_id}", "Smoke: the wheel works"), ("/assets/dashboard.css", ":root"))
        for path, expect in pages:
            with urllib.request.urlopen(urllib.request.Request(base + path, headers=auth), timeout=5) as page:
                if expect not in page.read().decode():
                    raise SystemExit(f"wheel smoke: {path} does not show {expect!r}")
        print("wheel smoke: the console renders")
    except BaseException:
        log.flush()
        print((work / "up.log").read_text(errors="replace")[-6000:])
        raise
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            raise SystemExit("wheel smoke: `remediator up` did not stop within 60s of Ctrl-C") from None
    deadline = time.monotonic() + 10
    while (left := processes_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.25)
    if left:
        raise SystemExit(f"wheel smoke: processes left after Ctrl-C: {left}")
    print(f"wheel smoke: OK in {time.monotonic() - started:.1f}s; nothing left running")


if __name__ == "__main__":
    main()
