"""Every refusal, rendered in one place in the reader's language: a page for people, the
page's alert (#action-error) for htmx requests, JSON (with a stable `code`) for programs."""

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from chat.errors import ChatError, InvalidInput
from chat.i18n import N_, Languages
from chat.inputs import NO_SUCH_ROOM
from chat.rendering import Renderer

# What people read for an HTTP status we answer with (the phrase is the page's heading).
PHRASES = {
    400: N_("Bad request"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Not accepted"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Unavailable"),
}
NO_SUCH_PAGE = N_("There is no such page.")
NOT_ALLOWED = N_("This address does not accept that kind of request.")


def error_pages(app: FastAPI, renderer: Renderer, languages: Languages) -> None:
    """Render every refusal in one place, in the reader's language: JSON for API paths (with
    a stable `code`), an HTML page for people."""

    def respond(request: Request, status: int, error: ChatError) -> Response:
        language = languages.of(request)
        message = error.text(language)
        if request.headers.get("hx-request") == "true":  # a page's form or link: say it there
            html = renderer.block("room.html", "action_error", language=language, refusal=message)
            swap = {  # and the address stays: a refused search is no page to go back to
                "HX-Retarget": "#action-error",
                "HX-Reswap": "outerHTML",
                "HX-Push-Url": "false",
            }
            return HTMLResponse(html, status_code=status, headers=swap)
        if request.url.path.endswith(".json") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            body = {"error": {"code": error.code, "message": message}}
            return JSONResponse(body, status_code=status)
        html = renderer.page(
            "error.html",
            language=language,
            status_code=status,
            title=language.gettext(PHRASES.get(status, PHRASES[400 if status < 500 else 500])),
            error=message,
            path=request.url.path,
            nonce=request.state.nonce,
        )
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(ChatError)
    async def chat_error(request: Request, error: ChatError) -> Response:
        return respond(request, error.status, error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        """A malformed address (`?before=x`): FastAPI's own answer, or, to htmx, the alert."""
        if request.headers.get("hx-request") != "true":
            return await request_validation_exception_handler(request, error)
        refused = InvalidInput(N_("That address is not one this chat makes."), code="invalid")
        return respond(request, HTTPStatus.UNPROCESSABLE_ENTITY, refused)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        status = error.status_code
        if status == HTTPStatus.NOT_FOUND:
            message = NO_SUCH_ROOM if request.url.path.startswith("/rooms/") else NO_SUCH_PAGE
        elif status == HTTPStatus.METHOD_NOT_ALLOWED:
            message = NOT_ALLOWED
        else:
            message = PHRASES.get(status, PHRASES[400 if status < 500 else 500])
        code = HTTPStatus(status).name.lower()
        return respond(request, status, ChatError(message, code=code, status=status))
