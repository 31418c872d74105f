"""The statistics settings and 年度 targets file (``profiles/targets.yml``), validated on load.

A mistake names the offending key, as the municipality profile does. ``STATS_TARGETS`` points at
another file. Reading is blocking file I/O: async callers use :func:`load_async`.
"""
from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import yaml

from bot.paths import ROOT
from bot.stats.disclosure import DEFAULT_THRESHOLD
from bot.stats.events import TARGET_GROUPS

TARGETS_ENV = "STATS_TARGETS"
DEFAULT_TARGETS = ROOT / "profiles" / "targets.yml"
#: Figures a target may be set for (the words managers use in the 実績報告).
METRICS: Tuple[str, ...] = ("支援対象者数", "相談件数", "就職件数", "予約件数", "来所件数")
GROUP_METRICS: Tuple[str, ...] = ("支援対象者数", "相談件数", "就職件数")


class TargetsError(ValueError):
    pass


@dataclass(frozen=True)
class YearTargets:
    totals: Mapping[str, int] = field(default_factory=dict)
    groups: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class StatsSettings:
    min_cell: int = DEFAULT_THRESHOLD
    years: Mapping[int, YearTargets] = field(default_factory=dict)

    def targets_for(self, fy: int) -> YearTargets:
        return self.years.get(fy, YearTargets())


def load(path: Union[str, Path, None] = None) -> StatsSettings:
    chosen = path or os.environ.get(TARGETS_ENV) or DEFAULT_TARGETS
    resolved = Path(chosen).expanduser().resolve()
    try:
        stamp = resolved.stat().st_mtime_ns
    except FileNotFoundError:
        raise TargetsError(f"{resolved}: targets file not found (set {TARGETS_ENV})") from None
    return _load_cached(resolved, stamp)


async def load_async(path: Union[str, Path, None] = None) -> StatsSettings:
    return await asyncio.to_thread(load, path)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _stamp: int) -> StatsSettings:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise TargetsError(f"{path}: not valid YAML: {err}") from None
    try:
        return parse(raw)
    except TargetsError as err:
        raise TargetsError(f"{path}: {err}") from None


def parse(raw: Any) -> StatsSettings:
    """Settings from the file's YAML (pure)."""
    if raw is None:
        return StatsSettings()
    top = _mapping(raw, "file", ("statistics", "targets"))
    stats = _mapping(top.get("statistics") or {}, "statistics", ("min_cell",))
    min_cell = _count(stats.get("min_cell", DEFAULT_THRESHOLD), "statistics.min_cell", minimum=1)
    years: Dict[int, YearTargets] = {}
    for year, body in (_mapping(top.get("targets") or {}, "targets", None)).items():
        where = f"targets.{year}"
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise TargetsError(f"{where}: a 年度 is a year such as 2026")
        body = _mapping(body or {}, where, (*METRICS, "groups"))
        totals = {m: _count(body[m], f"{where}.{m}") for m in METRICS if m in body}
        groups: Dict[str, Dict[str, int]] = {}
        for group, figures in _mapping(body.get("groups") or {}, f"{where}.groups", tuple(TARGET_GROUPS)).items():
            figures = _mapping(figures or {}, f"{where}.groups.{group}", GROUP_METRICS)
            groups[group] = {m: _count(v, f"{where}.groups.{group}.{m}") for m, v in figures.items()}
        years[year] = YearTargets(totals=totals, groups=groups)
    return StatsSettings(min_cell=min_cell, years=years)


def _mapping(raw: Any, where: str, allowed: Optional[Tuple[str, ...]]) -> Mapping:
    if not isinstance(raw, Mapping):
        raise TargetsError(f"{where}: expected a mapping")
    if allowed is not None:
        for key in raw:
            if key not in allowed:
                raise TargetsError(f"{where}.{key}: unknown key (expected: {', '.join(allowed)})")
    return raw


def _count(raw: Any, where: str, minimum: int = 0) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum or raw > 10_000_000:
        raise TargetsError(f"{where}: expected a whole number >= {minimum}")
    return raw
