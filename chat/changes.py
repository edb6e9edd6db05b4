"""Messages that change after they are sent: edits and deletes by their author, reactions by
anyone. Like sending: validate, authorise, store, then publish to the room's channel."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chat import inputs
from chat.broker import Event
from chat.config import Settings
from chat.errors import Forbidden, Gone, InvalidInput, NotFound
from chat.i18n import N_
from chat.limits import Buckets, RateLimited
from chat.sessions import EXPIRED, Session
from chat.store import Message, Store
from chat.store.base import REACTIONS, Reaction

PER_ADDRESS = 4  # an address may change as fast as this many people (cookies are cheap)
Publisher = Callable[[str, Event], Awaitable[None]]  # to a room's channel, retried if it fails


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a change: their owner tag, the name their reactions show, and (over HTTP)
    the address they ask from."""

    owner: str
    name: str
    address: str = ""

    @classmethod
    def of(cls, session: Session) -> "Actor":
        return cls(session.owner, session.name)


class Changes:
    """Edit, delete and react; each change is published as an event with the message as it is
    now, so every process renders it once per variant."""

    def __init__(self, store: Store, settings: Settings, publish: Publisher) -> None:
        self.store = store
        self.settings = settings
        self.publish = publish
        rate, burst = settings.rate_per_second, settings.rate_burst
        self._people = Buckets(rate, burst)
        self._addresses = Buckets(rate * PER_ADDRESS, burst * PER_ADDRESS)

    async def edit(self, actor: Actor, room: str, message_id: object, text: object) -> Message:
        _own_something(actor)
        self._take(actor)
        message = await self.may_change(actor, room, message_id)  # before the text: whose?
        clean = inputs.message_text(text, self.settings.max_message_length)
        if clean == message.text:
            return message
        changed = await self.store.edit(room, message.id, clean, datetime.now(UTC))
        if changed is None:
            raise _gone()
        await self._announce("edit", changed)
        return changed

    async def delete(self, actor: Actor, room: str, message_id: object) -> Message:
        _own_something(actor)
        self._take(actor)
        message = await self.may_change(actor, room, message_id)
        changed = await self.store.delete(room, message.id, datetime.now(UTC))
        if changed is None:
            raise _gone()
        await self._announce("delete", changed)
        return changed

    async def react(
        self, actor: Actor, room: str, message_id: object, emoji: object
    ) -> tuple[int, tuple[Reaction, ...]]:
        """Give the reaction, or take it back if it is already theirs: the message's id and its
        reactions now."""
        if emoji not in REACTIONS:
            raise InvalidInput(
                N_("Choose one of the reactions offered: {reactions}."),
                code="invalid_reaction",
                reactions=" ".join(REACTIONS),
            )
        number = message_number(message_id)
        if not actor.owner:  # a post without the browser's cookie: nobody to count it for
            raise Forbidden(EXPIRED, code="unknown_session")
        self._take(actor)
        now = datetime.now(UTC)
        reactions = await self.store.react(room, number, str(emoji), actor.owner, actor.name, now)
        now_is = await self.store.get(room, number) if reactions is not None else None
        if reactions is None or now_is is None:
            await self._existing(room, number)  # says which: unknown or deleted
            raise _gone()
        await self._announce("react", now_is)
        return number, now_is.reactions

    def changeable(self, message: Message) -> bool:
        """Still inside the time its author may change it in."""
        age = (datetime.now(UTC) - message.created_at).total_seconds()
        return age <= self.settings.edit_window

    async def may_change(self, actor: Actor, room: str, message_id: object) -> Message:
        """The message, if `actor` may change it now; else why not."""
        message = await self._existing(room, message_number(message_id))
        if not actor.owner or message.owner != actor.owner:
            raise Forbidden(N_("You can only change your own messages."), code="not_yours")
        if not self.changeable(message):
            raise Forbidden(
                N_("This message can no longer be changed (only in its first {minutes} min)."),
                code="too_late",
                minutes=max(1, round(self.settings.edit_window / 60)),
            )
        return message

    async def find(self, room: str, number: int) -> Message:
        """Message `number` of `room` as it is now (deleted or not), or why there is none."""
        message = await self.store.get(room, number)
        if message is None:
            raise NotFound(
                N_("There is no message {id} in this room."), code="unknown_message", id=number
            )
        return message

    async def _existing(self, room: str, number: int) -> Message:
        message = await self.find(room, number)
        if message.deleted:
            raise _gone()
        return message

    def _take(self, actor: Actor) -> None:
        """Changes are rate-limited per person like messages, and per address."""
        try:
            self._people.take(actor.owner)
            if actor.address:
                self._addresses.take(actor.address)
        except RateLimited:
            raise RateLimited(
                N_("Slow down: too many changes at once. Wait a moment and try again."),
                code="rate_limited",
            ) from None

    async def _announce(self, kind: str, message: Message) -> None:
        """The message as it is now (with its version: receivers keep the newest state), and
        the one before it (pages group by it)."""
        earlier = await self.store.before(message.room, message.id, 1)
        event: Event = {
            "type": kind,
            "room": message.room,
            "message": message.to_json(),
            "previous": earlier[0].to_json() if earlier else None,
        }
        await self.publish(message.room, event)


def message_number(value: object) -> int:
    """A message id from a form or a frame: a positive whole number."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        return value
    raise InvalidInput(
        N_('"id" is the number of a message: a positive whole number.'), code="invalid_id"
    )


def _own_something(actor: Actor) -> None:
    """Nobody without a browser's (or a client's) tag can own a message."""
    if not actor.owner:
        raise Forbidden(N_("You can only change your own messages."), code="not_yours")


def _gone() -> Gone:
    return Gone(N_("That message was deleted."))
