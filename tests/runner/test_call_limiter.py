"""The call limiter: a concurrency that a server's behaviour can lower mid-run."""

from __future__ import annotations

import asyncio

from puma.runner.execute import CallLimiter


def test_a_lowered_limit_holds_new_calls_until_the_ones_in_flight_have_finished() -> None:
    async def go() -> tuple[list[int], list[int]]:
        limiter = CallLimiter(2)
        in_flight = 0
        peaks: list[int] = []
        granted: list[int] = []
        both_in = asyncio.Event()

        async def call(i: int) -> None:
            nonlocal in_flight
            async with limiter.slot() as limit:
                granted.append(limit)
                in_flight += 1
                peaks.append(in_flight)
                if in_flight == 2:
                    both_in.set()
                if i == 0:
                    await both_in.wait()
                    assert limiter.lower(1)  # as after an interrupted stream
                    assert not limiter.lower(1)  # a second time changes nothing
                await asyncio.sleep(0.01)
                in_flight -= 1

        await asyncio.gather(*(call(i) for i in range(6)))
        return peaks, granted

    peaks, granted = asyncio.run(go())

    assert granted[:2] == [2, 2]  # the first two were let in together
    assert granted[2:] == [1, 1, 1, 1] and peaks[2:] == [1, 1, 1, 1]  # then one at a time
