"""Logging that never writes a session id (uvicorn logs WebSocket query strings as they are)."""

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_SESSION = re.compile(r"(session=)[^&\s\"']+")


class RedactSessions(logging.Filter):
    """Replaces `session=…` in a record's message and arguments with `session=[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _SESSION.sub(r"\1[redacted]", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SESSION.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def redact_session_ids() -> None:
    """Install the filter on uvicorn's loggers (idempotent)."""
    for name in ("uvicorn.error", "uvicorn.access", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSessions) for f in logger.filters):
            logger.addFilter(RedactSessions())


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus our own loggers (`chat.*`) with level, time and source."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["chat"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(asctime)s %(name)s: %(message)s",
        "use_colors": None,
    }
    config["handlers"]["chat"] = {
        "formatter": "chat",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["chat"] = {"handlers": ["chat"], "level": level.upper(), "propagate": False}
    return config
