"""Settings, read once: the environment, then `.env`, then defaults; a wrong one stops start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SECRET_FIELDS: frozenset[str] = frozenset()


class ConfigError(Exception):
    """A setting is wrong; the message is one sentence that names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False)

    database_url: str = Field("sqlite:///lk3.db", alias="DATABASE_URL")
    lk3_host: str = Field("127.0.0.1", alias="LK3_HOST")
    lk3_port: int = Field(8000, alias="LK3_PORT", ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    lk3_poll_interval: float = Field(0.2, alias="LK3_POLL_INTERVAL", gt=0, le=60)

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as exc:
            raise ValueError("is not a database URL") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def load_settings() -> Settings:
    """Read the settings; raise ConfigError with one sentence naming the first bad one."""
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "a setting"
        name = Settings.model_fields[field].alias or field.upper() \
            if field in Settings.model_fields else field.upper()
        got = "" if name in SECRET_FIELDS else f" (got {err.get('input')!r})"
        reason = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"Setting {name} is wrong: {reason}{got}.") from None
