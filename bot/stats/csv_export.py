"""The report as CSV for Excel (pure): UTF-8 with a BOM, so Japanese opens correctly.

It is written from the published :class:`~bot.stats.report.Report` only — the same figures and
marks as the page, after the same disclosure control — so it cannot hold a hidden number or
anything about a person. One figure per line: 区分, 項目, 列, 値.
"""
from __future__ import annotations

import csv
import io

from bot.stats.report import Report

BOM = "\ufeff"
HEADER = ("区分", "項目", "列", "値")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Text Excel would run as a formula (a profile's office name starting with 「=」) is quoted."""
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Writer:
    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row) -> None:
        self._writer.writerow([_cell(str(cell)) for cell in row])


def to_csv(report: Report) -> bytes:
    out = io.StringIO()
    writer = _Writer(out)
    writer.writerow(HEADER)
    writer.writerow(("期間", report.period_label, "", ""))
    writer.writerow(("秘匿の基準", f"{report.threshold}未満の数と、逆算を防ぐために伏せた数は「{report.mark}」", "", ""))
    for figure in report.figures:
        writer.writerow(("主な件数", figure.label, "", figure.shown.text))
    for figure in report.rates:
        writer.writerow(("割合・時間", figure.label, "", figure.shown.text))
    for table in report.tables:
        for row in table.rows:
            for column, cell in zip(table.columns, row.cells):
                writer.writerow((table.title, row.label, column, cell.text))
    for figure in report.rare:
        writer.writerow(("単独でのみ集計する項目（人数）", figure.label, "", figure.shown.text))
    for target in report.targets:
        item = f"{target.group}：{target.metric}" if target.group else target.metric
        writer.writerow(("目標と実績", item, "目標", f"{target.target:,}"))
        writer.writerow(("目標と実績", item, "実績", target.actual.text))
        writer.writerow(("目標と実績", item, "達成率", target.progress))
    return (BOM + out.getvalue()).encode("utf-8")
