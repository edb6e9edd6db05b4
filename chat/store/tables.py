"""The schema, once, for every store: SQLAlchemy Core tables."""

import re
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("room", sa.String(32), nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("author_key", sa.String(32), nullable=False),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("owner", sa.String(32), nullable=False, server_default=""),
    sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),  # edit, delete, reaction
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),  # +1 at each change
    sa.Index("ix_messages_room_id", "room", "id"),
    sa.Index("ix_messages_author_key_n", "author_key", "n"),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("room", sa.String(32), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("browser", sa.String(64), nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False, server_default="0"),
    sa.Index("ix_sessions_seen_at", "seen_at"),
)
# One row per person and kind of reaction to a message; `owner` is whose it is (see NewMessage).
reactions = sa.Table(
    "reactions",
    metadata,
    sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.Column("emoji", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("message_id", "emoji", "owner"),
)
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
COLUMNS = [
    c
    for c in messages.c
    if c.name in {"room", "author", "author_key", "n", "text", "created_at", "owner"}
]  # NewMessage
LAST_ID = 2**63 - 1  # above every id
# Columns added after a table's first release, added to existing databases when they open.
ADDED_COLUMNS = [
    sessions.c.seen_at,
    messages.c.owner,
    messages.c.edited_at,
    messages.c.deleted_at,
    messages.c.changed_at,
    messages.c.version,
]
# Room names were ASCII and case-sensitive before release 0.2; now they are case-folded. Rooms
# stored under capitals are renamed once (marked in `meta`), so `Dev`'s history is `dev`'s.
ROOMS_FOLDED = "rooms_folded"
UNFOLDED_ROOMS = "SELECT DISTINCT room FROM messages WHERE room <> lower(room)"
_OLD_ROOM = re.compile(r"[A-Za-z0-9_-]{1,32}")


def add_column(column: sa.Column[Any], dialect: sa.Dialect, if_not_exists: str = "") -> str:
    """`ALTER TABLE … ADD COLUMN …` for one of `ADDED_COLUMNS`, in `dialect`'s SQL."""
    kind = column.type.compile(dialect=dialect)
    rule = "" if column.nullable else " NOT NULL"
    default = column.server_default
    if default is not None:
        rule += f" DEFAULT '{default.arg}'"  # type: ignore[attr-defined]
    table = column.table.name
    return f"ALTER TABLE {table} ADD COLUMN {if_not_exists}{column.name} {kind}{rule}"


def folded(rooms: list[str]) -> list[tuple[str, str]]:
    """(old name, new name) for each room of the old rules that has capitals."""
    return [(room, room.lower()) for room in rooms if _OLD_ROOM.fullmatch(room)]


def older(room: Any, before: Any | None, limit: Any, *, as_row: bool = False) -> sa.Select[Any]:
    """A page of a room's history before an id (or its latest, `before` None), newest first:
    a backward range scan of ix_messages_room_id, as fast at message 1,000,000 as at 100.

    `as_row` (PostgreSQL) bounds the room and id together, `(room, id) < ($1, $2) AND room >=
    $1`: with `room = $1` its planner drops the room from the order and may walk the primary
    key instead, reading every other room's newer rows (a busy room after a quiet stretch)."""
    param = room if isinstance(room, sa.BindParameter) else sa.bindparam("room", room)
    if as_row:
        below = LAST_ID if before is None else before
        where = [
            sa.tuple_(messages.c.room, messages.c.id) < sa.tuple_(param, below),
            messages.c.room >= param,
        ]
        order = [messages.c.room.desc(), messages.c.id.desc()]
    else:
        where, order = [messages.c.room == param], [messages.c.id.desc()]
        if before is not None:
            where.append(messages.c.id < before)
    return messages.select().where(*where).order_by(*order).limit(limit)


def state_of(latest: sa.Select[Any]) -> sa.Select[Any]:
    """What says whether the rows of `latest` changed (chat/store/recent.py): their count,
    first and last ids, and the sums of their ids and versions. Never the same for two states
    of a room's latest messages, as messages are never removed and their versions only grow."""
    window = latest.with_only_columns(messages.c.id, messages.c.version).subquery()
    return sa.select(
        *[
            sa.func.count(),
            sa.func.min(window.c.id),
            sa.func.max(window.c.id),
            sa.func.sum(window.c.id),
            sa.func.sum(window.c.version),
        ]
    )
