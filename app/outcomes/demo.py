"""Demo patients at every point of the ACCESS reporting calendar, for `python -m app demo`.

Each is an eCKM (hypertension) patient whose care period started long enough ago to stand,
today, at one point of the calendar: baseline due soon, a quarterly window open, an
end-of-period report complete and attained, an end-of-period window missed, a follow-on period
(its baseline the initial period's end-of-period report) and a control-group patient. Data go
through the real services (cuff readings with the cuff's own credentials, labs entered by
staff, reports prepared by staff on past report dates), so what the demo shows is what the
rules compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.clock import local_today
from app.devices import service as devices_service
from app.devices.schemas import DeviceCreate
from app.outcomes import reports as reports_service
from app.outcomes.rules import Ruleset
from app.outcomes.schemas import ReportCreate, ReportType
from app.patients import enrollments as enrollments_service
from app.patients import reach
from app.patients import service as patients_service
from app.patients.models import Patient
from app.patients.schemas import EnrollmentCreate, PatientCreate
from app.readings import ingest as ingest_service
from app.readings.schemas import validate_reading

TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class Plan:
    """A patient's care period: its age today, readings by care-period day, reports."""

    given: str
    family: str
    point: str  # the calendar point the patient stands at, as the demo prints it
    days_ago: int  # the care period started this many days before today (today is day n+1)
    cuff: dict[int, int] = field(default_factory=dict)  # care-period day -> systolic
    labs_on: tuple[int, ...] = ()
    reports: tuple[tuple[ReportType, int], ...] = ()
    control_group: bool = False
    follow_on_day: int | None = None  # a follow-on period starts on this day of this one


def _days(first: int, last: int, systolic: int) -> dict[int, int]:
    return {d: systolic + (d % 3) for d in range(first, last + 1)}


PLANS = (
    Plan("Nora", "Ito", "baseline window closing soon, HbA1c and LDL missing", 51,
         cuff=_days(45, 47, 146)),
    Plan("Omar", "Haddad", "quarterly window open", 119,
         cuff={**_days(20, 22, 150), **_days(108, 118, 138)}, labs_on=(20,),
         reports=(("baseline", 25),)),
    Plan("Lena", "Brandt", "end-of-period report complete, attained", 379,
         cuff={**_days(10, 12, 152), **_days(86, 89, 141), **_days(368, 372, 124)},
         labs_on=(10,), reports=(("baseline", 14), ("quarterly", 90), ("end_of_period", 372))),
    Plan("Victor", "Salas", "end-of-period window missed", 429,
         cuff=_days(5, 7, 149), labs_on=(5,), reports=(("baseline", 8),)),
    Plan("June", "Park", "follow-on period, baseline from the initial period's end", 400,
         cuff={**_days(3, 5, 151), **_days(366, 370, 127)}, labs_on=(3,),
         reports=(("baseline", 6), ("end_of_period", 370)), follow_on_day=366),
    Plan("Sam", "Ortiz", "control group (no OAP, not in the attainment rate)", 70,
         cuff=_days(2, 4, 147), labs_on=(2,), reports=(("baseline", 5),), control_group=True),
)  # fmt: skip


def _at(start: date, day: int, hour: int) -> str:
    moment = datetime.combine(start + timedelta(days=day - 1), time(hour), ZoneInfo(TIMEZONE))
    return moment.isoformat()


async def _readings(
    session: AsyncSession, *, staff: Principal, patient: Patient, plan: Plan, start: date
) -> None:
    cuff, _ = await devices_service.register(
        session,
        principal=staff,
        patient=patient,
        body=DeviceCreate(
            kind="bp_cuff", manufacturer="Demo Medical", model="Cuff 7", validated=True
        ),
    )
    device = Principal(
        id=cuff.id, role="device", organization_id=patient.organization_id, patient_id=patient.id
    )
    bodies = [
        {
            "type": "blood_pressure",
            "systolic": s,
            "diastolic": s - 55,
            "effective_at": _at(start, d, 8),
        }
        for d, s in sorted(plan.cuff.items())
    ]
    await ingest_service.ingest(
        session, principal=device, patient=patient, readings=[validate_reading(b) for b in bodies]
    )
    labs = [
        {"type": kind, "value": value, "unit": unit, "effective_at": _at(start, d, 11),
         "source": {"kind": "lab"}}
        for d in plan.labs_on
        for kind, value, unit in (("hba1c", 5.9, "%"), ("ldl", 128, "mg/dL"))
    ]  # fmt: skip
    await ingest_service.ingest(
        session, principal=staff, patient=patient, readings=[validate_reading(b) for b in labs]
    )


async def add_calendar_patients(
    session: AsyncSession, *, staff: Principal, rules: Ruleset, activation_ttl_days: int
) -> list[str]:
    """Create the calendar's demo patients; one line per patient for the demo's output."""
    lines = []
    for plan in PLANS:
        created = await patients_service.create(
            session,
            principal=staff,
            body=PatientCreate.model_validate(
                {
                    "given_name": plan.given,
                    "family_name": plan.family,
                    "birth_date": date(1955, 4, 2),
                    "sex": "unknown",
                    "timezone": TIMEZONE,
                }
            ),
            activation_ttl_days=activation_ttl_days,
        )
        patient = await reach.get_reachable(session, principal=staff, ref=str(created.id))
        start = local_today(TIMEZONE) - timedelta(days=plan.days_ago)
        eckm = {
            "track": "eCKM",
            "conditions": ["hypertension"],
            "control_group": plan.control_group,
        }
        enrollment = await enrollments_service.enroll(
            session,
            principal=staff,
            patient=patient,
            rules=rules,
            body=EnrollmentCreate.model_validate({**eckm, "start_date": start}),
        )
        await _readings(session, staff=staff, patient=patient, plan=plan, start=start)
        for report_type, day in plan.reports:
            await reports_service.prepare(
                session,
                principal=staff,
                patient=patient,
                rules=rules,
                body=ReportCreate(
                    enrollment_id=enrollment.id,
                    type=report_type,
                    report_date=start + timedelta(days=day - 1),
                ),
            )
        if plan.follow_on_day is not None:
            follow_on = start + timedelta(days=plan.follow_on_day - 1)
            body = {**eckm, "start_date": follow_on, "period": "follow_on"}
            await enrollments_service.enroll(
                session,
                principal=staff,
                patient=patient,
                rules=rules,
                body=EnrollmentCreate.model_validate(body),
            )
        lines.append(
            f"  {plan.given} {plan.family} (eCKM, {plan.point}): activation code "
            f"{created.activation_code}"
        )
    return lines
