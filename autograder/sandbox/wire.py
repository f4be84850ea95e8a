"""The bytes that travel between the grader and a child process that runs student code.

A message is a 4-byte big-endian length and that many bytes of UTF-8 JSON. Arrays travel inside the
JSON as ``{"__array__": [dtype, shape, base64 of the raw bytes]}`` with the dtype taken from a short
list of plain numeric types, so decoding never unpickles anything and never builds an object array:
whatever a submission writes on the channel can at worst be refused.
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 256 * 2**20  # no reply of an honest probe comes near; a flood is refused, not read
ALLOWED_DTYPES = frozenset(
    ["|b1", "|i1", "|u1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8"]
)
_HEADER = struct.Struct(">I")


class WireError(ValueError):
    """A message that is malformed, too large, or holds something other than plain data."""


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        array = (
            value if value.flags.c_contiguous else value.copy(order="C")
        )  # (ascontiguousarray makes 0-d 1-d)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        array = array.astype(dtype, copy=False)
        if dtype.str not in ALLOWED_DTYPES:
            raise WireError(f"arrays of dtype {array.dtype} cannot travel")
        return {
            "__array__": [dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]
        }
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(key): _to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise WireError(f"a {type(value).__name__} cannot travel; send arrays, numbers, strings, lists, dicts")


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return _decode_array(value["__array__"])
        return {key: _from_jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_jsonable(item) for item in value]
    return value


def _decode_array(spec: Any) -> np.ndarray:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise WireError("an array must be [dtype, shape, data]")
    dtype, shape, data = spec
    if dtype not in ALLOWED_DTYPES:
        raise WireError(f"arrays of dtype {dtype!r} are refused")
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise WireError(f"bad array shape {shape!r}")
    if not isinstance(data, str):
        raise WireError("array data must be base64 text")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise WireError(f"array of shape {shape} and dtype {dtype} needs {expected} bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()


def encode(message: Any) -> bytes:
    """A framed message: length header and JSON body (NaN and infinities allowed, as Python writes them)."""
    body = json.dumps(_to_jsonable(message), separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(body)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    return _HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> Any:
    """The message in a JSON body; WireError when it is anything but plain data."""
    try:
        return _from_jsonable(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError) as err:
        if isinstance(err, WireError):
            raise
        raise WireError(f"not a message: {err}") from err


def send(sock: socket.socket, message: Any) -> None:
    sock.sendall(encode(message))


def _recv_exactly(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete message before the deadline")
            sock.settimeout(left)
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, deadline: float | None = None) -> Any:
    """Read one framed message; TimeoutError when ``deadline`` (time.monotonic()) passes first."""
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size, deadline))
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size} bytes announced, over the {MAX_MESSAGE_BYTES}-byte limit")
    return decode_body(_recv_exactly(sock, size, deadline))
