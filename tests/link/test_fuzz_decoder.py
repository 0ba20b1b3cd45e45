"""Property-based fuzzing (hypothesis) of the Python stream decoder: it never raises, never
holds more than one bounded frame, and valid messages survive any surrounding noise."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyheat.link import protocol as p

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

messages = st.tuples(st.integers(0, 255), st.integers(0, 65535), st.binary(max_size=p.MAX_PAYLOAD))


@FUZZ
@given(st.lists(st.binary(max_size=3000), max_size=8))
def test_arbitrary_bytes_never_raise_and_stay_bounded(chunks):
    d = p.StreamDecoder()
    for c in chunks:
        for raw in d.feed(c):
            assert len(raw.payload) <= p.MAX_PAYLOAD
            try:
                p.parse(raw)
            except p.ProtocolError:
                pass
        assert len(d._buf) <= p.MAX_WIRE


@FUZZ
@given(st.binary(max_size=600), messages, st.binary(max_size=600), st.integers(1, 400))
def test_a_message_after_noise_and_a_delimiter_is_received(noise, msg, tail, chunk):
    t, seq, payload = msg
    d = p.StreamDecoder()
    data = noise + b"\x00" + p.frame(t, seq, payload) + tail
    got = []
    for i in range(0, len(data), chunk):
        got += d.feed(data[i:i + chunk])
    assert p.RawMessage(t, seq, payload) in got


@FUZZ
@given(messages, st.data())
def test_any_single_byte_corruption_is_dropped_and_counted(msg, data):
    t, seq, payload = msg
    w = bytearray(p.frame(t, seq, payload))
    i = data.draw(st.integers(0, len(w) - 2))
    w[i] ^= data.draw(st.integers(1, 255))
    if w[i] == 0:  # the flip made a delimiter: the frame splits in two, both parts are dropped
        pass
    d = p.StreamDecoder()
    got = d.feed(bytes(w) + p.frame(1, 2, b"next"))
    assert got[-1] == p.RawMessage(1, 2, b"next")
    assert p.RawMessage(t, seq, payload) not in got[:-1]
    assert d.stats.corrupt >= 1
