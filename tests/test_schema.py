"""Migrations match the models, and the committed OpenAPI snapshot matches the live schema."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from alembic import command
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from app.migrate import PROJECT_ROOT, alembic_config

SNAPSHOT = PROJECT_ROOT / "openapi" / "openapi.json"


def test_models_and_migrations_agree(database_url: str) -> None:
    # Raises when autogenerate would produce any operation.
    command.check(alembic_config(database_url))


def test_openapi_snapshot_is_current(settings: Settings) -> None:
    # A fresh app: the suite's shared one has been walked by other tests (route contexts).
    live = json.loads(json.dumps(create_app(settings).openapi(), sort_keys=True))
    committed = json.loads(Path(SNAPSHOT).read_text())
    assert live == committed, "API changed: run `python -m app openapi --write` and commit it"


def test_operation_ids_are_unique_and_stable(app: FastAPI) -> None:
    ids = [
        operation["operationId"]
        for path in app.openapi()["paths"].values()
        for operation in path.values()
    ]
    duplicates = [name for name, count in Counter(ids).items() if count > 1]
    assert not duplicates
    assert "create_patient" in ids
    assert "issue_token" in ids
