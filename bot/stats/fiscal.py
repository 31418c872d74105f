"""Japanese fiscal years (年度, April to March) and the day ranges the dashboard filters on (pure)."""
from __future__ import annotations

from datetime import date
from typing import List, Optional, Tuple

#: Month numbers in fiscal order: April first, March last.
FISCAL_MONTHS: Tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
#: 令和 1 = 2019, so 令和 year = Western year - 2018.
_REIWA_OFFSET = 2018


def fiscal_year(day: date) -> int:
    """The 年度 a day belongs to: 2027-03-31 is in 2026年度, 2027-04-01 in 2027年度."""
    return day.year if day.month >= 4 else day.year - 1


def calendar_year(fy: int, month: int) -> int:
    """The calendar year of ``month`` within fiscal year ``fy`` (January–March fall in ``fy + 1``)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month!r}")
    return fy if month >= 4 else fy + 1


def period(fy: int, month: Optional[int] = None) -> Tuple[date, date]:
    """First and last day (inclusive) of a fiscal year, or of one of its months."""
    if month is None:
        return date(fy, 4, 1), date(fy + 1, 3, 31)
    year = calendar_year(fy, month)
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def label(fy: int) -> str:
    """「2026年度（令和8年度）」."""
    reiwa = fy - _REIWA_OFFSET
    return f"{fy}年度（令和{reiwa}年度）" if reiwa >= 1 else f"{fy}年度"


def month_label(fy: int, month: int) -> str:
    """「2027年1月」 for January of 2026年度."""
    return f"{calendar_year(fy, month)}年{month}月"


def months(fy: int) -> List[Tuple[int, int]]:
    """(calendar year, month) of the twelve months of a fiscal year, April first."""
    return [(calendar_year(fy, m), m) for m in FISCAL_MONTHS]
