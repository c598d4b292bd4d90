"""The command line: bootstrap, demo, and serve from any directory."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.__main__ import main
from app.config import get_settings


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file for the command (the CLI migrates it itself), whichever database
    the rest of the suite runs on: the commands are the same on both."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ACCESS_RPM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACCESS_RPM_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("ACCESS_RPM_ARGON2_MEMORY_KIB", "8")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_bootstrap_then_duplicate_email_fails(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bootstrap", "--org", "Riverside", "--admin-email", "a@r.example", "--password-stdin"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("admin-password-1\n"))
    assert main(args) == 0
    assert "Created organization 'Riverside'" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("admin-password-1\n"))
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err


def test_bootstrap_rejects_a_short_password(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code = main(["bootstrap", "--org", "X", "--admin-email", "a@x.example", "--password-stdin"])
    assert code == 1
    assert "at least 8" in capsys.readouterr().err


def test_bootstrap_refuses_a_password_containing_the_email(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("x-a@x.example-x\n"))
    code = main(["bootstrap", "--org", "X", "--admin-email", "a@x.example", "--password-stdin"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_demo_prints_logins(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "clinician-" in out
    for track in ("eCKM", "CKM", "MSK", "BH"):
        assert f"({track}): activation code" in out
    for point in (
        "baseline window closing soon",
        "quarterly window open",
        "attained",
        "missed",
        "follow-on",
        "control group",
    ):
        assert point in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_migrates_and_listens_from_any_directory(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        assert (tmp_path / "data" / "access-rpm.db").exists()
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes the stderr pipe
