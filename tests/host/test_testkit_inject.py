# SPDX-License-Identifier: MIT
"""pyuapi/testkit/inject.py without a tap: send_all() sends in order and
refuses a short send."""
import errno

import pytest

from pyuapi.testkit.inject import Injector


class _Recorder(Injector):
    def __init__(self, short_at: int = -1) -> None:  # no socket
        self.ifname, self.sent, self.short_at = "rec0", [], short_at

    def send(self, frame: bytes, proto: int | None = None) -> int:
        self.sent.append(frame)
        return len(frame) - (len(self.sent) - 1 == self.short_at)


def test_send_all_sends_every_frame_in_order() -> None:
    inj = _Recorder()
    frames = [bytes([i]) * (60 + i) for i in range(5)]
    assert inj.send_all(iter(frames)) == 5
    assert inj.sent == frames


def test_send_all_raises_on_a_short_send() -> None:
    inj = _Recorder(short_at=2)
    with pytest.raises(OSError) as e:
        inj.send_all([bytes(60)] * 4)
    assert e.value.errno == errno.EMSGSIZE and "rec0: sent 59 of 60 bytes" in str(e.value)
    assert len(inj.sent) == 3
