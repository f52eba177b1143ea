"""Free TCP ports on 127.0.0.1 for servers started by tests."""

import socket


def free_port() -> int:
    """A port the OS says is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
