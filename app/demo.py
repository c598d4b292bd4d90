"""`python -m app demo`: a demo organization with a clinician, patients in every track, and
patients at every point of the ACCESS reporting calendar (`outcomes.demo`).

Each track patient's baseline report is prepared today and can be sent to CMS: the patients
have (synthetic) MBIs, the organization an ACCESS participant id and an NPI, the clinician who
prepares the reports an NPI, so `GET .../reports/{id}/bundle` answers the report's bundle
(docs/api.md "Report bundles"). No CMS reporting settings: they need a client secret.

Safe to run more than once: each run creates a new organization with fresh logins.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import date, timedelta

from app.auth.passwords import Passwords
from app.auth.principal import Principal
from app.checkins.demo import add_demo_checkins
from app.clock import utc_today
from app.cms.secrets import resolve_box
from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.migrate import upgrade_head
from app.organizations import service as organizations_service
from app.organizations.schemas import ClinicianCreate, OrganizationUpdate
from app.outcomes import reports as reports_service
from app.outcomes import stored
from app.outcomes.demo import add_calendar_patients
from app.outcomes.rules import DEFAULT_RULESET, load_ruleset
from app.outcomes.schemas import ReportCreate, ReportRead
from app.patients import enrollments as enrollments_service
from app.patients import reach
from app.patients import service as patients_service
from app.patients.schemas import EnrollmentCreate, PatientCreate, SocialRisk
from app.readings.demo import add_demo_readings

# Synthetic identifiers, valid by their formats' rules (the MBI's positions, the NPI's check
# digit: app/patients/schemas.py) and made up: "DM" for demo in each MBI. 1234567893 is the
# example NPI of CMS's check-digit document.
PARTICIPANT_ID = "ACCES00001"
ORGANIZATION_NPI = "1999999992"
CLINICIAN_NPI = "1234567893"

# (given, family, sex, birth date, timezone, height cm, track, conditions, MBI)
DEMO_PATIENTS = [
    ("Alma", "Reyes", "female", date(1956, 3, 14), "America/New_York", 162.0, "eCKM",
     ["hypertension", "obesity"], "9DM0DM0DM01"),
    ("Walter", "Kim", "male", date(1949, 8, 2), "America/Chicago", 175.0, "CKM",
     ["diabetes", "hypertension", "dyslipidemia"], "9DM0DM0DM02"),
    ("Rosa", "Okafor", "female", date(1958, 11, 23), "America/Denver", 158.0, "MSK",
     ["chronic_msk_pain"], "9DM0DM0DM03"),
    ("Henry", "Novak", "male", date(1952, 6, 9), "America/Los_Angeles", 180.0, "BH",
     ["depression", "anxiety"], "9DM0DM0DM04"),
]  # fmt: skip


async def load_demo(settings: Settings) -> int:
    await asyncio.to_thread(upgrade_head, settings.database_url)
    engine = create_engine(settings.database_url)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    rules = load_ruleset(settings.rules_file or DEFAULT_RULESET)
    suffix = secrets.token_hex(3)
    password = "demo-" + secrets.token_urlsafe(9)
    start = utc_today() - timedelta(days=45)
    lines: list[str] = []
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            organization, admin = await organizations_service.create_organization_with_admin(
                session,
                passwords=passwords,
                name=f"Demo Care {suffix}",
                admin_email=f"admin-{suffix}@demo.example",
                password=password,
            )
            admin_principal = Principal(id=admin.id, role="admin", organization_id=organization.id)
            await organizations_service.update_settings(
                session,
                principal=admin_principal,
                body=OrganizationUpdate(access_participant_id=PARTICIPANT_ID, npi=ORGANIZATION_NPI),
                box=resolve_box(settings),
                production=settings.env == "production",
            )
            clinician = await organizations_service.create_clinician(
                session,
                principal=admin_principal,
                passwords=passwords,
                body=ClinicianCreate(
                    email=f"clinician-{suffix}@demo.example",
                    # A name the bundle's Practitioner splits into given and family names.
                    name="Dana Demo",
                    password=password,
                    npi=CLINICIAN_NPI,
                ),
            )
            staff = Principal(id=clinician.id, role="clinician", organization_id=organization.id)
            for given, family, sex, born, tz, height, track, conditions, mbi in DEMO_PATIENTS:
                created = await patients_service.create(
                    session,
                    principal=staff,
                    body=PatientCreate.model_validate(
                        {
                            "given_name": given,
                            "family_name": family,
                            "birth_date": born,
                            "sex": sex,
                            "timezone": tz,
                            "height_cm": height,
                            "mbi": mbi,
                            "social_risk": SocialRisk(rural=track == "MSK"),
                        }
                    ),
                    activation_ttl_days=settings.activation_ttl_days,
                )
                patient = await reach.get_reachable(session, principal=staff, ref=str(created.id))
                enrollment = await enrollments_service.enroll(
                    session,
                    principal=staff,
                    patient=patient,
                    rules=rules,
                    body=EnrollmentCreate.model_validate(
                        {"track": track, "conditions": conditions, "start_date": start}
                    ),
                )
                readings = await add_demo_readings(
                    session, staff=staff, patient=patient, conditions=conditions
                )
                checkins = await add_demo_checkins(session, staff=staff, patient=patient)
                report, _ = await reports_service.prepare(
                    session,
                    principal=staff,
                    patient=patient,
                    rules=rules,
                    body=ReportCreate(enrollment_id=enrollment.id, type="baseline"),
                )
                lines.append(
                    f"  {given} {family} ({track}): activation code {created.activation_code}"
                    f" ({readings} readings, {checkins} check-ins)"
                )
                lines.append(f"    {_report_line(report)}")
            lines += await add_calendar_patients(
                session,
                staff=staff,
                rules=rules,
                activation_ttl_days=settings.activation_ttl_days,
            )
            # As a request would before its commit: the patients' stored standings.
            await stored.refresh_touched(session, rules=rules)
    finally:
        await engine.dispose()
    print(f"Demo organization: {organization.name}")
    print(f"  admin      {admin.email}")
    print(f"  clinician  {clinician.email}")
    print(f"  password   {password}")
    print("Patients (activate with POST /v1/auth/activate {code, password}):")
    print("\n".join(lines))
    print("Sign in: POST /v1/auth/token with grant_type=password&username=<email>&password=<pw>")
    print("Baseline reports: GET each /bundle above (the report's CMS ACCESS FHIR document)")
    return 0


def _report_line(report: ReportRead) -> str:
    if not report.complete:
        return f"baseline report {report.id}: incomplete, missing {', '.join(report.missing)}"
    return f"baseline report: GET /v1/patients/{report.patient_id}/reports/{report.id}/bundle"
