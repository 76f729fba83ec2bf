"""Shared helpers for the benchmarks: timing fresh processes, and printing ratios against a baseline."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_fresh_process(code: str, env: dict[str, str] | None = None) -> float:
    """Wall seconds for a fresh interpreter to run ``code`` (interpreter start-up included)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def report(name: str, measured: list[float], baseline: list[float], goal: float | None, unit: str = "ms") -> bool:
    """Print the medians and their ratio; ``goal=None`` records the figure without judging it."""
    scale = 1000 if unit == "ms" else 1_000_000
    m, b = statistics.median(measured), statistics.median(baseline)
    ratio = m / b
    met = goal is None or ratio <= goal
    verdict = "recorded, no goal" if goal is None else f"goal <= {goal}x, {'OK' if met else 'OVER GOAL'}"
    shown = f"1/{1 / ratio:.0f}" if 0 < ratio < 0.1 else f"{ratio:.2f}x"
    print(f"{name}: median {m * scale:.2f} {unit} vs baseline {b * scale:.2f} {unit} -> {shown} ({verdict})")
    return met
