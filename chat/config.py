"""Settings, read from `CHAT_*` environment variables (each one is documented in the README)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator may change; the defaults run the chat with no set-up at all."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    database_url: str = "sqlite:///chat.db"
    broker_url: str = "memory://"
    history_size: int = Field(default=100, ge=1, le=10_000)
    max_message_length: int = Field(default=2000, ge=1, le=100_000)
    allowed_origins: list[str] = []
    session_ttl: float = Field(default=600.0, gt=0)
    max_sessions: int = Field(default=100_000, ge=1)
    send_queue_size: int = Field(default=256, ge=1)
    heartbeat: float = Field(default=4.0, gt=0)
    rate_per_second: float = Field(default=5.0, gt=0)
    rate_burst: int = Field(default=10, ge=1)
    edit_window: float = Field(default=900.0, ge=0)
    max_connections_per_ip: int = Field(default=50, ge=1)
    log_level: str = "info"
    secret_key: str = ""
    presence_timeout: float = Field(default=15.0, gt=0)
    ping_interval: float = Field(default=10.0, gt=0)
    forwarded_allow_ips: str = "127.0.0.1,::1"
    max_header_size: int = Field(default=16_384, ge=1024)
    header_timeout: float = Field(default=10.0, gt=0)
    session_expiry: float = Field(default=7 * 86400.0, gt=0)
    templates_dir: Path | None = None
    static_dir: Path | None = None
    development: bool = False
    gallery: bool | None = None
    language: str = "en"
    time_zone: str = "UTC"

    @property
    def gallery_on(self) -> bool:
        """The designers' gallery: on in development unless turned off, off otherwise."""
        return self.development if self.gallery is None else self.gallery

    @property
    def ws_max_size(self) -> int:
        """Largest WebSocket frame we accept: a full-length message in JSON with htmx's headers."""
        return self.max_message_length * 6 + 4096
