"""Full-text search with each database's own engine: SQLite's FTS5, PostgreSQL's text search.

What people type is cut into words here and handed to the engine as plain words (quoted terms
for FTS5, `plainto_tsquery` for PostgreSQL): quotes, `*`, `OR`, `-` or SQL never act as syntax.
Every word must be in a message for it to match; words match whole, case-insensitively.
"""

import math
import unicodedata
from collections.abc import Iterator

MAX_WORDS = 16


def words(query: str) -> list[str]:
    """The words of a search, folded, each once, in order (at most `MAX_WORDS`)."""
    found = dict.fromkeys(fold(query[start:end]) for start, end in spans(query))
    return list(found)[:MAX_WORDS]


def spans(text: str) -> Iterator[tuple[int, int]]:
    """Where each word of `text` starts and ends: a run of letters and digits with their
    combining marks, cut where both engines cut a text (`_` and punctuation part words;
    `नमस्ते` is one word, as PostgreSQL indexes it). A result's words are found the same way."""
    start = None
    for at, char in enumerate(text):
        if char.isalnum() or (start is not None and unicodedata.category(char)[0] == "M"):
            start = at if start is None else start
        elif start is not None:
            yield start, at
            start = None
    if start is not None:
        yield start, len(text)


def fold(word: str) -> str:
    """A word as it is searched for: lower-cased as the engines lower-case (not `casefold`:
    neither makes `ß` `ss`, nor a final sigma a sigma), composed (NFC)."""
    return unicodedata.normalize("NFC", word.lower())


# SQLite: an external-content FTS5 index of (room, text). Triggers keep it in step with edits
# and deletes, so they change what is found in the same transaction; a new message is queued by
# its insert's trigger and indexed in a batch soon after (chat/store/sqlite_index.py).
# Diacritics are kept (as PostgreSQL's `simple` configuration does): `мой` is not `мои`.
SQLITE_QUEUED = "messages_fts_pending"  # new messages not indexed yet (the table below)
SQLITE_SCHEMA = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
        room, text, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0')""",
    "CREATE TABLE IF NOT EXISTS messages_fts_pending (id INTEGER PRIMARY KEY)",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts_pending (id) VALUES (new.id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, room, text)
        VALUES ('delete', old.id, old.room, old.text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF room, text ON messages
    BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, room, text)
        VALUES ('delete', old.id, old.room, old.text);
        INSERT INTO messages_fts (rowid, room, text) VALUES (new.id, new.room, new.text);
    END""",
]
SQLITE_INDEXED = "fts_built"  # marked in `meta` once a database from before search is indexed
SQLITE_REBUILD = "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')"
# Newest first, walking the index's rowids backwards: a room's newest matches come first and
# the walk stops at `limit`, however many older ones there are.
SQLITE_SEARCH = """
SELECT m.id, m.room, m.author, m.author_key, m.n, m.text, m.created_at, m.owner,
       m.edited_at, m.deleted_at, m.changed_at, m.version
FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid
WHERE messages_fts MATCH ? AND messages_fts.rowid < ? AND m.room = ?
ORDER BY messages_fts.rowid DESC LIMIT ?
"""


def fts5_match(room: str, found: list[str]) -> str:
    """An FTS5 query for messages of `room` with every word: each word and the room a quoted
    string, which FTS5 cuts and folds as it cut the text (a word it cuts in two is a phrase)."""
    terms = " AND ".join(f"text : {_quoted(word)}" for word in found)
    return f"room : {_quoted(room)} AND {terms}"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# PostgreSQL: a stored tsvector column under a GIN index. ASCII punctuation becomes a space
# before the parser reads a text: it would otherwise keep `ann@example.com`, `example.org/a`,
# `v1.2` or `1.5` as single tokens that no words find.
PG_SCHEMA = [
    r"""ALTER TABLE messages ADD COLUMN IF NOT EXISTS words tsvector
       GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
           regexp_replace(text, '[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]+', ' ', 'g'))) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_messages_words ON messages USING gin (words)",
]
# A search first reads the room's newest `WINDOW` messages (a backward range read of the room
# index) and keeps those with the words: a common word ends there. If fewer than wanted matched,
# the share that did says how many more to read in order (`further`, at most `MAX_READ` in all:
# about 20 ms). Rarer words ask the GIN index, which reads every message holding them (few, for
# those), below what was read.
WINDOW = 2000
MAX_READ = 25_000
# The GIN step is planned for each search's own words and room: asyncpg prepares every
# statement, and after five runs PostgreSQL may keep a generic plan that knows neither. Its
# plan for `PG_OLDER` intersects the GIN index with the room's whole part of
# ix_messages_room_id (200 ms in a room of 1,000,000 messages, where the plan for the words
# reads the GIN index alone: 0.3 ms). `PG_NEWEST` has one good plan (its tsquery is made once,
# in FROM), so it skips the millisecond of planning.
PG_CUSTOM_PLAN = "SET LOCAL plan_cache_mode = force_custom_plan"
PG_NEWEST = """
WITH newest AS MATERIALIZED (
    SELECT id, words FROM messages WHERE (room, id) < (:room, :below) AND room >= :room
    ORDER BY room DESC, id DESC LIMIT :window
)
SELECT min(id) AS floor, count(*) AS seen,
       (array_agg(id ORDER BY id DESC) FILTER (WHERE words @@ asked))[1:(:limit)] AS hits
FROM newest, plainto_tsquery('simple', :query) AS asked
"""
PG_OLDER = """
WITH hits AS MATERIALIZED (
    SELECT id FROM messages
    WHERE words @@ plainto_tsquery('simple', :query) AND room = :room AND id < :below
)
SELECT id FROM hits ORDER BY id DESC LIMIT :limit
"""


def further(found: int, read: int, limit: int) -> int:
    """How many more of a room's messages to read in order, the newest `read` having held
    `found` of the `limit` matches wanted: enough at that share, with half as many again to
    spare; 0 when all are found, or when that would read more than `MAX_READ` in all."""
    if found >= limit or not found:
        return 0
    more = math.ceil((limit - found) * read / found * 1.5)
    return more if read + more <= MAX_READ else 0
