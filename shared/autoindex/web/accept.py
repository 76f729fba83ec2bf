"""Which of JSON and CSV a request's ``Accept`` header prefers, with its q-values honoured (RFC 9110 12.5.1)."""

from __future__ import annotations


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0  # a malformed weight is read as "not acceptable", never as a preference
    return 1.0


def qualities(header: str) -> dict[str, float]:
    """Each listed media range (lower case, parameters other than q dropped) and its weight; the highest wins."""
    out: dict[str, float] = {}
    for part in header.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        if media:
            out[media] = max(out.get(media, 0.0), _quality(params))
    return out


def prefers_csv(header: str) -> bool:
    """CSV when ``text/csv`` is listed with a weight above 0 and at least that of ``application/json``.

    Only an explicit ``text/csv`` asks for CSV: ``*/*`` and ``text/*`` keep the JSON a client gets by default.
    """
    weights = qualities(header)
    csv = weights.get("text/csv", 0.0)
    return csv > 0.0 and csv >= weights.get("application/json", 0.0)
