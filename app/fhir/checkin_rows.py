"""The columns a QuestionnaireResponse is built from (`questionnaires.CheckinRow`, in order):
a check-in with its care period's track. One select, narrowed by each caller with `.where`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from app.checkins.models import Checkin
from app.patients.models import Enrollment

CHECKIN_ROWS: Select[Any] = select(
    Checkin.id,
    Checkin.instrument,
    Checkin.version,
    Checkin.answers,
    Checkin.total,
    Checkin.t_score,
    Checkin.completed_at,
    Checkin.timezone,
    Checkin.client_id,
    Checkin.entered_by_role,
    Enrollment.track,
).outerjoin(Enrollment, Enrollment.id == Checkin.enrollment_id)
