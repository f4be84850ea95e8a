"""The child's messages: plain arrays and JSON only, never a pickle, never an object array."""

from __future__ import annotations

import base64
import json
import pickle
import socket
import struct
import threading
import time

import numpy as np
import pytest

from autograder.sandbox import wire


@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]
)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_arrays_travel_exactly(dtype, shape):
    values = (np.arange(int(np.prod(shape))) % 7).astype(dtype).reshape(shape)
    message = {"outputs": {"x": values, "nested": [values, {"n": 1.5, "s": "text", "none": None}]}}
    back = wire.decode_body(wire.encode(message)[4:])
    for got in (back["outputs"]["x"], back["outputs"]["nested"][0]):
        assert got.dtype == values.dtype and got.shape == values.shape and np.array_equal(got, values)
    assert back["outputs"]["nested"][1] == {"n": 1.5, "s": "text", "none": None}


def test_big_endian_arrays_arrive_little_endian():
    values = np.arange(4, dtype=">f4")
    back = wire.decode_body(wire.encode({"x": values})[4:])["x"]
    assert back.dtype == np.dtype("<f4") and np.array_equal(back, values)


@pytest.mark.parametrize("value", [np.array([object()]), np.array(["text"]), object(), {1, 2}])
def test_anything_but_plain_data_is_refused_on_the_way_out(value):
    with pytest.raises(wire.WireError):
        wire.encode({"x": value})


def _body(payload) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "payload",
    [
        {"__array__": ["|O", [1], base64.b64encode(pickle.dumps([1])).decode()]},  # an object array
        {"__array__": ["<f4", [2], base64.b64encode(b"\0" * 4).decode()]},  # too few bytes
        {"__array__": ["<f4", [-1], ""]},  # a negative shape
        {"__array__": ["<f4", [1]]},  # malformed
    ],
)
def test_malformed_or_dangerous_arrays_are_refused_on_the_way_in(payload):
    with pytest.raises(wire.WireError):
        wire.decode_body(_body({"x": payload}))


def test_a_pickle_is_not_a_message():
    with pytest.raises(wire.WireError):
        wire.decode_body(pickle.dumps({"score": 70}))


def test_a_flood_is_refused_before_it_is_read():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(struct.pack(">I", wire.MAX_MESSAGE_BYTES + 1))
        with pytest.raises(wire.WireError, match="over the"):
            wire.receive(ours)


def test_a_message_that_does_not_arrive_in_time_raises_timeout():
    """Half a message, and the rest only after the deadline: TimeoutError at the deadline, not later."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        body = json.dumps({"x": 1}).encode()
        theirs.sendall(struct.pack(">I", len(body)) + body[:1])
        rest = threading.Timer(3.0, theirs.sendall, (body[1:],))  # too late, but a blocking read returns
        rest.start()
        started = time.monotonic()
        try:
            with pytest.raises(TimeoutError):
                wire.receive(ours, deadline=started + 0.5)
        finally:
            rest.cancel()
            rest.join()
        assert 0.5 <= time.monotonic() - started < 2.5


def test_a_message_that_arrives_in_pieces_before_the_deadline_is_received():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        message = wire.encode({"x": np.arange(3), "text": "in time"})
        theirs.sendall(message[:3])
        rest = threading.Timer(0.2, theirs.sendall, (message[3:],))
        rest.start()
        try:
            back = wire.receive(ours, deadline=time.monotonic() + 10)
        finally:
            rest.join()
        assert back["text"] == "in time" and np.array_equal(back["x"], np.arange(3))
