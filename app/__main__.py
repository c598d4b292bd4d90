"""Command line: `python -m app serve | migrate | worker | bootstrap | demo | openapi |
cms-standin`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path

from app.config import ConfigError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="apply migrations, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="apply database migrations and exit")
    work = commands.add_parser(
        "worker", help="re-evaluate stored standings as the date changes them (and later jobs)"
    )
    work.add_argument("--once", action="store_true", help="one pass over what is due, then exit")
    work.add_argument(
        "--all",
        action="store_true",
        help="first make every standing due",
    )
    boot = commands.add_parser("bootstrap", help="create an organization and its admin")
    boot.add_argument("--org", required=True, help="organization name")
    boot.add_argument("--admin-email", required=True)
    boot.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    commands.add_parser("demo", help="load a demo organization with synthetic patients")
    standin = commands.add_parser(
        "cms-standin", help="serve a local stand-in of CMS's Data Reporting API (development)"
    )
    standin.add_argument("--port", type=int, default=8090)
    standin.add_argument("--client-id", default="access-rpm-dev")
    standin.add_argument(
        "--client-secret-stdin", action="store_true", help="read the client secret from stdin"
    )
    spec = commands.add_parser("openapi", help="print (or --write) the OpenAPI schema")
    spec.add_argument("--write", action="store_true", help="write openapi/openapi.json")
    args = parser.parse_args(argv)

    try:
        if args.command == "serve":
            return _serve(args.host, args.port, args.workers)
        if args.command == "migrate":
            from app.migrate import upgrade_head

            upgrade_head(get_settings().database_url)
            return 0
        if args.command == "worker":
            return asyncio.run(_worker(once=args.once, everything=args.all))
        if args.command == "bootstrap":
            password = _read_password(args.password_stdin)
            return asyncio.run(_bootstrap(args.org, args.admin_email, password))
        if args.command == "demo":
            from app.demo import load_demo

            return asyncio.run(load_demo(get_settings()))
        if args.command == "openapi":
            return _openapi(args.write)
        if args.command == "cms-standin":
            return _cms_standin(args.port, args.client_id, args.client_secret_stdin)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1


def _serve(host: str, port: int, workers: int) -> int:
    import uvicorn

    from app.main import create_app
    from app.migrate import upgrade_head

    settings = get_settings()
    create_app(settings)  # fail fast on configuration errors, before migrating
    upgrade_head(settings.database_url)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The peer reaches the app as it is: uvicorn's own rule (X-Forwarded-For believed from
        # 127.0.0.1, or FORWARDED_ALLOW_IPS) would let anyone on the host pick a client address.
        # `trusted_proxies` alone decides (app/auth/client_address.py).
        proxy_headers=False,
        log_level="info",
    )
    return 0


def _cms_standin(port: int, client_id: str, secret_from_stdin: bool) -> int:
    """Serve the stand-in on 127.0.0.1 with one client; its secret is read from stdin or
    generated and printed (set both in the organization's `cms_reporting`)."""
    import secrets

    import uvicorn

    from app.cms.standin import StandIn

    if secret_from_stdin:
        secret = sys.stdin.readline().strip()
    else:
        secret = secrets.token_urlsafe(24)
        print(f"client_id={client_id} client_secret={secret}")
    print(f"base_url=http://127.0.0.1:{port}")
    uvicorn.run(StandIn(clients={client_id: secret}).app, host="127.0.0.1", port=port)
    return 0


async def _worker(*, once: bool, everything: bool) -> int:
    import signal

    import httpx

    from app.cms import sending
    from app.cms.client import CmsClient
    from app.cms.secrets import resolve_box
    from app.db import create_engine, create_sessionmaker
    from app.migrate import upgrade_head
    from app.outcomes.rules import DEFAULT_RULESET, load_ruleset
    from app.webhooks import delivery
    from app.worker import mark_due, run_due, run_forever

    settings = get_settings()
    rules = load_ruleset(settings.rules_file or DEFAULT_RULESET)
    box = resolve_box(settings)
    production = settings.env == "production"
    await asyncio.to_thread(upgrade_head, settings.database_url)
    engine = create_engine(settings.database_url)
    maker = create_sessionmaker(engine)
    try:
        if everything:
            await mark_due(maker, rules=None)
        if once:
            await mark_due(maker, rules=rules)
            count = await run_due(maker, rules=rules)
            print(f"re-evaluated {count} patients")
            async with httpx.AsyncClient() as client:
                made = await delivery.deliver_due(maker, client=client, production=production)
                sender = sending.Sender(
                    maker, CmsClient(client), box, settings.cms_payer_id, production
                )
                calls = await sending.send_due(sender)
            if made:
                print(f"made {made} webhook delivery attempts")
            if calls:
                print(f"made {calls} calls to CMS (report submissions and their status)")
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.gather(
            run_forever(
                maker, rules=rules, interval_seconds=settings.worker_interval_seconds, stop=stop
            ),
            delivery.run_forever(maker, production=production, stop=stop),
            sending.run_forever(
                maker, box=box, payer_id=settings.cms_payer_id, production=production, stop=stop
            ),
        )
        return 0
    finally:
        await engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Admin password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("error: the passwords differ")
    return first


async def _bootstrap(org: str, email: str, password: str) -> int:
    from pydantic import TypeAdapter, ValidationError

    from app.auth.passwords import Passwords
    from app.db import create_engine, create_sessionmaker
    from app.errors import Conflict, Invalid
    from app.field_messages import field_message
    from app.migrate import upgrade_head
    from app.organizations import service as organizations_service
    from app.schemas import Email, Password

    try:
        email = TypeAdapter(Email).validate_python(email)
        password = TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        print(f"error: {field_message(exc.errors()[0])}", file=sys.stderr)
        return 1
    settings = get_settings()
    await asyncio.to_thread(upgrade_head, settings.database_url)
    engine = create_engine(settings.database_url)
    passwords = Passwords(
        time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
    )
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            organization, admin = await organizations_service.create_organization_with_admin(
                session, passwords=passwords, name=org, admin_email=email, password=password
            )
    except Conflict:
        print(f"error: an account with the email {email} already exists", file=sys.stderr)
        return 1
    except Invalid as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"Created organization {organization.name!r} ({organization.id})")
    print(f"Admin {admin.email} can sign in: POST /v1/auth/token grant_type=password")
    return 0


def _openapi(write: bool) -> int:
    from app.main import create_app

    text = json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"
    if write:
        path = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
        path.write_text(text)
        print(f"wrote {path}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
