"""Credits counted for the block that spent them, and for no other."""

from __future__ import annotations

import threading

from autoindex.market.providers import credit_meter
from autoindex.market.providers.credit_meter import metering


def test_a_block_counts_its_own_calls_and_an_inner_block_counts_alone() -> None:
    credit_meter.count(5)  # outside any block: nobody is billed
    with metering() as outer:
        credit_meter.count(2)
        with metering() as inner:
            credit_meter.count(3)
        credit_meter.count(1)
    assert (outer.reserved, inner.reserved) == (3, 3)


def test_another_thread_s_calls_are_not_counted_in_this_block() -> None:
    with metering() as mine:
        worker = threading.Thread(target=credit_meter.count, args=(7,))
        worker.start()
        worker.join()
        credit_meter.count(1)
    assert mine.reserved == 1
