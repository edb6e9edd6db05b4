"""Our WebSocket protocol: frames built once for many sockets are exactly what websockets builds."""

import pytest
from websockets.frames import Frame, Opcode

from chat.sockets import websocket_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_frames_match_the_websockets_library(size: int) -> None:
    text = ("é" * size)[: size // 2] + "x" * (size - size // 2)
    assert websocket_frame(text) == Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
