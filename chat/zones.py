"""Time zones: the one a reader sees times in (chosen on /settings, remembered by the browser;
the default is `CHAT_TIME_ZONE`), for clocks and day breaks."""

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from starlette.requests import HTTPConnection

ZONE_COOKIE = "chat_zone"


@cache
def names() -> list[str]:
    """Every zone the system knows (IANA names: `Europe/Moscow`), sorted, `UTC` first."""
    return ["UTC", *sorted(available_timezones() - {"UTC"})]


@cache
def _known() -> frozenset[str]:
    return frozenset(names())


def zone(name: str | None) -> ZoneInfo | None:
    """The zone called `name`, if there is one (never a path: only names the system lists;
    ZoneInfo keeps one object per name)."""
    if not name or name not in _known():
        return None
    return ZoneInfo(name)


class Zones:
    """The default zone, and the choice of one for each reader."""

    def __init__(self, default: str = "UTC") -> None:
        found = zone(default)
        if found is None:
            raise ValueError(
                f"CHAT_TIME_ZONE={default!r} is not a time zone name; use one such as "
                "UTC or Europe/Moscow"
            )
        self.default = found

    def of(self, connection: HTTPConnection) -> ZoneInfo:
        """`?tz=` (a page keeps its zone in its socket), else the browser's choice, else the
        default."""
        asked = connection.query_params.get("tz") or connection.cookies.get(ZONE_COOKIE)
        return zone(asked) or self.default


def local(moment: datetime, where: ZoneInfo) -> datetime:
    """`moment` on the clocks of `where`."""
    return moment.astimezone(where)
