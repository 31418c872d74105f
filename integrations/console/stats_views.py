"""The statistics dashboard (``/stats``) and its CSV export (``/stats.csv``), for managers.

Both read grouped counts (``bot.db.stats_queries``), apply disclosure control once
(``bot.stats.report``) and show only what is published; the CSV is written from the same report.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from aiohttp import web

from bot.db import stats as stats_db
from bot.db.stats_queries import counts
from bot.profile import load_profile
from bot.stats import charts, fiscal
from bot.stats.csv_export import to_csv
from bot.stats.report import Report, TableView, build_report
from bot.stats.targets import StatsSettings, TargetsError, load_async
from integrations.console import audit
from integrations.console.app import console_of
from integrations.console.auth import require_role
from integrations.console.intake_summary import DESTINATION_LABELS
from integrations.console.views import render

log = logging.getLogger(__name__)
MONTH_CHOICES = [(m, f"{m}月") for m in fiscal.FISCAL_MONTHS]


class BadFilter(ValueError):
    pass


def parse_filters(query, today_fy: int) -> Tuple[int, Optional[int]]:
    """年度 and month from the query string; empty means this 年度 and the whole year."""
    def number(name: str, low: int, high: int) -> Optional[int]:
        raw = query.get(name, "")
        if raw == "":
            return None
        if not raw.isdigit() or len(raw) > 4 or not low <= int(raw) <= high:
            raise BadFilter(name)
        return int(raw)

    fy = number("fy", 2000, 2100)
    return (today_fy if fy is None else fy), number("month", 1, 12)


async def _settings() -> Tuple[StatsSettings, Optional[str]]:
    try:
        return await load_async(), None
    except TargetsError as err:
        log.error("statistics targets file is invalid: %s", err)
        return StatsSettings(), "目標値のファイル（targets.yml）に誤りがあるため、目標は表示していません。秘匿の基準は10です。"


async def build(request: web.Request) -> Tuple[Report, Optional[str], int]:
    console = console_of(request)
    today_fy = fiscal.fiscal_year(datetime.now(console.tz).date())
    try:
        fy, month = parse_filters(request.query, today_fy)
    except BadFilter:
        raise web.HTTPBadRequest() from None
    (settings, problem), profile, grouped = await asyncio.gather(
        _settings(), asyncio.to_thread(load_profile), counts(console.engine, fy, month))
    labels = {code: DESTINATION_LABELS.get(code, d.name) for code, d in profile.destinations.items()}
    report = build_report(grouped, threshold=settings.min_cell, targets=settings.targets_for(fy),
                          destination_order=list(profile.destinations), destination_labels=labels)
    return report, problem, today_fy


def chart_of(table: TableView) -> charts.Chart:
    rows = [row for row in table.rows if not row.total]
    if table.chart == "columns":  # months of the first row
        first = table.rows[0]
        return charts.columns(f"{table.title}：{first.label}",
                              list(zip(table.columns[:-1], first.cells[:-1])))
    column = table.chart_column
    title = table.title if len(table.columns) == 1 else f"{table.title}：{table.columns[column]}"
    return charts.bars(title, [(row.label, row.cells[column]) for row in rows])


def _query(fy: int, month: Optional[int]) -> str:
    return f"fy={fy}" + (f"&month={month}" if month else "")


@require_role("manager")
async def stats_page(request: web.Request) -> web.Response:
    console, user = console_of(request), request["user"]
    report, problem, today_fy = await build(request)
    years = sorted(set(await stats_db.years_with_data(console.engine)) | {today_fy, report.fiscal_year}, reverse=True)
    await audit.record(console.engine, "stats_view", user_id=user.id, detail=f"fy:{report.fiscal_year}")
    context: Dict[str, Any] = {
        "report": report, "problem": problem,
        "years": [(y, fiscal.label(y)) for y in years], "months": MONTH_CHOICES,
        "sections": [(table, chart_of(table)) for table in report.tables],
        "targets_chart": _targets_chart(report), "csv_url": "/stats.csv?" + _query(report.fiscal_year, report.month),
    }
    return render(request, "stats.html", context)


def _targets_chart(report: Report) -> List[Dict[str, Any]]:
    """Progress bars of the targets: the share reached, capped at the bar's end (120%)."""
    out = []
    for row in report.targets:
        share = None if row.actual.hidden or row.target <= 0 else row.actual.value / row.target
        out.append({"row": row, "width": None if share is None else round(min(share, 1.2) / 1.2 * 300, 1),
                    "target_x": round(1 / 1.2 * 300, 1)})
    return out


@require_role("manager")
async def stats_csv(request: web.Request) -> web.Response:
    console, user = console_of(request), request["user"]
    report, _, _ = await build(request)
    await audit.record(console.engine, "stats_export", user_id=user.id, detail=f"fy:{report.fiscal_year}")
    name = f"stats-{report.fiscal_year}" + (f"-{report.month:02d}" if report.month else "") + ".csv"
    return web.Response(body=to_csv(report), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
    })


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/stats", stats_page, name="stats")
    app.router.add_get("/stats.csv", stats_csv, name="stats_csv")
