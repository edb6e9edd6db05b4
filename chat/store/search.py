"""Full-text search with each database's own engine: SQLite's FTS5, PostgreSQL's text search.

What people type is cut into words here and handed to the engine as plain words (quoted terms
for FTS5, `plainto_tsquery` for PostgreSQL): quotes, `*`, `OR`, `-` or SQL never act as syntax.
Every word must be in a message for it to match; words match whole, case-insensitively.
"""

import unicodedata

MAX_WORDS = 16


def words(query: str) -> list[str]:
    """The words of a search, lower-cased, each once, in order (at most `MAX_WORDS`): runs of
    letters and digits with their combining marks, cut where both engines cut a text (`_` and
    punctuation part words; `नमस्ते` is one word, as PostgreSQL indexes it)."""
    found: dict[str, None] = {}
    word = ""
    for char in unicodedata.normalize("NFC", query.lower()) + " ":
        if char.isalnum() or (word and unicodedata.category(char)[0] == "M"):
            word += char
        elif word:
            found[word] = None
            word = ""
    return list(found)[:MAX_WORDS]


# SQLite: an external-content FTS5 index of (room, text), kept in step by triggers, so an edit
# or a delete changes what is found in the same transaction. Diacritics are kept (as
# PostgreSQL's `simple` configuration does): `мой` is not `мои`.
SQLITE_SCHEMA = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
        room, text, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, room, text) VALUES (new.id, new.room, new.text);
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
       m.edited_at, m.deleted_at
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


# PostgreSQL: a stored tsvector column under a GIN index. A query looks through the room's
# newest `WINDOW` messages first (a backward scan of the room index: fast for common words);
# only if that finds too few does it ask the GIN index (fast for rare words), below the window.
# ASCII punctuation becomes a space before the parser reads a text: it would otherwise keep
# `ann@example.com`, `example.org/a`, `v1.2` or `1.5` as single tokens that no words find.
PG_SCHEMA = [
    r"""ALTER TABLE messages ADD COLUMN IF NOT EXISTS words tsvector
       GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
           regexp_replace(text, '[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]+', ' ', 'g'))) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_messages_words ON messages USING gin (words)",
]
WINDOW = 5000
PG_NEWEST = """
WITH newest AS MATERIALIZED (
    SELECT id, words FROM messages WHERE (room, id) < (:room, :below) AND room >= :room
    ORDER BY room DESC, id DESC LIMIT :window
)
SELECT min(id) AS floor, count(*) AS seen,
       (array_agg(id ORDER BY id DESC)
        FILTER (WHERE words @@ plainto_tsquery('simple', :query)))[1:(:limit)] AS hits
FROM newest
"""
PG_OLDER = """
WITH hits AS MATERIALIZED (
    SELECT id FROM messages
    WHERE words @@ plainto_tsquery('simple', :query) AND room = :room AND id < :below
)
SELECT id FROM hits ORDER BY id DESC LIMIT :limit
"""
