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
    server = ChatServer(workdir, PYTHONPATH=os.pathsep.join([str(target)]))
    server.start()
    try:
        with urllib.request.urlopen(server.url + "/") as page:
            assert b'id="chat-form"' in page.read()
        with urllib.request.urlopen(server.url + "/static/vendor/htmx-2.0.11.min.js") as script:
            assert script.status == 200
        assert (target / "chat" / "templates" / "room.html").exists()
    finally:
        server.stop()
