"""Limits that keep the model server answering when clients are large, slow or hostile.

Every limit is enforced before the request reaches the model, and every refusal is
a JSON answer (never a traceback or an HTML page):

* ``BodyLimit`` (ASGI middleware) reads the body itself, counting bytes as they
  arrive, whatever Content-Length says (or when the body is chunked): 413 past
  ``max_body_bytes``, 408 when the client sends it slower than ``timeout``.
* ``GuardedH11`` (uvicorn's HTTP/1.1 protocol) answers malformed HTTP, such as
  ``Content-Length: -1``, with a JSON 400, and closes a connection whose request
  head has not arrived within the client timeout (408).
* ``parse_json`` refuses bodies nested deeper than the payload can be and numbers
  no sensor produces (5000-digit integers, ``1e999``, ``NaN``) before building them.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from typing import Any, Awaitable, Callable, MutableMapping, cast

from uvicorn.protocols.http.h11_impl import H11Protocol

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The uvicorn protocol reads its one setting from the environment: with several
# workers, each worker process builds its own protocol objects.
CLIENT_TIMEOUT_ENV = "SERVE_CLIENT_TIMEOUT"
# An integer longer than this is no measurement (and Python refuses > 4300 digits).
MAX_INT_DIGITS = 18


class RequestError(Exception):
    """A client mistake: answered with ``status`` and a one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def send_json(
    send: Send, status: int, payload: dict[str, Any], close: bool = False
) -> None:
    body = json_bytes(payload)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:  # the rest of the body is never read: the connection cannot be reused
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Read the whole body, bounded in size and time, before the application runs."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = {
            "error": f"body larger than {self.max_bytes} bytes: send fewer records"
        }
        declared = dict(scope["headers"]).get(b"content-length")
        if (
            declared is not None and int(declared) > self.max_bytes
        ):  # h11 checked digits
            await send_json(send, 413, too_large, close=True)
            return
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.timeout
        more = True
        while more:
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0))
            except asyncio.TimeoutError:
                error = {"error": f"body not received within {self.timeout:g} s"}
                await send_json(send, 408, error, close=True)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_json(send, 413, too_large, close=True)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)


def _raw_json_response(status: int, reason: str, payload: dict[str, Any]) -> bytes:
    body = json_bytes(payload)
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with JSON protocol errors and a request-head timeout.

    uvicorn times out idle keep-alive connections but not a client that trickles
    its request head; here that client gets a 408 and its connection is closed.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))
        timeout = float(os.environ.get(CLIENT_TIMEOUT_ENV, "10"))
        self.loop.call_later(timeout, self._head_timeout)

    def _head_timeout(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            error = {"error": "request head not received in time"}
            self.transport.write(_raw_json_response(408, "Request Timeout", error))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        error = {"error": f"malformed HTTP request: {msg}"}
        self.transport.write(_raw_json_response(400, "Bad Request", error))
        self.transport.close()


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_depth(body: bytes, limit: int) -> int:
    """How deep ``[``/``{`` nest (outside strings); stops counting past ``limit``."""
    skeleton = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in skeleton:
        depth += 1 if byte in b"[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise RequestError(
            422, f"integer with {len(text)} digits: no column takes that"
        )
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RequestError(422, f"number {text[:20]} is out of range")
    return value


def _parse_constant(text: str) -> float:
    raise RequestError(422, f"{text} is not a number a column takes")


def parse_json(body: bytes, max_depth: int) -> Any:
    """The JSON body; ``RequestError`` when malformed, too deep or out of range."""
    if nesting_depth(body, max_depth) > max_depth:
        raise RequestError(400, f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(
            body,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(400, f"body is not valid JSON: {error}") from None
    except (ValueError, RecursionError) as error:
        raise RequestError(400, f"body is not valid JSON: {error}") from None
