"""Settings, read once: the environment, then `.env`, then defaults; a wrong one stops start-up."""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SECRET_FIELDS = frozenset({"TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN",
                           "DATABASE_URL", "LK3_DATA_KEYS"})
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


class ConfigError(Exception):
    """A setting is wrong; the message is one sentence that names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False)

    database_url: str = Field("sqlite:///lk3.db", alias="DATABASE_URL")
    # the keys that seal personal fields (storage.keys): "ID:BASE64KEY,..." newest first;
    # empty: SQLite keeps them in a key file beside the database, PostgreSQL refuses to start
    lk3_data_keys: str = Field("", alias="LK3_DATA_KEYS", repr=False)
    lk3_host: str = Field("127.0.0.1", alias="LK3_HOST")
    lk3_port: int = Field(8000, alias="LK3_PORT", ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", alias="LOG_LEVEL")
    lk3_poll_interval: float = Field(0.2, alias="LK3_POLL_INTERVAL", gt=0, le=60)
    # 2: on a 2-core machine two processors pass the benchmark's bar, one does not (README)
    lk3_processors: int = Field(2, alias="LK3_PROCESSORS", ge=1, le=64)
    public_base_url: str | None = Field(None, alias="PUBLIC_BASE_URL")
    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field("https://api.telegram.org/bot",
                                       alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_whatsapp_from: str | None = Field(None, alias="TWILIO_WHATSAPP_FROM")
    twilio_api_base_url: str = Field("https://api.twilio.com", alias="TWILIO_API_BASE_URL")
    whatsapp_mps: float = Field(10.0, alias="WHATSAPP_MPS", gt=0, le=1000)
    outbox_reply_deadline_hours: float = Field(24.0, alias="OUTBOX_REPLY_DEADLINE_HOURS",
                                               gt=0, le=720)
    outbox_staff_deadline_hours: float = Field(24.0, alias="OUTBOX_STAFF_DEADLINE_HOURS",
                                               gt=0, le=720)
    outbox_outage_pause_max: float = Field(15.0, alias="OUTBOX_OUTAGE_PAUSE_MAX", ge=1,
                                           le=600)
    outbox_owner_timeout: float = Field(15.0, alias="OUTBOX_OWNER_TIMEOUT", ge=3, le=600)
    http_timeout: float = Field(10.0, alias="HTTP_TIMEOUT", gt=0, le=120)
    lk3_export_dir: str = Field("", alias="LK3_EXPORT_DIR")  # DATA copies (bot.privacy)
    # information broadcasts (bot.broadcast): Telegram's bulk rate, quiet hours in WIT
    # ("20:00-07:00", empty: none), WhatsApp's unique recipients per moving 24 hours
    telegram_broadcast_mps: float = Field(25.0, alias="TELEGRAM_BROADCAST_MPS", gt=0, le=1000)
    broadcast_quiet_hours: str = Field("20:00-07:00", alias="BROADCAST_QUIET_HOURS",
                                       pattern=r"^$|^\d{2}:\d{2}-\d{2}:\d{2}$")
    whatsapp_daily_limit: int = Field(250, alias="WHATSAPP_DAILY_LIMIT", ge=1)
    telegram_bot_username: str = Field("", alias="TELEGRAM_BOT_USERNAME")  # poster links

    @field_validator("public_base_url", "telegram_bot_token", "telegram_webhook_secret",
                     "twilio_account_sid", "twilio_auth_token", "twilio_whatsapp_from",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`KEY=` (as in .env.example) means the setting is not set."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_base_url", "telegram_api_base_url", "twilio_api_base_url")
    @classmethod
    def _http_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if value is not None and info.field_name != "telegram_api_base_url":
            return value.rstrip("/")  # the Telegram base ends where the token is appended
        return value

    @field_validator("twilio_whatsapp_from")
    @classmethod
    def _whatsapp_from(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("whatsapp:+"):
            raise ValueError("must look like whatsapp:+14155238886")
        return value

    @property
    def telegram_on(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_on(self) -> bool:
        return bool(self.twilio_account_sid or self.twilio_auth_token or
                    self.twilio_whatsapp_from)

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

    @field_validator("broadcast_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from bot.broadcast.wit import TimeError, quiet_hours

        try:
            quiet_hours(value)  # the broadcast job's own reading: real times of day
        except TimeError:
            raise ValueError("must be two times of day, like 20:00-07:00") from None
        return value

    @field_validator("lk3_data_keys")
    @classmethod
    def _keys(cls, value: str) -> str:
        if value.strip():
            from storage.keys import parse

            parse(value)  # ValueError: one sentence, never quoting a key
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def check_channels(s: Settings) -> None:
    """A channel is off when its settings are absent; half-configured is an error."""
    if s.telegram_on and s.public_base_url and not s.telegram_webhook_secret:
        raise ConfigError("Setting TELEGRAM_WEBHOOK_SECRET is missing: Telegram runs in webhook "
                          "mode because PUBLIC_BASE_URL is set, and webhooks need a secret.")
    if s.telegram_on and s.public_base_url and not s.public_base_url.startswith("https://") \
            and urlsplit(s.telegram_api_base_url).hostname == "api.telegram.org":
        raise ConfigError("Setting PUBLIC_BASE_URL is wrong: Telegram runs in webhook mode "
                          "because it is set, and Telegram only calls https:// addresses; give "
                          "the public https address, or leave it empty to poll.")
    if s.telegram_webhook_secret and not s.telegram_on:
        raise ConfigError("Setting TELEGRAM_BOT_TOKEN is missing: TELEGRAM_WEBHOOK_SECRET is "
                          "set, so Telegram is half-configured.")
    if s.whatsapp_on:
        for name, value in (("TWILIO_ACCOUNT_SID", s.twilio_account_sid),
                            ("TWILIO_AUTH_TOKEN", s.twilio_auth_token),
                            ("TWILIO_WHATSAPP_FROM", s.twilio_whatsapp_from),
                            ("PUBLIC_BASE_URL", s.public_base_url)):
            if not value:
                raise ConfigError(f"Setting {name} is missing: WhatsApp (Twilio) is "
                                  "half-configured.")


def check_database(s: Settings, serving: bool) -> None:
    """The SQLite file of DATABASE_URL, before anything touches the file system (the file
    is made private, lock files are made beside it): ConfigError naming the path when it is
    a folder or another kind of file, a file that is not a SQLite database, or in a folder
    that is not there. `serving` (serve, process, chat, broadcast run): a database in memory
    too, since each process would have one of its own, empty."""
    if make_url(s.database_url).get_backend_name() != "sqlite":
        return
    from storage.db import sqlite_file

    path = sqlite_file(s.database_url)
    if path is None:
        if serving:
            raise ConfigError("Setting DATABASE_URL is wrong: it names no database file, and a "
                              "database in memory would be each process's own, empty; give a "
                              "file, e.g. sqlite:///lk3.db.")
        return
    if not path.parent.is_dir():
        raise ConfigError(f"The database at {path} cannot be used: its folder {path.parent} "
                          "does not exist; create the folder or change DATABASE_URL.")
    problem = _not_sqlite(path)
    if problem is not None:
        raise ConfigError(f"Setting DATABASE_URL is wrong: {path} {problem}; lk3 changed "
                          "nothing.")


def _not_sqlite(path: Path) -> str | None:
    """Why an existing `path` cannot be a SQLite database (None: it can, or is not there)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return "is a folder, not a database file" if stat.S_ISDIR(info.st_mode) \
                else "is not a regular file"
        if info.st_size == 0:  # an empty file is an empty database
            return None
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None if head == SQLITE_HEADER else "is not a SQLite database"


def check_names(env_file: Path = Path(".env")) -> None:
    """A name in .env, or an LK3_ name in the environment, that is no setting: a misspelt
    one (TELEGRAM_TOKEN) would otherwise be ignored in silence, its channel left off."""
    known = {str(f.alias) for f in Settings.model_fields.values() if f.alias}
    names = [(k, ".env") for k in dotenv_values(env_file)] if env_file.is_file() else []
    names += [(k, "the environment") for k in os.environ if k.upper().startswith("LK3_")]
    for name, where in names:
        if name.upper() not in known:
            near = difflib.get_close_matches(name.upper(), sorted(known), n=1)
            hint = f"did you mean {near[0]}?" if near else ".env.example lists every setting."
            raise ConfigError(f"Setting {name} (in {where}) is not one lk3 reads; {hint}")


def load_settings() -> Settings:
    """Read the settings; raise ConfigError with one sentence naming the first bad one."""
    try:
        check_names()
        settings = Settings()
        check_channels(settings)
        return settings
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "a setting"
        name = Settings.model_fields[field].alias or field.upper() \
            if field in Settings.model_fields else field.upper()
        got = "" if name in SECRET_FIELDS else f" (got {err.get('input')!r})"
        reason = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"Setting {name} is wrong: {reason}{got}.") from None
