"""Secrets the service must read back (an organization's CMS client secret), encrypted at rest.

Fernet (`cryptography`): AES-128-CBC with an HMAC-SHA256 tag, so a stored value can be neither
read nor altered without the key. Keys come from `ACCESS_RPM_ENCRYPTION_KEYS`, newest first: the
first encrypts, every one decrypts, so a key is rotated by putting a new one in front (and
`rotate` re-encrypts a value under it). In development, without the setting, a key is generated
once and kept in the data directory; production refuses to start without one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.config import ConfigError, Settings

HOW_TO_GENERATE = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class UnreadableSecret(Exception):
    """A stored secret none of the configured keys opens (a key was removed too soon)."""


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigError("ACCESS_RPM_ENCRYPTION_KEYS holds no key")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise ConfigError(
                "ACCESS_RPM_ENCRYPTION_KEYS: each key must be a Fernet key (32 bytes,"
                f" url-safe base64); generate one with: {HOW_TO_GENERATE}"
            ) from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, sealed: str) -> str:
        """The same secret, encrypted under the first key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None


def resolve_box(settings: Settings) -> SecretBox:
    """The box of the configured keys or, in development only, of a key kept in data_dir."""
    if settings.encryption_keys is not None:
        keys = [k.strip() for k in settings.encryption_keys.get_secret_value().split(",")]
        return SecretBox([k for k in keys if k])
    if settings.env == "production":
        raise ConfigError(
            f"ACCESS_RPM_ENCRYPTION_KEYS is required in production; generate one with: "
            f"{HOW_TO_GENERATE}"
        )
    path = settings.data_dir / "encryption-key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(Fernet.generate_key().decode())
    return SecretBox([path.read_text().strip()])
