"""What `chat bench` is asked to do (no dependencies: the CLI reads it without the extra)."""

from dataclasses import dataclass, field


@dataclass
class Options:
    urls: list[str]  # one chat's processes: pages are spread evenly over them
    room: str = "bench"
    protocol: str = "htmx"  # what the server speaks: htmx's JSON frames, or "socketio"
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
    history: int = 100  # messages in the join and restart scenarios' rooms
    restart_command: str = ""  # restarts the server, for the restart scenario
    pids: list[int] = field(default_factory=list)  # the servers' processes, for memory and CPU
    engine_pids: list[int] = field(default_factory=list)  # the database's, the broker's: CPU
    languages: list[str] = field(default_factory=list)  # `?lang=` codes pages ask for, in turn
    zones: list[str] = field(default_factory=list)  # `?tz=` time zones pages ask for, in turn

    @property
    def url(self) -> str:
        """The first server: where a scenario with a single page goes."""
        return self.urls[0]
