"""A real-time chat rendered entirely on the server."""

__version__ = "0.1.0"
