"""The FastAPI application: create_app() wires settings, database, routers and error handling."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from app.alerts.router import router as alerts_router
from app.audit.router import router as audit_router
from app.auth.passwords import Passwords
from app.auth.router import router as auth_router
from app.auth.tokens import TokenKeys
from app.care_updates.router import router as care_updates_router
from app.checkins.router import router as checkins_router
from app.cms import sending
from app.cms.router import router as cms_router
from app.cms.secrets import resolve_box
from app.config import Settings, get_settings, resolve_jwt_secret
from app.db import create_engine, create_sessionmaker
from app.devices.router import router as devices_router
from app.errors import COMMON_RESPONSES, install_error_handlers
from app.fhir.errors import install_error_handlers as install_fhir_error_handlers
from app.fhir.report_routes import router as report_bundle_router
from app.fhir.router import router as fhir_router
from app.health import known_migrations
from app.health import router as health_router
from app.middleware import BodyLimitMiddleware, CorsMiddleware, RequestContextMiddleware
from app.organizations.router import router as organizations_router
from app.organizations.router import settings_router as organization_settings_router
from app.outcomes import stored
from app.outcomes.router import router as outcomes_router
from app.outcomes.rules import DEFAULT_RULESET, load_ruleset
from app.patients.router import router as patients_router
from app.readings.router import router as readings_router
from app.webhooks import delivery as deliveries
from app.webhooks.router import router as webhooks_router
from app.worker import run_forever

API_ROUTERS = (
    auth_router,
    organizations_router,
    organization_settings_router,
    patients_router,
    devices_router,
    audit_router,
    readings_router,
    alerts_router,
    checkins_router,
    outcomes_router,
    care_updates_router,
    cms_router,
    report_bundle_router,
    webhooks_router,
)


def operation_id(route: APIRoute) -> str:
    """Stable operation ids: the route function's name (unique across the app, tested)."""
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Checked before anything starts, so production refuses to boot with a weak secret.
    secret = resolve_jwt_secret(settings)
    box = resolve_box(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The settings the app holds when it starts (the test suite starts one app many times,
        # each on its own database).
        current: Settings = app.state.settings
        engine = create_engine(current.database_url, echo=current.sql_echo)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # What /readyz compares the database with: read from migrations/ once per process.
        app.state.migrations = known_migrations()
        # Long-lived startup objects leave the collector's view, and young-generation
        # collections run less often: a 288-reading batch allocates thousands of objects, and
        # full collections over the whole heap were the tail of request latency.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        stop = asyncio.Event()
        # The worker's jobs in this process (`python -m app worker` runs them apart).
        workers = (
            [
                run_forever(
                    app.state.sessionmaker,
                    rules=rules,
                    interval_seconds=current.worker_interval_seconds,
                    stop=stop,
                ),
                deliveries.run_forever(
                    app.state.sessionmaker, production=current.env == "production", stop=stop
                ),
                sending.run_forever(
                    app.state.sessionmaker,
                    box=box,
                    payer_id=current.cms_payer_id,
                    production=current.env == "production",
                    stop=stop,
                ),
            ]
            if current.worker_in_process
            else []
        )
        tasks = [asyncio.create_task(job) for job in workers]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await engine.dispose()

    # /docs, /redoc and /openapi.json only where settings say so (off in production by
    # default); `app.openapi()` still builds the schema (`python -m app openapi`, its test).
    docs = settings.serves_docs
    app = FastAPI(
        title="access-rpm",
        version="1.0.0",
        summary="Remote monitoring and outcome tracking for the CMS ACCESS model.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    if settings.env == "production" and settings.metrics_enabled and not settings.metrics_token:
        logging.getLogger("access_rpm").warning(
            "/metrics is open to anyone: set ACCESS_RPM_METRICS_TOKEN, or"
            " ACCESS_RPM_METRICS_ENABLED=false"
        )
    app.state.settings = settings
    rules = load_ruleset(settings.rules_file or DEFAULT_RULESET)
    app.state.rules = rules

    async def refresh_standings(session: AsyncSession) -> None:
        await stored.refresh_touched(session, rules=rules)

    app.state.before_commit = [refresh_standings]
    app.state.token_keys = TokenKeys(
        secret=secret,
        issuer=settings.jwt_issuer,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    app.state.secret_box = box
    app.state.passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router, responses=COMMON_RESPONSES)
    # /fhir answers errors as OperationOutcomes (its handlers wrap the ones above).
    install_fhir_error_handlers(app)
    app.include_router(fhir_router)
    app.include_router(health_router)
    # Outermost last: the request id wraps everything, including 413s; CORS wraps that, so
    # every answer an allowed origin gets (a 413, a last-resort 500) is readable by its page.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    if settings.cors_origins:
        app.add_middleware(CorsMiddleware, origins=settings.cors_origins)
    return app
