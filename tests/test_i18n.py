"""Russian and English: complete catalogs, no word left in English on a Russian page, the
reader's language chosen and remembered, plurals and dates by Babel, one render per variant."""

import ast
import asyncio
import datetime
import json
import re
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from chat import gallery, rendering
from chat.app import create_app
from chat.catalogs import extract, po_path, problems, translated
from chat.client import ChatClient
from chat.config import Settings
from chat.errors import ChatError
from chat.i18n import LANGUAGE_COOKIE, Languages, preferred
from tests.html import one, parse
from tests.servers import ChatServer
from tests.test_protocol import json_socket, until
from tests.test_ws import receive_until, send
from tests.variants import connected, pushed_renders

ROOT = Path(__file__).resolve().parent.parent
RU = {"accept-language": "ru-RU,ru;q=0.9,en;q=0.5", "accept": "text/html"}
HUMAN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
# What a Russian page may show in Latin letters: people's data (the gallery's sample names and
# messages), product names, code, file names and error codes, and each language's own name in the switch (marked `lang`).
DATA = sorted(
    {
        *(m.author for m in gallery.sample_messages()),
        *(m.text for m in gallery.sample_messages()),
        *gallery.SEARCHES,  # what the sample searches looked for, quoted in the results
        "Zoë",
        "Robert",
        "Bob",
        "Ann",
        "user_",
        "gallery",
        "JavaScript",
        *(error.code for error in gallery.composer_errors(2000)),  # machine codes, shown as such
    },
    key=len,
    reverse=True,
)
WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(html: str) -> list[str]:
    """Latin-letter words a reader of this page sees or hears, outside people's own data."""
    soup = BeautifulSoup(html, "html.parser")
    page_language = (soup.html or soup).get("lang", "ru")
    for element in soup.select("script, style, code, template, noscript > style, .text"):
        element.decompose()
    for element in soup.select("[lang]"):
        if element.name != "html" and element.get("lang") != page_language:
            element.decompose()  # "English" in the switch, said in English on purpose
    texts = [soup.get_text(" ")]
    texts += [str(e[a]) for a in HUMAN_ATTRIBUTES for e in soup.select(f"[{a}]")]
    found = []
    for text in texts:
        for data in DATA:
            text = text.replace(data, " ")
        found += WORD.findall(text)
    return found


def test_an_unmarked_english_word_is_noticed() -> None:
    page = '<html lang="ru"><p title="Отправить">Привет, <b>Welcome</b></p><button lang="en">English</button></html>'
    assert english_words(page) == ["Welcome"]


def test_every_string_people_read_is_in_every_catalog_and_translated() -> None:
    template = extract()
    assert len(template) > 50  # the templates and the code were really read
    assert translated() == ["ru"]
    assert list(problems(template, "ru")) == []


def test_every_sentence_in_the_code_is_marked_for_the_catalogs() -> None:
    """A sentence for people written in Python (an error, a rule) must be wrapped in `N_()`:
    any string literal given to an error or to a store call outside `N_` is reported. Log
    lines and docstrings are for operators and stay English."""
    errors = {"ChatError", *(c.__name__ for c in _subclasses(ChatError))}
    unmarked = []
    for path in sorted((ROOT / "chat").rglob("*.py")):
        tree = ast.parse(path.read_text())
        plain = {  # module constants that are bare strings, not N_("...")
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.JoinedStr)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in errors or name == "_run":
                for argument in node.args:
                    literal = isinstance(argument, ast.JoinedStr) or (
                        isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                    )
                    if literal or (isinstance(argument, ast.Name) and argument.id in plain):
                        unmarked.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unmarked == []


def _subclasses(cls: type) -> list[type]:
    return [*cls.__subclasses__(), *(s for c in cls.__subclasses__() for s in _subclasses(c))]


def test_a_russian_page_has_no_english_word_left(client: TestClient) -> None:
    """A string a template or the server shows but the catalogs do not carry stays English:
    every page and every state, in Russian, must have none."""
    pages: dict[str, str] = {}
    client.cookies.set(LANGUAGE_COOKIE, "ru")
    pages["room"] = client.get("/rooms/общий").text
    session = str(one(pages["room"], "#chat-form input[name=session]")["value"])
    too_long = client.post(
        "/rooms/общий/messages",
        data={"session": session, "message": "ж" * 5000},
        headers={"origin": "http://testserver"},
    )
    pages["too long"] = too_long.text
    assert "5 000" in one(too_long.text, "#composer-error").get_text().replace("\xa0", " ")
    pages["rooms"] = client.get("/rooms").text
    pages["404"] = client.get("/nowhere", headers={"accept": "text/html"}).text
    pages["bad room"] = client.get("/rooms/a.b", headers={"accept": "text/html"}).text
    pages["403"] = client.post(
        "/rooms/общий/messages",
        data={"session": "forged", "message": "привет"},
        headers={"accept": "text/html"},
    ).text
    pages["405"] = client.delete("/rooms", headers={"accept": "text/html"}).text
    for name, html in pages.items():
        assert parse(html).html["lang"] == "ru", name
        assert english_words(html) == [], name


def test_every_gallery_specimen_is_russian(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", gallery=True)
    with TestClient(create_app(settings)) as client:
        client.cookies.set(LANGUAGE_COOKIE, "ru")
        index = client.get("/gallery").text
        assert english_words(index) == []
        frames = [f["src"] for f in parse(index).select("iframe")]
        assert len(frames) > 15
        for src in frames:
            assert english_words(client.get(src).text) == [], src


def test_the_language_comes_from_the_browser_and_the_switch_overrides_it(
    client: TestClient,
) -> None:
    assert parse(client.get("/").text).html["lang"] == "en"
    page = client.get("/", headers={"accept-language": "de-DE, ru;q=0.8, en;q=0.5"})
    assert parse(page.text).html["lang"] == "ru"
    assert one(page.text, "#chat-form button").get_text() == "Отправить"
    switch = client.post(
        "/language",
        data={"language": "en", "next": "/rooms/общий"},
        headers={"origin": "http://testserver", **RU},
        follow_redirects=False,
    )
    assert (
        switch.status_code == 303
        and switch.headers["location"] == "/rooms/%D0%BE%D0%B1%D1%89%D0%B8%D0%B9"
    )
    assert f"{LANGUAGE_COOKIE}=en" in switch.headers["set-cookie"]
    page = client.get("/rooms/общий", headers=RU)  # the cookie beats the browser's wish
    assert parse(page.text).html["lang"] == "en"
    pressed = one(page.text, ".languages [aria-pressed=true]")
    assert (pressed["value"], pressed["lang"]) == ("en", "en")
    assert unquote(one(page.text, ".languages input[name=next]")["value"]) == "/rooms/общий"


@pytest.mark.parametrize("next_page", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_the_switch_only_returns_to_our_own_pages(client: TestClient, next_page: str) -> None:
    switch = client.post(
        "/language",
        data={"language": "ru", "next": next_page},
        headers={"origin": "http://testserver"},
        follow_redirects=False,
    )
    assert switch.headers["location"] == "/"


def test_the_switch_refuses_other_sites(client: TestClient) -> None:
    refused = client.post(
        "/language", data={"language": "ru"}, headers={"origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert LANGUAGE_COOKIE not in refused.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en;q=0.1, ru;q=0.9", "ru"),
        ("de, fr;q=0.9", "en"),
        ("RU", "ru"),
        ("ru;q=0, en", "en"),
        ("ru;q=nonsense, en;q=0.2", "en"),
        ("*", "en"),
        ("", "en"),
        (";;;,,,q=", "en"),
    ],
)
def test_accept_language_is_read_with_its_q_values(header: str, chosen: str) -> None:
    assert Languages().choose(None, None, header).code == chosen


def test_asked_beats_the_cookie_which_beats_the_browser() -> None:
    languages = Languages()
    assert languages.choose("en", "ru", "ru").code == "en"
    assert languages.choose(None, "ru", "en").code == "ru"
    assert languages.choose("xx", "yy", "ru").code == "ru"
    assert preferred("a;q=0.5, b, c;q=0.7") == ["b", "c", "a"]


def test_the_default_language_is_a_setting(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}", language="ru")
    with TestClient(create_app(settings)) as client:
        assert parse(client.get("/").text).html["lang"] == "ru"
        page = client.get("/", headers={"accept-language": "en"})
        assert parse(page.text).html["lang"] == "en"
    with pytest.raises(ValueError, match="no catalog"):
        create_app(Settings(language="xx"))


def test_plurals_numbers_and_dates_are_babels(tmp_path: Path) -> None:
    languages = Languages()
    ru, en = languages.all["ru"], languages.all["en"]
    renderer = rendering.Renderer(rendering.Look.of(Settings()), languages=languages)
    counts = {"a": 1, "b": 2, "c": 5, "d": 21, "e": 11, "f": 1004}
    said = {
        language.code: [
            li.get_text()
            for li in parse(renderer.page("rooms.html", language=language, rooms=counts)).select(
                "#rooms .count"
            )
        ]
        for language in (ru, en)
    }
    assert said["ru"] == [
        "1 человек в сети",
        "2 человека в сети",
        "5 человек в сети",
        "21 человек в сети",
        "11 человек в сети",
        "1004 человека в сети",
    ]
    assert said["en"][:2] == ["1 person online", "2 people online"]
    assert ru.number(1234567).replace("\xa0", " ") == "1 234 567"
    assert en.number(1234567) == "1,234,567"
    moment = datetime.datetime(2026, 12, 2, 5, 46, tzinfo=datetime.UTC)
    today = moment.date()
    assert (ru.clock(moment), en.clock(moment)) == ("05:46", "5:46\u202fAM")
    assert ru.day(moment, today) == "Сегодня" and en.day(moment, today) == "Today"
    yesterday = today + datetime.timedelta(days=1)
    assert ru.day(moment, yesterday) == "Вчера"
    assert ru.day(moment, today + datetime.timedelta(days=5)) == "2 декабря"
    assert en.day(moment, today + datetime.timedelta(days=5)) == "December 2"
    assert ru.day(moment, datetime.date(2027, 3, 1)) == "2 декабря 2026\u202fг."  # noqa: RUF001


def test_json_clients_keep_codes_and_get_text_in_their_language(client: TestClient) -> None:
    with json_socket(client, "общий", lang="ru") as ru, json_socket(client, "общий") as en:
        until(ru, "members")
        until(en, "members")
        ru.send_text('{"message": ""}')
        error = until(ru, "error")
        assert error["code"] == "empty"
        assert error["message"] == "Сначала напишите сообщение: пустые сообщения не отправляются."
        en.send_text('{"type": "rename", "name": "Ваня"}')
        until(en, "named")
        said = until(ru, "rename")
        assert said["text"].endswith("теперь Ваня")
    refused = client.get("/rooms/a.b/messages.json", headers={"accept-language": "ru"})
    assert refused.json()["error"]["code"] == "invalid_room"
    assert refused.json()["error"]["message"].startswith("Комнаты с таким названием нет")  # noqa: RUF001


def test_a_push_is_rendered_once_per_language_among_its_readers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = pushed_renders(monkeypatch)
    pages = []
    for language in ("ru", "en", "ru", "en", "ru"):
        page = client.get("/rooms/variants", headers={"accept-language": language})
        session = str(one(page.text, "#chat-form input[name=session]")["value"])
        pages.append((language, session))
    sockets = [
        (f"/rooms/variants/ws?session={session}", {"accept-language": language})
        for language, session in pages
    ]
    with connected(client, sockets) as opened:
        renders.clear()
        send(opened[0], "привет")
        fragments = [receive_until(ws, "#messages li[data-n]") for ws in opened]
        said = sorted(r["language"].code for r in renders)
        assert said == ["en", "ru"]  # five readers, two languages: two renders
        for (language, _), fragment in zip(pages, fragments, strict=True):
            you = one(fragment, "#messages li .you").get_text().strip()
            assert you == {"ru": "(вы)", "en": "(you)"}[language]


def test_the_json_client_chats_in_a_room_named_in_cyrillic(server: ChatServer) -> None:
    async def chat() -> dict[str, Any]:
        client = ChatClient(server.url, "комната")
        running = asyncio.create_task(client.run())
        try:
            await asyncio.wait_for(client.ready(), 10)
            return await client.send("привет")
        finally:
            await client.close()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    assert asyncio.run(chat())["type"] == "sent"
    with urllib.request.urlopen(
        server.url + "/rooms/%D0%BA%D0%BE%D0%BC%D0%BD%D0%B0%D1%82%D0%B0/messages.json"
    ) as answer:
        assert [m["text"] for m in json.load(answer)["messages"]] == ["привет"]


def test_a_page_keeps_its_language_in_its_socket_and_its_forms(client: TestClient) -> None:
    page = client.get("/rooms/общий?lang=ru", headers={"accept-language": "en"})
    assert parse(page.text).html["lang"] == "ru"
    assert "&lang=ru&" in one(page.text, "[ws-connect]")["ws-connect"]
    assert one(page.text, "#chat-form")["action"].endswith("?lang=ru")
    assert one(page.text, "#name-form")["hx-post"].endswith("?lang=ru")
    session = str(one(page.text, "#chat-form input[name=session]")["value"])
    sent = client.post(
        "/rooms/общий/messages?lang=ru",
        data={"session": session, "message": "привет"},
        headers={"origin": "http://testserver", "accept-language": "en"},
        follow_redirects=False,
    )
    assert sent.headers["location"].endswith("?lang=ru")
    refused = client.post(
        "/rooms/общий/messages?lang=ru",
        data={"session": session, "message": " "},
        headers={"origin": "http://testserver"},
    )
    back = one(refused.text, ".languages input[name=next]")["value"]
    assert (
        unquote(back) == "/rooms/общий"
    )  # the switch returns to the room, not to the POST's address


def test_an_unknown_language_changes_nothing(client: TestClient) -> None:
    switch = client.post(
        "/language", data={"language": "xx"}, headers={"origin": "http://testserver"}
    )
    assert LANGUAGE_COOKIE not in switch.headers.get("set-cookie", "")
    languages = Languages("RU")
    assert languages.default.code == "ru"
    assert languages.get("ru-RU") is languages.get("ru_ru") is languages.all["ru"]


def test_translations_keep_their_placeholders_and_add_no_markup() -> None:
    """A translation is trusted HTML in templates and a format string in errors: it must keep
    the English's {fields} and %(fields)s and bring no markup of its own."""
    with po_path("ru").open("rb") as source:
        catalog = read_po(source, locale="ru")
    fields = re.compile(r"\{\w*\}|%\(\w+\)s")
    for message in catalog:
        if not message.id:
            continue
        english = [message.id] if isinstance(message.id, str) else list(message.id)
        russian = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set(fields.findall(english[-1]))
        for said in russian:
            assert set(fields.findall(said)) == wanted, (message.id, said)
            for mark in '<>&"':
                assert said.count(mark) <= english[0].count(mark), (message.id, said)
