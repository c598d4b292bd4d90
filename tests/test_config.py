"""Settings: production refuses weak secrets; development keeps a generated one."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, Settings, resolve_jwt_secret
from app.main import create_app


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings.model_validate({"ACCESS_RPM_DATA_DIR": tmp_path, **values})


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "is required in production"),
        ("short-but-random-Zq1", "shorter than 32"),
        ("changeme", "placeholder"),
        ("a" * 64, "placeholder"),
    ],
)
def test_production_refuses_weak_secrets(tmp_path: Path, secret: str | None, message: str) -> None:
    settings = _settings(
        tmp_path,
        ACCESS_RPM_ENV="production",
        **({"ACCESS_RPM_JWT_SECRET": secret} if secret else {}),
    )
    with pytest.raises(ConfigError, match=message):
        create_app(settings)


def test_production_accepts_a_strong_secret(tmp_path: Path) -> None:
    secret = "Jx7-q2Lr9vWm4Tz8Kp3Nf6Hd1Sb5Yc0Ga" * 2
    settings = _settings(tmp_path, ACCESS_RPM_ENV="production", ACCESS_RPM_JWT_SECRET=secret)
    assert resolve_jwt_secret(settings) == secret


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    first = resolve_jwt_secret(settings)
    assert len(first) >= 32
    assert resolve_jwt_secret(settings) == first
    stored = tmp_path / "data" / "jwt-secret"
    assert stored.read_text() == first
    assert stored.stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_under_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite+aiosqlite:///./data/access-rpm.db"
