"""The objects a running app shares, opened in the lifespan and kept on `app.state.services`."""

from dataclasses import dataclass

from chat.broker import Broker
from chat.changes import Changes
from chat.config import Settings
from chat.formats import Formats
from chat.hub import Hub
from chat.i18n import Languages
from chat.limits import Buckets
from chat.rendering import Renderer
from chat.rooms import Chat
from chat.sessions import Sessions
from chat.store import Store
from chat.zones import Zones


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    broker: Broker
    sessions: Sessions
    chat: Chat
    changes: Changes
    hub: Hub
    renderer: Renderer
    languages: Languages
    zones: Zones
    formats: Formats
    searches: Buckets  # per address: a search reads far more than a message writes
