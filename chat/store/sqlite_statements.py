"""SQLite's statements, compiled once from the SQLAlchemy tables PostgreSQL uses too (one
schema, one set of queries), and how its rows become messages."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as dialect_module
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from chat.store.base import Message
from chat.store.tables import (
    COLUMNS,
    messages,
    meta,
    metadata,
    older,
    reactions,
    sessions,
    state_of,
)

DIALECT = dialect_module.dialect()
_TIME = messages.c.created_at.type.dialect_impl(DIALECT)
# SQLAlchemy's own conversions, so rows read and written here match its other stores exactly.
to_db = cast(Callable[[datetime], str], _TIME.bind_processor(DIALECT))
_from_db = cast(Callable[[str], datetime], _TIME.result_processor(DIALECT, None))


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement compiled once: its SQL and the order of its parameters."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, statement: ClauseElement) -> "Statement":
        compiled = cast(SQLCompiler, statement.compile(dialect=DIALECT))
        return cls(compiled.string, tuple(compiled.positiontup or ()), dict(compiled.params))

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(values[n] if n in values else self.defaults[n] for n in self.names)


SCHEMA = [
    str(ddl.compile(dialect=DIALECT))
    for table in metadata.sorted_tables
    for ddl in [
        CreateTable(table, if_not_exists=True),
        *[CreateIndex(index, if_not_exists=True) for index in table.indexes],
    ]
    if isinstance(ddl, ClauseElement)
]


def _param(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


_upsert = dialect_module.insert(sessions).values(
    key=_param("key"),
    room=_param("room"),
    name=_param("name"),
    browser=_param("browser"),
    seen_at=_param("seen_at"),
)
_seq = sa.select(sa.func.coalesce(sa.func.max(messages.c.n), 0)).where(
    messages.c.author_key == _param("key")
)
# SQLite has one writer at a time and each insert commits at once: when ours is stored, every
# smaller id is too, so the largest one below ours is the room's previous message. The insert
# returns it (one statement: read through ix_messages_room_id, the room bound as a parameter).
_INSERT = Statement.of(messages.insert().values({c.name: _param(c.name) for c in COLUMNS}))
ADD = Statement(
    _INSERT.sql  # noqa: S608 (constant SQL)
    + " RETURNING id, (SELECT coalesce(max(earlier.id), 0) FROM messages AS earlier"
    " WHERE earlier.room = ? AND earlier.id < messages.id)",
    (*_INSERT.names, "room"),
    _INSERT.defaults,
)
NUMBERED = Statement.of(
    messages.select().where(messages.c.author_key == _param("key"), messages.c.n == _param("n"))
)
_recent = older(_param("room"), None, _param("limit"))
RECENT = Statement.of(_recent)
RECENT_STATE = Statement.of(state_of(_recent))
AFTER = Statement.of(
    messages.select()
    .where(messages.c.room == _param("room"), messages.c.id > _param("after"))
    .order_by(messages.c.id)
    .limit(_param("limit"))
)
BEFORE = Statement.of(older(_param("room"), _param("before"), _param("limit")))
GET = Statement.of(
    messages.select().where(messages.c.id == _param("id"), messages.c.room == _param("room"))
)
EDIT = Statement.of(
    messages.update()
    .where(messages.c.id == _param("id"), messages.c.deleted_at.is_(None))
    .values(
        text=_param("text"),
        edited_at=_param("at"),
        changed_at=_param("at"),
        version=messages.c.version + 1,
    )
)
DELETE = Statement.of(
    messages.update()
    .where(messages.c.id == _param("id"), messages.c.deleted_at.is_(None))
    .values(
        text="", deleted_at=_param("at"), changed_at=_param("at"), version=messages.c.version + 1
    )
)
REACTED = Statement.of(
    messages.update()
    .where(messages.c.id == _param("id"))
    .values(changed_at=_param("at"), version=messages.c.version + 1)
)
FORGET_REACTIONS = Statement.of(reactions.delete().where(reactions.c.message_id == _param("id")))
TAKE_BACK = Statement.of(
    reactions.delete().where(
        reactions.c.message_id == _param("id"),
        reactions.c.emoji == _param("emoji"),
        reactions.c.owner == _param("owner"),
    )
)
GIVE = Statement.of(
    reactions.insert().values(
        message_id=_param("id"),
        emoji=_param("emoji"),
        owner=_param("owner"),
        name=_param("name"),
        created_at=_param("at"),
    )
)
# Reactions of a list of messages (`IN` with one ? per message, at most 500 at a time).
REACTIONS_OF = (
    "SELECT message_id, emoji, owner, name FROM reactions WHERE message_id IN ({marks})"
    " ORDER BY created_at, owner"
)
SECRET = Statement.of(sa.select(meta.c.value).where(meta.c.name == "secret"))
NEW_SECRET = Statement.of(
    dialect_module.insert(meta)
    .values(name="secret", value=_param("value"))
    .on_conflict_do_nothing()
)
SAVE_SESSION = Statement.of(
    _upsert.on_conflict_do_update(
        index_elements=[sessions.c.key],
        set_={c: _upsert.excluded[c] for c in ("room", "name", "browser", "seen_at")},
    )
)
PRUNE = Statement.of(
    sessions.delete().where(
        sa.or_(
            sessions.c.seen_at < _param("idle_before"),
            sa.and_(
                sessions.c.seen_at < _param("empty_before"),
                ~sa.exists().where(messages.c.author_key == sessions.c.key),
            ),
        )
    )
)
LOAD_SESSION = Statement.of(
    sa.select(sessions, _seq.scalar_subquery().label("seq")).where(sessions.c.key == _param("key"))
)


def _moment(stored: str | None) -> datetime | None:
    return None if stored is None else _from_db(stored).replace(tzinfo=UTC)


def message_of(row: tuple[Any, ...]) -> Message:
    id_, room, author, author_key, n, text, created, owner, edited, deleted, changed, version = row
    return Message(
        id=id_,
        room=room,
        author=author,
        author_key=author_key,
        n=n,
        text=text,
        created_at=_from_db(created).replace(tzinfo=UTC),
        owner=owner,
        edited_at=_moment(edited),
        deleted_at=_moment(deleted),
        changed_at=_moment(changed),
        version=version,
    )
