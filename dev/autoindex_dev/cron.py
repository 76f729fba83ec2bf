"""Just enough of EventBridge's ``cron(min hour day-of-month month day-of-week year)`` to run schedules locally."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The set a field allows, or None for any (``*`` and ``?``)."""
    if field in ("*", "?"):
        return None
    allowed: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", ""):
            first, last = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = names.get(a.upper()) or int(a), names.get(b.upper()) or int(b)
        else:
            first = names.get(base.upper()) or int(base)
            last = high if step_text else first
        allowed.update(range(first, last + 1, step))
    return allowed


class Cron:
    """A parsed ``cron(...)`` or ``rate(N unit)`` expression that says whether a minute matches.

    ``timezone`` is EventBridge Scheduler's ``ScheduleExpressionTimezone``: the fields are read on that
    zone's wall clock (so ``cron(35 16 ...)`` in America/New_York follows daylight saving).
    """

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)
        text = expression.strip()
        self.rate_minutes: int | None = None
        if text.startswith("rate(") and text.endswith(")"):
            amount, unit = text[5:-1].split()
            self.rate_minutes = int(amount) * {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440,
                                               "days": 1440}[unit]  # fmt: skip
            return
        if not (text.startswith("cron(") and text.endswith(")")):
            raise ValueError(f"not a schedule expression: {expression!r}")
        fields = text[5:-1].split()
        if len(fields) != 6:
            raise ValueError(f"cron needs six fields: {expression!r}")
        self.minute = _values(fields[0], 0, 59, {})
        self.hour = _values(fields[1], 0, 23, {})
        self.day = _values(fields[2], 1, 31, {})
        self.month = _values(fields[3], 1, 12, _MONTHS)
        self.weekday = _values(fields[4], 1, 7, _DAYS)  # 1 = Sunday, as in EventBridge

    def matches(self, moment: datetime) -> bool:
        if self.rate_minutes is not None:
            return int(moment.timestamp() // 60) % self.rate_minutes == 0
        moment = moment.astimezone(self.zone)
        checks = (
            (self.minute, moment.minute),
            (self.hour, moment.hour),
            (self.day, moment.day),
            (self.month, moment.month),
            (self.weekday, moment.isoweekday() % 7 + 1),
        )
        return all(allowed is None or value in allowed for allowed, value in checks)
