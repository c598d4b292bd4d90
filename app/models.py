"""Every table's model, imported in one place so Alembic and the tests see the whole schema."""

from app.alerts.models import Alert
from app.audit.models import AuditEvent
from app.auth.models import LoginThrottle, RefreshToken, User
from app.care_updates.models import CareUpdate
from app.checkins.models import Checkin
from app.cms.models import ReportSubmission
from app.devices.models import Device
from app.organizations.models import Organization
from app.outcomes.models import Report
from app.patients.models import Enrollment, Patient
from app.readings.models import Reading, ReadingDay, ReadingFeed
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "Alert",
    "AuditEvent",
    "CareUpdate",
    "Checkin",
    "Device",
    "Enrollment",
    "LoginThrottle",
    "Organization",
    "Patient",
    "Reading",
    "ReadingDay",
    "ReadingFeed",
    "RefreshToken",
    "Report",
    "ReportSubmission",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
