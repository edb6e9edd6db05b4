"""The schema, once, for every store: SQLAlchemy Core tables."""

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
    sa.Index("ix_messages_room_id", "room", "id"),
    sa.Index("ix_messages_author_key", "author_key"),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("room", sa.String(32), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("browser", sa.String(64), nullable=False),
)
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
COLUMNS = [c for c in messages.c if c.name != "id"]
