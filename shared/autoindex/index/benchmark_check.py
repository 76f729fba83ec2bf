"""Refuse a benchmark blend no compute could use, when it is saved rather than on every later read.

A blend naming an unknown, inactive or never-priced asset used to be accepted: the compute "succeeded",
then every compare answered 422 and risk metrics showed no benchmark. The rule needs the database, so
the schema cannot state it; the PUT's 422 description does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoindex.errors import ValidationFailed
from autoindex.market import queries as market_repo

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from autoindex.index.engine.strategy import StrategyParams


def check_blend(session: Session, params: StrategyParams) -> None:
    """Raise a 422 naming the first blend symbol that is unknown, inactive or has no stored close."""
    if params.benchmark_blend is None:
        return
    symbols = [part.symbol for part in params.benchmark_blend]
    usable = market_repo.usable_as_benchmark(session, symbols)
    for position, symbol in enumerate(symbols):
        if symbol not in usable:
            reason = f"The benchmark asset {symbol} is not a known, active asset with stored prices."
            loc = ["body", "params", "benchmark_blend", position, "symbol"]
            raise ValidationFailed(reason, extensions={"errors": [{"loc": loc, "msg": reason}]})
