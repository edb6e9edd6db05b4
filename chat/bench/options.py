"""What `chat bench` is asked to do (no dependencies: the CLI reads it without the extra)."""

from dataclasses import dataclass


@dataclass
class Options:
    url: str
    room: str = "bench"
    clients: int = 1000
    senders: int = 50
    duration: float = 10.0
    rate: float = 10.0
    window: int = 8
    size: int = 100
    idle: int = 5000
    idle_room_size: int = 100
    stall_clients: int = 100
    stall_rate: float = 100.0
    stall_size: int = 1900  # with the marker, just under the default 2,000-character limit
    stall_duration: float = 45.0
    pid: int | None = None
