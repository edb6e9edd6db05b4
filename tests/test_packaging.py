"""A non-editable install serves the page with its templates and static files."""

import os
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

from tests.servers import ChatServer

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_templates_and_static_and_serves_the_page(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("chat-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "chat/templates/room.html" in names and "chat/static/vendor/htmx-2.0.11.min.js" in names
    assert "chat/locale/ru/LC_MESSAGES/messages.mo" in names  # compiled by the build hook
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Only the installed copy is importable as `chat`, and the checkout is not the working directory.
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    # A designer's folders override the installed templates and CSS, one file at a time.
    (workdir / "look").mkdir()
    (workdir / "look" / "room.html").write_text(
        '{% extends "default:room.html" %}{% block title %}Our own chat{% endblock %}'
    )
    (workdir / "assets").mkdir()
    (workdir / "assets" / "chat.css").write_text("body { color: rebeccapurple; }")
    server = ChatServer(
        workdir,
        PYTHONPATH=os.pathsep.join([str(target)]),
        CHAT_TEMPLATES_DIR=str(workdir / "look"),
        CHAT_STATIC_DIR=str(workdir / "assets"),
    )
    server.start()
    try:
        with urllib.request.urlopen(server.url + "/") as page:
            html = page.read()
            assert b'id="chat-form"' in html and b"<title>Our own chat</title>" in html
        russian = urllib.request.Request(server.url + "/", headers={"Accept-Language": "ru"})
        with urllib.request.urlopen(russian) as page:
            assert "Отправить" in page.read().decode()  # from the wheel's compiled catalog
        with urllib.request.urlopen(server.url + "/static/vendor/htmx-2.0.11.min.js") as script:
            assert script.status == 200
        with urllib.request.urlopen(server.url + "/static/chat.css") as css:
            assert css.read() == b"body { color: rebeccapurple; }"
        assert (target / "chat" / "templates" / "room.html").exists()
    finally:
        server.stop()
