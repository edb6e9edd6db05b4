"""Several server processes sharing rooms through Redis and messages through PostgreSQL."""

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from chat.formats import JSON_SUBPROTOCOL as JSON
from tests.browsing import ChatPage, fresh_room
from tests.clients import RawClient
from tests.html import messages, one, parse
from tests.proxy import FlakyProxy
from tests.servers import ChatServer, PostgresServer, RedisServer, http_ok, wait_until

# htmx retries with full jitter, up to 2^min(retry, 6) seconds apart: after an outage of ten
# seconds or so, its next try may be 30 s away, so wait past that for the page to come back.
RECONNECT_WAIT = 70_000

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def engines_env(postgres: PostgresServer, redis: RedisServer) -> dict[str, str]:
    return {
        "CHAT_DATABASE_URL": postgres.url,
        "CHAT_BROKER_URL": redis.url,
        "CHAT_PRESENCE_TIMEOUT": "2",
        "CHAT_RATE_PER_SECOND": "1000",
        "CHAT_RATE_BURST": "1000",
    }


@pytest.fixture
def two_processes(
    tmp_path: Path, postgres: PostgresServer, redis_server: RedisServer
) -> Iterator[tuple[ChatServer, ChatServer]]:
    env = engines_env(postgres, redis_server)
    first = ChatServer(tmp_path / "one", **env)
    second = ChatServer(tmp_path / "two", **env)
    for server in (first, second):
        server.workdir.mkdir()
        server.start()
    yield first, second
    for server in (first, second):
        server.stop()


def stored(server: ChatServer, room: str) -> list[tuple[int, str, str]]:
    with urllib.request.urlopen(f"{server.url}/rooms/{room}/messages.json") as response:
        return [(m["id"], m["author"], m["text"]) for m in json.load(response)["messages"]]


@pytest.mark.browser
def test_people_on_two_processes_chat_and_see_each_other(
    two_processes: tuple[ChatServer, ChatServer], browser: Any
) -> None:
    first, second = two_processes
    room = fresh_room()
    a_context, b_context = browser.new_context(), browser.new_context()
    alice = ChatPage(a_context, first.url, room).open()
    bob = ChatPage(b_context, second.url, room).open()
    alice_name, bob_name = (p.page.input_value("#name-input") for p in (alice, bob))
    for page in (alice, bob):
        page.page.wait_for_function("() => document.querySelectorAll('#members li').length === 2")
        assert sorted(page.members()) == sorted([alice_name, bob_name])
    alice.send("from process one")
    bob.wait_for_text("from process one")
    bob.send("from process two")
    alice.wait_for_text("from process two")
    assert alice.texts() == bob.texts() == ["from process one", "from process two"]
    first.kill()  # no goodbye: its people must time out
    bob.page.wait_for_function(
        "() => document.querySelectorAll('#members li').length === 1", timeout=15_000
    )
    assert bob.members() == [bob_name]
    bob.page.wait_for_selector(f"#messages li.notice:has-text('{alice_name} left')")
    a_context.close()
    b_context.close()


@pytest.mark.browser
def test_a_page_moved_to_another_process_keeps_its_session(
    two_processes: tuple[ChatServer, ChatServer], context: Any
) -> None:
    first, second = two_processes
    room = fresh_room()
    proxy = FlakyProxy(first.port)
    try:
        page = ChatPage(context, proxy.url, room).open()
        page.send("one")
        page.send("two")
        proxy.cut()
        proxy.target_port = second.port  # the load balancer now sends it elsewhere
        with RawClient(second.url, room) as other:
            other.send_and_wait("while it moved")
        proxy.restore()
        page.page.wait_for_function(
            "() => [...document.querySelectorAll('#messages li .text')]"
            ".some(e => e.textContent === 'while it moved')",
            timeout=RECONNECT_WAIT,
        )
        page.wait_online()
        page.send("three")
        assert page.texts() == ["one", "two", "while it moved", "three"]
        assert [n for n, mine in zip(page.numbers(), page.marked_mine(), strict=True) if mine] == [
            1,
            2,
            3,
        ]
    finally:
        proxy.close()


@pytest.mark.browser
def test_every_page_ends_with_the_same_list_in_store_order(
    two_processes: tuple[ChatServer, ChatServer], context: Any
) -> None:
    first, second = two_processes
    room = fresh_room()
    pages = [ChatPage(context, server.url, room).open() for server in (first, second)]
    watchers = [RawClient(server.url, room) for server in (first, second)]
    senders = [RawClient(server.url, room) for server in (first, second, first, second)]
    for watcher in watchers:
        watcher.receive_until("#members")

    def chatter(index: int, client: RawClient) -> None:
        for n in range(20):
            client.send_and_wait(f"s{index}-{n}")

    threads = [threading.Thread(target=chatter, args=(i, c)) for i, c in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    order = stored(first, room)
    assert len(order) == 80 and len({text for _, _, text in order}) == 80
    texts = [text for _, _, text in order]
    for watcher in watchers:
        seen: list[str] = []
        while len(seen) < 80:
            seen += [text for _, text in messages(watcher.receive_until("li[data-n]"))]
        assert seen == texts  # nothing missing, nothing twice, the store's order
    for page in pages:
        page.page.wait_for_function(
            "n => document.querySelectorAll('#messages li[data-n]').length >= n", arg=80
        )
        assert page.texts() == texts
    for client in watchers + senders:
        client.close()


def _until_delivered(sender: RawClient, receiver: RawClient, text: str) -> None:
    """Send `text` until the engines take it again, then wait until the receiver has it."""
    for _ in range(20):  # the engine answers again already: a retry or two at most
        sender.send(text)
        frame = sender.receive_until("form#chat-form, #composer-error:-soup-contains('not')")
        if parse(frame).select("form#chat-form"):
            break
    else:
        raise AssertionError(f"{text!r} was never accepted")
    while text not in [t for _, t in messages(receiver.receive_until("li[data-n]"))]:
        continue


def test_redis_then_postgres_going_away_is_reported_and_chat_recovers(tmp_path: Path) -> None:
    database, redis = PostgresServer().start(), RedisServer().start()
    env = engines_env(database, redis)
    servers = [ChatServer(tmp_path / name, **env) for name in ("one", "two")]
    for server in servers:
        server.workdir.mkdir()
        server.start()
    room = fresh_room()
    try:
        with RawClient(servers[0].url, room) as alice, RawClient(servers[1].url, room) as bob:
            alice.send("before")
            assert messages(bob.receive_until("li[data-n]")) == [(1, "before")]

            redis.stop()
            # Stored, so sent: its publish fails, and every page gets it when it resynchronises.
            alice.send("while redis is away")
            frame = alice.receive_until("form#chat-form, #composer-error:-soup-contains('not')")
            assert parse(frame).select("form#chat-form"), "a stored message was called not sent"
            redis.start()  # the same port, empty: presence and subscriptions must come back
            while "while redis is away" not in [
                t for _, t in messages(bob.receive_until("li[data-n]"))
            ]:
                continue
            _until_delivered(alice, bob, "after redis")

            database.stop()
            alice.send("while postgres is away")
            frame = alice.receive_until("#composer-error:-soup-contains('not')")
            assert "could not be saved" in one(frame, "#composer-error").get_text()
            database.start()
            wait_until(lambda: http_ok(servers[0].url + "/health"), what="health after the outage")
            _until_delivered(alice, bob, "after postgres")
        texts = [text for _, _, text in stored(servers[1], room)]
        assert texts == ["before", "while redis is away", "after redis", "after postgres"]
    finally:
        for server in servers:
            server.stop()
        redis.stop()
        redis.remove()
        database.stop()
        database.remove()


def test_serve_with_workers_runs_processes_on_one_port(
    tmp_path: Path, postgres: PostgresServer, redis_server: RedisServer
) -> None:
    server = ChatServer(tmp_path, **engines_env(postgres, redis_server)).start("--workers", "2")
    room = fresh_room()
    try:
        wait_until(
            lambda: server.log().count("Application startup complete") == 2, what="2 workers"
        )
        clients = [RawClient(server.url, room) for _ in range(6)]  # the kernel spreads them
        clients[0].send("hello workers")
        for client in clients:
            assert "hello workers" in [t for _, t in messages(client.receive_until("li[data-n]"))]
        for client in clients:
            client.close()
    finally:
        server.stop()


def test_workers_without_a_shared_broker_are_refused() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "chat", "serve", "--workers", "2"],
        capture_output=True,
        text=True,
        env={"CHAT_BROKER_URL": "memory://", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2 and "CHAT_BROKER_URL=redis://" in result.stderr


def test_a_rename_through_one_process_reaches_the_sockets_of_another(
    two_processes: tuple[ChatServer, ChatServer],
) -> None:
    first, second = two_processes
    room = fresh_room()
    with RawClient(second.url, room) as ann, RawClient(first.url, room) as watcher:
        watcher.receive_until("#members")
        ann.receive_until("#members")
        request = urllib.request.Request(
            f"{first.url}/rooms/{room}/name",
            data=urllib.parse.urlencode({"session": ann.session, "name": "Ann"}).encode(),
            headers={"Origin": first.url},
        )
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
        watcher.receive_until("li.notice:-soup-contains('is now Ann')")
        ann.send_and_wait("renamed elsewhere")
    assert stored(first, room)[-1][1:] == ("Ann", "renamed elsewhere")


def test_a_malformed_event_is_skipped_and_the_next_messages_arrive_everywhere(
    two_processes: tuple[ChatServer, ChatServer], redis_server: RedisServer
) -> None:
    import redis as redis_py

    first, second = two_processes
    room = fresh_room()
    with RawClient(first.url, room) as alice, RawClient(second.url, room) as bob:
        bob.receive_until("#members")
        with redis_py.Redis.from_url(redis_server.url) as raw:
            raw.publish(f"room:{room}", "not json at all")
            raw.publish(f"room:{room}", json.dumps({"type": "message", "room": room}))
            raw.publish(f"room:{room}", json.dumps({"type": "mystery"}))
        alice.send("after the bad events")
        for client in (alice, bob):
            while "after the bad events" not in [
                t for _, t in messages(client.receive_until("li[data-n]"))
            ]:
                continue
    for server in (first, second):
        assert "skipped" in server.log() or "could not deliver" in server.log()


def _json_socket(server: ChatServer, room: str, name: str) -> Any:
    url = server.url.replace("http", "ws", 1) + f"/rooms/{room}/ws?name={name}"
    headers = {"Origin": server.url}
    return connect(url, subprotocols=[JSON], additional_headers=headers, open_timeout=10)


def _next(socket: Any, *kinds: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(socket.recv(timeout=10))
        if event["type"] in kinds:
            return event


def test_edits_deletes_and_reactions_cross_processes_behind_their_message(
    two_processes: tuple[ChatServer, ChatServer],
) -> None:
    """Each change, made on one process, reaches the other's pages after the message it
    changes and in the order made; the last state each page sees is the store's."""
    first, second = two_processes
    room = fresh_room()
    changes = ("message", "edit", "delete", "reactions")
    with (
        _json_socket(first, room, "ann") as ann,
        _json_socket(second, room, "watcher") as watcher,
        RawClient(second.url, room) as page,
    ):
        _next(ann, "members")
        _next(watcher, "members")
        page.receive_until("#members")
        for i in range(30):
            ann.send(json.dumps({"type": "message", "message": f"m{i}"}))
            number = _next(ann, "sent")["id"]
            ann.send(json.dumps({"type": "edit", "id": number, "text": f"m{i} edited"}))
            ann.send(json.dumps({"type": "react", "id": number, "emoji": "👍"}))
            if i % 5 == 4:
                ann.send(json.dumps({"type": "delete", "id": number}))
        seen: dict[int, dict[str, Any]] = {}
        kinds: dict[int, list[str]] = {}
        while len(seen) < 30 or sum(k.count("delete") for k in kinds.values()) < 6:
            event = _next(watcher, *changes)
            number = event["id"]
            kinds.setdefault(number, []).append(event["type"])
            if event["type"] == "reactions":
                seen[number] = {**seen[number], "reactions": event["reactions"]}
            elif event["type"] == "delete":
                seen[number] = {**seen[number], "deleted": True, "text": ""}
            else:
                seen[number] = {**seen.get(number, {}), **event}
        for number, order in kinds.items():
            expected = ["message", "edit", "reactions"]
            assert order[: len(expected)] == expected, (number, order)  # the message comes first
        frames = ""
        while not all(_replaced_after_appended(frames, number) for number in seen):
            frames += page.receive_until("[hx-swap-oob]")
        with urllib.request.urlopen(f"{second.url}/rooms/{room}/messages.json") as response:
            stored_now = {m["id"]: m for m in json.load(response)["messages"]}
    for number, message in seen.items():
        now = stored_now[number]
        assert (message["text"], bool(message.get("deleted"))) == (now["text"], now["deleted"])
        assert now["reactions"] == ([] if now["deleted"] else message["reactions"])


def _replaced_after_appended(frames: str, number: int) -> bool:
    """In a page's frames, message `number` was appended, then replaced (an edit)."""
    appended = frames.find(f'<li id="msg-{number}" data-n')
    replaced = frames.find(f'<li id="msg-{number}"', appended + 1)
    return (
        -1 < appended < replaced and "hx-swap-oob" in frames[replaced : frames.find(">", replaced)]
    )
