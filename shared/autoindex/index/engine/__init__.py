"""The index engine: pure functions over NumPy arrays, no I/O.

The method it implements is described once, in ``docs/index-method.md``; the module docstrings say
what each module does and point there.

Modules, one job each:

- ``strategy``: the validated strategy parameters (imports no NumPy, so routes may use it at cold start);
- ``cleaning``: from raw closes to cleaned daily returns;
- ``weights``: the weight decision at one rebalance date, from data strictly before it;
- ``schedule``: which dates are rebalance dates;
- ``state``: the carry-over that lets a computed index be extended by new days;
- ``index``: the index series, allocations and drifted weights (full and incremental);
- ``result``: what ``index`` returns (``IndexResult``, ``Rebalance``);
- ``metrics``, ``periods``: risk metrics, per period window and rolling;
- ``simulation``: "what if I had invested" with historical FX rates.

This ``__init__`` deliberately imports nothing: importing ``autoindex.index.engine.strategy`` must not load NumPy.
"""
