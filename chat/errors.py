"""User-facing problems: each carries the human message, a machine code and how to report it."""

from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat.i18n import Language


class ChatError(Exception):
    """A request we refuse; `message` tells the person what to do instead.

    `message` is English with `{name}` fields filled from `params`, marked with `N_` so the
    catalogs carry it; `text(language)` says it in the reader's language.
    """

    status: int = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"
    close_code: int = 1008  # when it ends a WebSocket: policy violation, the page stays closed

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **params: object
    ):
        self.template = message
        self.params = params
        self.message = message.format(**params) if params else message  # English: for logs
        super().__init__(self.message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def text(self, language: "Language") -> str:
        """The message in `language`, numbers written its way."""
        values = {
            name: language.number(value) if isinstance(value, int | float) else value
            for name, value in self.params.items()
        }
        said = language.gettext(self.template)
        return said.format(**values) if values else said


class InvalidInput(ChatError):
    """The content is not acceptable (empty, too long, control characters, …)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_input"


class Gone(ChatError):
    """The message was deleted: it can no longer change."""

    status = HTTPStatus.GONE
    code = "deleted"


class NotFound(ChatError):
    """No such room, session or page."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Forbidden(ChatError):
    """A cross-site request or an unknown session."""

    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class TooManyConnections(ChatError):
    """One address holds more sockets than `CHAT_MAX_CONNECTIONS_PER_IP` allows."""

    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "too_many_connections"
    close_code = 1013  # temporary: pages retry later by themselves


class NameTaken(ChatError):
    """Somebody online in the room already uses that display name."""

    status = HTTPStatus.CONFLICT
    code = "name_taken"


class StoreUnavailable(ChatError):
    """The database could not store the message: nothing was sent."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "store_unavailable"
    close_code = 1013  # try again later: the page reconnects by itself
