"""Every table's model, imported in one place so Alembic and the tests see the whole schema."""

from app.audit.models import AuditEvent
from app.auth.models import LoginFailure, RefreshToken, User
from app.devices.models import Device
from app.organizations.models import Organization
from app.patients.models import Enrollment, Patient

__all__ = [
    "AuditEvent",
    "Device",
    "Enrollment",
    "LoginFailure",
    "Organization",
    "Patient",
    "RefreshToken",
    "User",
]
