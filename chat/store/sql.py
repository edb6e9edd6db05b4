"""The PostgreSQL store for servers: SQLAlchemy async Core over asyncpg (or another async
PostgreSQL driver, given as `postgresql+driver://` and installed)."""

import dataclasses
import time
from datetime import UTC, datetime
from secrets import token_urlsafe
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from chat.errors import StoreUnavailable
from chat.i18n import N_
from chat.store import search
from chat.store.base import Message, NewMessage, Reaction, SessionRecord, gathered
from chat.store.recent import Recent
from chat.store.tables import (
    ADDED_COLUMNS,
    COLUMNS,
    LAST_ID,
    ROOMS_FOLDED,
    UNFOLDED_ROOMS,
    add_column,
    folded,
    messages,
    meta,
    metadata,
    older,
    reactions,
    sessions,
    state_of,
)

_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


async def _fold_rooms(conn: AsyncConnection) -> None:
    done = sa.select(meta.c.value).where(meta.c.name == ROOMS_FOLDED)
    if (await conn.execute(done)).first() is not None:
        return
    rooms = [room for (room,) in await conn.execute(sa.text(UNFOLDED_ROOMS))]
    for old, new in folded(rooms):
        for table in (messages, sessions):
            await conn.execute(table.update().where(table.c.room == old).values(room=new))
    await conn.execute(meta.insert().values(name=ROOMS_FOLDED, value="1"))


def async_url(url: str) -> sa.URL:
    """Map the plain URLs people write (`postgresql://…`) to SQLAlchemy's async drivers."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None and not parsed.drivername.startswith("postgresql+"):
        raise ValueError(
            f"Unsupported database URL {parsed.drivername}://; use sqlite:/// or postgresql://"
        )
    return parsed.set(drivername=driver) if driver else parsed


AWAY = N_("The database is not answering.")
SCHEMA_LOCK = 0x63686174  # "chat": the advisory lock held while tables are created


# Storing a message is one statement: the room's advisory lock (its waiters are woken, never
# poll), the room's last id, the insert, and the commit that releases the lock, all inside
# PostgreSQL. So a room's ids follow commit order, each message knows the one before it, and
# the lock is held for no round trip between the chat and the database.
ADD_MESSAGE_FUNCTION = """
CREATE OR REPLACE FUNCTION chat_add_message(
    p_room text, p_author text, p_author_key text, p_n integer, p_text text,
    p_created_at timestamptz, p_owner text, OUT id bigint, OUT prev bigint
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_room, 0));
    SELECT coalesce(max(m.id), 0) INTO prev FROM messages AS m WHERE m.room = p_room;
    INSERT INTO messages (room, author, author_key, n, text, created_at, owner)
    VALUES (p_room, p_author, p_author_key, p_n, p_text, p_created_at, p_owner)
    RETURNING messages.id INTO id;
END $$
"""
ADD_MESSAGE = sa.text(
    "SELECT id, prev FROM chat_add_message("
    ":room, :author, :author_key, :n, :text, :created_at, :owner)"
)
UNCHANGED = N_("The message could not be changed: nothing was changed. Try again in a moment.")
UNREADABLE = N_("The message history cannot be read right now.")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)


def _row(row: Any) -> Message:
    return Message(
        id=row.id,
        room=row.room,
        author=row.author,
        author_key=row.author_key,
        n=row.n,
        text=row.text,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        owner=row.owner,
        edited_at=_utc(row.edited_at),
        deleted_at=_utc(row.deleted_at),
        changed_at=_utc(row.changed_at),
        version=row.version,
    )


class SQLStore:
    """Messages in one SQL table; every failure becomes `StoreUnavailable`."""

    def __init__(self, url: str) -> None:
        self.url = async_url(url)
        self._engine: AsyncEngine | None = None
        self._recent = Recent()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("SQLStore.start() must be awaited before the store is used")
        return self._engine

    async def start(self) -> None:
        self._engine = create_async_engine(self.url, pool_pre_ping=True)
        try:
            async with self.engine.begin() as conn:
                # Processes starting together take turns: CREATE TABLE IF NOT EXISTS is not
                # atomic in PostgreSQL (the loser fails on a duplicate name).
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
                await conn.run_sync(metadata.create_all)
                await conn.execute(sa.text(ADD_MESSAGE_FUNCTION))
                for column in ADDED_COLUMNS:  # a database from an older release
                    ddl = add_column(column, conn.dialect, if_not_exists="IF NOT EXISTS ")
                    await conn.execute(sa.text(ddl))
                for ddl in search.PG_SCHEMA:
                    await conn.execute(sa.text(ddl))
                await conn.execute(
                    sessions.update().where(sessions.c.seen_at == 0).values(seen_at=time.time())
                )
                await _fold_rooms(conn)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(
                N_("Cannot open the database: {problem}"), problem=str(exc)
            ) from exc

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(AWAY) from exc

    async def add(self, message: NewMessage) -> Message:
        values = {c.name: getattr(message, c.name) for c in COLUMNS}
        try:
            async with self.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                row = (await autocommit.execute(ADD_MESSAGE, values)).one()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(
                N_("Your message could not be saved, so it was not sent. Try again in a moment.")
            ) from exc
        return Message(id=row.id, prev=row.prev, **values)

    async def numbered(self, author_key: str, n: int) -> Message | None:
        query = messages.select().where(messages.c.author_key == author_key, messages.c.n == n)
        found = await self._fetch(query)
        return found[0] if found else None

    async def recent(self, room: str, limit: int) -> list[Message]:
        latest = older(room, None, limit, as_row=True)
        try:  # the state first, then the rows: rows newer than the state kept are re-read
            async with self.engine.connect() as conn:
                state = tuple((await conn.execute(state_of(latest))).one())
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(UNREADABLE) from exc
        if (kept := self._recent.get(room, limit, state)) is not None:
            return kept
        found = list(reversed(await self._fetch(latest)))
        self._recent.put(room, limit, state, found)
        return found

    async def after(self, room: str, after_id: int, limit: int) -> list[Message]:
        query = (
            messages.select()
            .where(messages.c.room == room, messages.c.id > after_id)
            .order_by(messages.c.id)
            .limit(limit)
        )
        return await self._fetch(query)

    async def get(self, room: str, message_id: int) -> Message | None:
        query = messages.select().where(messages.c.id == message_id, messages.c.room == room)
        found = await self._fetch(query)
        return found[0] if found else None

    async def edit(self, room: str, message_id: int, text: str, at: datetime) -> Message | None:
        update = (
            messages.update()
            .where(
                messages.c.id == message_id,
                messages.c.room == room,
                messages.c.deleted_at.is_(None),
            )
            .values(text=text, edited_at=at, changed_at=at, version=messages.c.version + 1)
        )
        if not await self._write(update, UNCHANGED):
            return None
        return await self.get(room, message_id)

    async def delete(self, room: str, message_id: int, at: datetime) -> Message | None:
        update = (
            messages.update()
            .where(
                messages.c.id == message_id,
                messages.c.room == room,
                messages.c.deleted_at.is_(None),
            )
            .values(text="", deleted_at=at, changed_at=at, version=messages.c.version + 1)
        )
        try:
            async with self.engine.begin() as conn:
                if not (await conn.execute(update)).rowcount:
                    return None
                await conn.execute(reactions.delete().where(reactions.c.message_id == message_id))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(UNCHANGED) from exc
        return await self.get(room, message_id)

    async def react(
        self, room: str, message_id: int, emoji: str, owner: str, name: str, at: datetime
    ) -> tuple[Reaction, ...] | None:
        living = (
            sa.select(messages.c.id)
            .where(
                messages.c.id == message_id,
                messages.c.room == room,
                messages.c.deleted_at.is_(None),
            )
            .with_for_update()  # a delete waits, and so does the same person's other click
        )
        mine = (
            reactions.c.message_id == message_id,
            reactions.c.emoji == emoji,
            reactions.c.owner == owner,
        )
        try:
            async with self.engine.begin() as conn:
                if (await conn.execute(living)).first() is None:
                    return None
                if not (await conn.execute(reactions.delete().where(*mine))).rowcount:
                    given = {"emoji": emoji, "owner": owner, "name": name, "created_at": at}
                    await conn.execute(reactions.insert().values(message_id=message_id, **given))
                reacted = messages.update().where(messages.c.id == message_id)
                await conn.execute(reacted.values(changed_at=at, version=messages.c.version + 1))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(UNCHANGED) from exc
        message = await self.get(room, message_id)
        return message.reactions if message else ()

    async def search(
        self, room: str, words: list[str], limit: int, before: int | None = None
    ) -> list[Message]:
        if not words:
            return []
        asked = {"room": room, "query": " ".join(words)}
        hits: list[int] = []
        below, window, read, whole = LAST_ID if before is None else before, search.WINDOW, 0, False
        try:
            async with self.engine.connect() as conn:
                while window:  # the room's messages newest first, while the words are common
                    values = {**asked, "below": below, "window": window, "limit": limit - len(hits)}
                    newest = await conn.execute(sa.text(search.PG_NEWEST), values)
                    below, seen, found = newest.one()
                    hits += found or []
                    read, whole = read + seen, seen < window  # whole: back to the room's start
                    window = 0 if whole else search.further(len(hits), read, limit)
                if len(hits) < limit and not whole:  # rarer words: the GIN index, below those
                    await conn.execute(sa.text(search.PG_CUSTOM_PLAN))
                    values = {**asked, "below": below, "limit": limit - len(hits)}
                    hits += [i for (i,) in await conn.execute(sa.text(search.PG_OLDER), values)]
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(UNREADABLE) from exc
        if not hits:
            return []
        query = messages.select().where(messages.c.id.in_(hits)).order_by(messages.c.id.desc())
        return await self._fetch(query)

    async def before(self, room: str, before_id: int, limit: int) -> list[Message]:
        return list(reversed(await self._fetch(older(room, before_id, limit, as_row=True))))

    async def secret(self) -> str:
        query = sa.select(meta.c.value).where(meta.c.name == "secret")
        try:
            async with self.engine.begin() as conn:
                value = (await conn.execute(query)).scalar()
                if value is None:
                    value = token_urlsafe(32)
                    await conn.execute(meta.insert().values(name="secret", value=value))
        except IntegrityError:  # another process created it first
            return await self.secret()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(AWAY) from exc
        return str(value)

    async def save_session(self, record: SessionRecord) -> None:
        values = {
            "room": record.room,
            "name": record.name,
            "browser": record.browser,
            "seen_at": time.time(),
        }
        try:
            async with self.engine.begin() as conn:
                update = sessions.update().where(sessions.c.key == record.key).values(**values)
                if (await conn.execute(update)).rowcount == 0:
                    await conn.execute(sessions.insert().values(key=record.key, **values))
        except IntegrityError:  # saved at the same moment by another request: it exists
            return
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(
                N_("Your session could not be saved. Try again in a moment.")
            ) from exc

    async def load_session(self, key: str) -> SessionRecord | None:
        seq = sa.select(sa.func.coalesce(sa.func.max(messages.c.n), 0)).where(
            messages.c.author_key == key
        )
        query = sa.select(sessions, seq.scalar_subquery().label("seq")).where(sessions.c.key == key)
        try:
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(AWAY) from exc
        if row is None:
            return None
        return SessionRecord(
            key=row.key,
            room=row.room,
            name=row.name,
            browser=row.browser,
            seq=row.seq,
            seen_at=row.seen_at,
        )

    async def touch_sessions(self, keys: list[str]) -> None:
        update = sessions.update().where(sessions.c.key.in_(keys)).values(seen_at=time.time())
        await self._write(update)

    async def prune_sessions(self, idle_before: float, empty_before: float) -> int:
        never_wrote = ~sa.exists().where(messages.c.author_key == sessions.c.key)
        delete = sessions.delete().where(
            sa.or_(
                sessions.c.seen_at < idle_before,
                sa.and_(sessions.c.seen_at < empty_before, never_wrote),
            )
        )
        return await self._write(delete)

    async def _write(self, statement: sa.Executable, problem: str = AWAY) -> int:
        try:
            async with self.engine.begin() as conn:
                return (await conn.execute(statement)).rowcount
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(problem) from exc

    async def _fetch(self, query: sa.Select[Any]) -> list[Message]:
        """The messages `query` selects, each with its reactions."""
        try:
            async with self.engine.connect() as conn:
                found = [_row(row) for row in await conn.execute(query)]
                if not found:
                    return found
                ids = [m.id for m in found]
                of_them = (
                    sa.select(
                        reactions.c.message_id,
                        reactions.c.emoji,
                        reactions.c.owner,
                        reactions.c.name,
                    )
                    .where(reactions.c.message_id.in_(ids))
                    .order_by(reactions.c.created_at, reactions.c.owner)
                )
                rows = [tuple(row) for row in await conn.execute(of_them)]
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(UNREADABLE) from exc
        by_message = gathered(rows)
        return [
            dataclasses.replace(m, reactions=by_message[m.id]) if m.id in by_message else m
            for m in found
        ]
