"""Shared fixtures: one organization and one of its patients, with no readings yet."""

import pytest
from fastapi import FastAPI

from tests.factories import OrgWorld, PatientWorld
from tests.readings.helpers import make_reading_patient
from tests.world import org

__all__ = ["org", "patient"]


@pytest.fixture
async def patient(app: FastAPI, org: OrgWorld) -> PatientWorld:
    return await make_reading_patient(app, org)
