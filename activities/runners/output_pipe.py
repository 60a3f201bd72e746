"""Capturing a child's stdout or stderr up to a cap, without ever blocking the child."""

from __future__ import annotations

import asyncio
import os


class OutputPipe(asyncio.Protocol):
    """A pipe for the child's stdout or stderr: keeps the first `limit` bytes, drains the rest.

    Our own pipe rather than asyncio's, so we can stop reading when we choose; draining past
    the cap means the child never blocks on a full pipe.
    """

    def __init__(self, limit: int) -> None:
        read_fd, self.write_fd = os.pipe()
        self._read_file = os.fdopen(read_fd, "rb")
        self._write_open = True
        self._transport: asyncio.BaseTransport | None = None
        self.limit = limit
        self.data = bytearray()
        self.truncated = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def __enter__(self) -> OutputPipe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close_write_end()
        if self._transport is not None:
            self._transport.close()
        self._read_file.close()  # a no-op when the transport closed it already

    def close_write_end(self) -> None:
        """Drop our copy of the write end, or the pipe would never reach EOF."""
        if self._write_open:
            self._write_open = False
            os.close(self.write_fd)

    async def start_reading(self) -> None:
        """Read the pipe in the event loop from now on, until EOF or until closed."""
        await asyncio.get_running_loop().connect_read_pipe(lambda: self, self._read_file)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        """Keep what fits under the cap; the rest is read all the same and dropped."""
        room = self.limit - len(self.data)
        if room > 0:
            self.data += data[:room]
        if len(data) > room:
            self.truncated = True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def text(self) -> str:
        """What was kept, as UTF-8 text; invalid bytes (or a cut character) become U+FFFD."""
        return self.data.decode("utf-8", errors="replace")
