"""Fixtures shared by packages whose tests need one organization and one patient."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld, make_org, make_patient


@pytest.fixture
async def org(app: FastAPI) -> OrgWorld:
    return await make_org(app)


@pytest.fixture
async def patient(app: FastAPI, org: OrgWorld) -> PatientWorld:
    return await make_patient(app, org)
