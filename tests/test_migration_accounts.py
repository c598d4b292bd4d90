"""Migration b8c9d0e1f2a3 (accounts) over existing data: every user gets a login, a device
registered twice keeps one live registration, and it downgrades and upgrades again."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import String, Uuid, column, insert, select, table, text

from app.db import UTCDateTime, create_engine
from app.devices.models import Device
from app.migrate import alembic_config
from app.organizations.models import Organization
from app.patients.models import Patient

BEFORE, ACCOUNTS = "a7b8c9d0e1f2", "b8c9d0e1f2a3"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _device(patient_id: uuid.UUID, serial: str | None, minutes: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "patient_id": patient_id,
        "kind": "bp_cuff",
        "manufacturer": "Omron",
        "model": "BP7250",
        "serial": serial,
        "client_id": f"dev_{uuid.uuid4().hex}",
        "secret_hash": "0" * 64,
        "created_at": NOW + timedelta(minutes=minutes),
    }


async def _seed(url: str) -> dict[str, uuid.UUID]:
    org, with_email, without = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(insert(Organization), [{"id": org, "name": "Clinic"}])
        patients = [
            {
                "id": pid,
                "organization_id": org,
                "given_name": "Ana",
                "family_name": "Lee",
                "birth_date": date(1950, 1, 1),
                "sex": "female",
                "timezone": "America/New_York",
            }
            for pid in (with_email, without)
        ]
        await connection.execute(insert(Patient), patients)
        # The users table as it was before the migration (no `login`).
        users = table(
            "users",
            column("id", Uuid()),
            column("organization_id", Uuid()),
            column("role", String()),
            column("email", String()),
            column("patient_id", Uuid()),
            column("created_at", UTCDateTime()),
        )
        await connection.execute(
            insert(users),
            [
                {
                    "id": uuid.uuid4(),
                    "organization_id": org,
                    "role": "patient",
                    "email": email,
                    "patient_id": patient,
                    "created_at": NOW,
                }
                for patient, email in ((with_email, "ana@example.org"), (without, None))
            ],
        )
        first, second, other = (
            _device(with_email, "SN-1", 0),
            _device(with_email, "SN-1", 5),
            _device(with_email, None, 1),
        )
        await connection.execute(insert(Device), [first, second, other])
    await engine.dispose()
    return {"first": first["id"], "second": second["id"], "other": other["id"]}


async def _read(url: str) -> tuple[list[str], dict[uuid.UUID, bool]]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        logins = (await connection.scalars(text("SELECT login FROM users ORDER BY login"))).all()
        table = Device.__table__
        live = {
            row.id: row.revoked_at is None
            for row in (await connection.execute(select(table.c.id, table.c.revoked_at))).all()
        }
    await engine.dispose()
    return list(logins), live


def test_every_user_gets_a_login_and_a_device_one_live_registration(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'accounts.db'}"
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    devices = asyncio.run(_seed(url))
    command.upgrade(config, ACCOUNTS)
    logins, live = asyncio.run(_read(url))
    assert logins[0] == "ana@example.org"
    assert re.fullmatch(r"pt-[2-9a-z]{4}-[2-9a-z]{4}", logins[1])
    # The later registration of SN-1 stays; the earlier is revoked; no serial: untouched.
    assert live == {devices["first"]: False, devices["second"]: True, devices["other"]: True}
    command.downgrade(config, BEFORE)
    command.upgrade(config, "head")
