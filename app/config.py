"""Typed settings, read from the environment (see README "Configuration").

Every variable is named `ACCESS_RPM_<FIELD>` (`ACCESS_RPM_ENV`, `ACCESS_RPM_LOGIN_MAX_FAILURES`,
...); the database URL is also read as `DATABASE_URL`, the name the API contract gives it.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import math
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "ACCESS_RPM_"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/access-rpm.db"
MIN_SECRET_LENGTH = 32
# Values people paste from examples; a production secret must not be one of them.
# Words people leave in example secrets ("replace-me-with-a-long-random-secret-value"): a secret
# with one of them as a whole lower-case word was typed by a person, not generated (words of 5+
# letters: a random secret holds one by chance about once in ten million).
PLACEHOLDER_WORDS = frozenset(
    {
        "change", "changeme", "default", "dummy", "example", "fixme", "generate", "insert",
        "password", "placeholder", "random", "replace", "sample", "secret", "value",
    }
)  # fmt: skip
# NIST SP 800-131A: an HMAC key carries at least 112 bits of security strength; estimated here
# from the length and the kinds of characters used (so 128 random bits as 32 hex digits pass).
MIN_SECRET_BITS = 112
HOW_TO_GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices(f"{ENV_PREFIX}DATABASE_URL", "DATABASE_URL"),
    )
    env: Literal["development", "production"] = Field(
        "development", validation_alias="ACCESS_RPM_ENV"
    )
    jwt_secret: SecretStr | None = Field(None, validation_alias="ACCESS_RPM_JWT_SECRET")
    data_dir: Path = Field(Path("data"), validation_alias="ACCESS_RPM_DATA_DIR")
    # Fernet keys (comma-separated, newest first) that encrypt secrets kept in the database
    # (organizations' CMS client secrets): the first encrypts, every one decrypts, so a key is
    # rotated by putting a new one first (app/cms/secrets.py).
    encryption_keys: SecretStr | None = Field(None, validation_alias="ACCESS_RPM_ENCRYPTION_KEYS")
    jwt_issuer: str = "access-rpm"
    access_token_ttl_seconds: int = Field(900, ge=60, le=900)
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=3600)
    activation_ttl_days: int = 7
    max_body_bytes: int = 1024 * 1024
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    # Failed sign-ins from one client address (any accounts) within the window before 429.
    login_client_max_failures: int = Field(20, ge=1)
    # Peers whose X-Forwarded-For names the client (IP addresses or CIDR networks); any other
    # peer is the client itself. Empty: trust no proxy.
    trusted_proxies: list[str] = Field(default_factory=list)
    # The origins (scheme://host[:port]) of browser apps allowed to call the API (CORS); empty:
    # none, and no CORS headers at all. A JSON list or comma-separated (NoDecode: the validator
    # below reads both).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The interactive docs and the OpenAPI schema: on in development, off in production unless
    # set. /metrics: off, open, or behind `Authorization: Bearer <metrics_token>`.
    docs_enabled: bool | None = None
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    # Argon2id cost (OWASP 2024 minimum is m=19 MiB, t=2, p=1); tests lower it for speed.
    argon2_time_cost: int = Field(2, validation_alias="ACCESS_RPM_ARGON2_TIME_COST")
    argon2_memory_kib: int = Field(19 * 1024, validation_alias="ACCESS_RPM_ARGON2_MEMORY_KIB")
    sql_echo: bool = False
    # The background worker (app/worker.py): in the API process by default; with several API
    # replicas on PostgreSQL, turn it off there and run `python -m app worker` instead.
    worker_in_process: bool = True
    worker_interval_seconds: float = Field(60.0, gt=0, le=3600)
    # The payer id the $report-data Parameters name (app/cms/parameters.py); confirm with CMS.
    cms_payer_id: str = Field("CMS", min_length=1, max_length=64)
    # Outcome rules (app/outcomes/rulesets/); another file replaces the default ruleset.
    rules_file: Path | None = Field(None, validation_alias="ACCESS_RPM_RULES_FILE")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
                ) from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [entry for entry in text.split(",") if entry.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(origin(entry) for entry in value))

    @model_validator(mode="after")
    def _https_origins_in_production(self) -> Settings:
        # A page served over plain HTTP can be rewritten on the way to the browser, and then
        # holds a clinician's token.
        plain = [o for o in self.cors_origins if o.startswith("http://")]
        if self.env == "production" and plain:
            raise ValueError(f"{plain[0]!r}: in production a CORS origin must be https, not http")
        return self

    @property
    def serves_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else self.env == "development"


def origin(entry: str) -> str:
    """A browser origin as browsers send it in `Origin`: `scheme://host[:port]`, scheme and host
    in lower case, the scheme's default port left out (so `https://Clinic.example:443/` is
    `https://clinic.example`). Anything else (a path, a wildcard, `null`) is refused."""
    text = entry.strip()
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = -1
    scheme = parts.scheme.lower()
    if (
        scheme not in ("http", "https")
        or not parts.hostname
        or "*" in text
        or "@" in parts.netloc
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or port == -1
    ):
        raise ValueError(
            f"{entry!r} is not an origin: write scheme://host[:port], as the browser app is"
            " served (for example https://clinic.example.com or http://localhost:3000)"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default_port = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default_port) else "")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def resolve_jwt_secret(settings: Settings) -> str:
    """The signing secret: configured, or in development generated once and kept in data_dir."""
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        problem = _secret_problem(secret)
        if problem is None:
            return secret
        if settings.env == "production":
            raise ConfigError(
                f"ACCESS_RPM_JWT_SECRET {problem}; generate one with: {HOW_TO_GENERATE}"
            )
        return secret
    if settings.env == "production":
        raise ConfigError(
            f"ACCESS_RPM_JWT_SECRET is required in production; generate one with: {HOW_TO_GENERATE}"
        )
    path = settings.data_dir / "jwt-secret"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def _entropy_bits(secret: str) -> float:
    """The most entropy the secret can hold: its length times log2 of the alphabet its kinds
    of characters (lower case, upper case, digits, others) span."""
    pool = sum(
        size
        for present, size in (
            (any(c.islower() for c in secret), 26),
            (any(c.isupper() for c in secret), 26),
            (any(c.isdigit() for c in secret), 10),
            (any(not c.isalnum() for c in secret), 33),
        )
        if present
    )
    return len(secret) * math.log2(max(pool, 2))


def _longest_sequence(secret: str) -> int:
    """The longest run of consecutive characters ("abcdef", "987654")."""
    longest = run = 1
    for step in (1, -1):
        run = 1
        for a, b in itertools.pairwise(secret):
            run = run + 1 if ord(b) - ord(a) == step else 1
            longest = max(longest, run)
    return longest


def _secret_problem(secret: str) -> str | None:
    """Why a signing secret cannot be trusted, or None: too short, a person's words, a pattern
    (repeats or runs), or too little entropy."""
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    placeholders = sorted(set(re.findall(r"[a-z]+", secret.lower())) & PLACEHOLDER_WORDS)
    if placeholders:
        return f"is a placeholder (it contains the word {placeholders[0]!r})"
    words = [t for t in re.split(r"[^A-Za-z0-9]+", secret) if t.isalpha() and len(t) >= 3]
    if len(words) >= 3 and sum(len(w) for w in words if w.islower()) * 4 >= len(secret) * 3:
        return "reads like words, not random characters"
    # Random characters neither repeat a stretch of 8 (a value pasted twice, "abcabc...") nor
    # run in sequence for 8 ("abcdefgh"): by chance, about once in a million secrets.
    stretches = [secret[i : i + 8] for i in range(len(secret) - 7)]
    if len(set(stretches)) < len(stretches) or _longest_sequence(secret) >= 8:
        return "is a pattern, not random characters"
    bits = _entropy_bits(secret)
    if bits < MIN_SECRET_BITS:
        return f"holds at most about {bits:.0f} bits of entropy, fewer than {MIN_SECRET_BITS}"
    return None
