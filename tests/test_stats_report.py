"""The published report (pure): figures, rates and medians only from published numbers, charts
that never draw a hidden figure, the CSV for Excel, and the targets file."""
from __future__ import annotations

import csv
import io

import pytest

from bot.db.stats_queries import Counts
from bot.stats import charts
from bot.stats.csv_export import to_csv
from bot.stats.report import Shown, build_report
from bot.stats.targets import TargetsError, YearTargets, parse

DESTS = ["jiritsu_soudan", "hellowork", "saposute"]


def counts(month=None, **changes) -> Counts:
    c = Counts(fiscal_year=2026, month=month)
    c.by_kind_month = {"referral": {m: 30 for m in range(1, 13)}, "booking": {m: 12 for m in range(1, 13)},
                       "attended": {m: 10 for m in range(1, 13)}, "no_show": {m: 3 for m in range(1, 13)},
                       "handoff": {4: 12}}
    if month is not None:
        c.by_kind_month = {k: {month: v.get(month, 0)} for k, v in c.by_kind_month.items()}
    ref = sum(c.by_kind_month["referral"].values())
    c.partitions = {"channel": {"line": ref - ref // 9, "webchat": ref // 9},
                    "urgency": {"normal": ref - ref // 24, "emergency": ref // 24},
                    "age_band": {"40代": ref}, "household": {"unknown": ref}}
    bookings = sum(c.by_kind_month["booking"].values())
    c.destinations = {"referral": {"jiritsu_soudan": ref}, "booking": {"hellowork": bookings},
                      "attended": {"hellowork": sum(c.by_kind_month["attended"].values())},
                      "no_show": {"hellowork": sum(c.by_kind_month["no_show"].values())}}
    c.outcomes = {"employed_referral": 14, "employed_other": 11, "continuing": 40, "ended": 12}
    c.persons, c.minutes_count, c.minutes_median = 250, 360, 95.0
    for key, value in changes.items():
        setattr(c, key, value)
    return c


def figure(report, key):
    return {f.key: f.shown.text for f in report.figures + report.rates}[key]


def test_figures_rates_and_targets_of_a_year():
    targets = YearTargets(totals={"支援対象者数": 200, "相談件数": 500, "就職件数": 40},
                          groups={"youth": {"支援対象者数": 20}})
    report = build_report(counts(), threshold=10, targets=targets, destination_order=DESTS)
    assert figure(report, "persons") == "250" and figure(report, "consultations") == "360"
    assert figure(report, "no_show_rate") == "23.1%"  # 36 / (120 + 36)
    assert figure(report, "employment_rate") == "32.5%"  # 25 / 77
    assert figure(report, "median_minutes") == "1時間35分"
    rows = {(t.group, t.metric): (t.actual.text, t.progress) for t in report.targets}
    assert rows[("", "支援対象者数")] == ("250", "125%") and rows[("", "就職件数")] == ("25", "62%")
    assert rows[("若者", "支援対象者数")] == ("10未満", "—")
    urgency = next(t for t in report.tables if t.key == "urgency")
    assert [(r.label, r.cells[0].text) for r in urgency.rows] == [("通常", "345"), ("至急・緊急", "15"), ("計", "360")]


def test_rates_and_the_median_never_reveal_a_hidden_number():
    report = build_report(counts(outcomes={"employed_referral": 4, "employed_other": 3, "continuing": 40, "ended": 2},
                                 minutes_count=9, minutes_median=12.0), threshold=10, destination_order=DESTS)
    assert figure(report, "employed") == "10未満"
    assert figure(report, "employment_rate") == "—"  # 7 / 49 would give 7 away
    assert figure(report, "median_minutes") == "—"  # nine values: too few
    outcome = {r.label: r.cells[0].text for r in next(t for t in report.tables if t.key == "outcomes").rows}
    assert outcome == {"就職（紹介就職）": "10未満", "就職（その他）": "10未満", "就職 計": "10未満", "継続支援": "40",
                       "終了": "10未満", "計": "49"}  # 49 - 40 = 9 is shared by 就職 and 終了: neither is known


def test_a_month_has_no_month_table_and_no_targets():
    report = build_report(counts(month=5), threshold=10, targets=YearTargets(totals={"相談件数": 10}),
                          destination_order=DESTS)
    assert "monthly" not in [t.key for t in report.tables] and report.targets == []
    assert report.period_label == "2026年度（令和8年度） 2026年5月" and figure(report, "consultations") == "30"


def test_charts_draw_only_published_figures():
    chart = charts.bars("チャネル別", [("LINE", Shown("300", 300)), ("Telegram", Shown("10未満", None)),
                                       ("Webチャット", Shown("150", 150))])
    line, telegram, web = chart.bars
    assert telegram.hidden and telegram.width == 0 and telegram.text == "10未満"
    assert web.width == pytest.approx(line.width / 2, abs=0.1)  # scaled to the largest visible figure
    assert chart.desc == "LINE 300、Telegram 10未満、Webチャット 150"
    months = charts.columns("月別", [("4月", Shown("12", 12)), ("5月", Shown("10未満", None))])
    assert months.bars[1].height == 0 and months.bars[0].height > 0


def test_csv_has_a_bom_one_figure_per_line_and_no_formulas():
    report = build_report(counts(), threshold=10, destination_order=DESTS,
                          destination_labels={"jiritsu_soudan": "=HYPERLINK(\"http://x\")", "hellowork": "ハローワーク"})
    data = to_csv(report)
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["区分", "項目", "列", "値"] and all(len(r) == 4 for r in rows)
    assert ["主な件数", "支援対象者数（実件数）", "", "250"] in rows
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert any(cell.startswith("'=HYPERLINK") for row in rows for cell in row)


def test_targets_file_is_checked():
    settings = parse({"statistics": {"min_cell": 5}, "targets": {2026: {"就職件数": 40, "groups": {"youth": {"支援対象者数": 9}}}}})
    assert settings.min_cell == 5 and settings.targets_for(2026).totals == {"就職件数": 40}
    assert settings.targets_for(2030) == YearTargets()
    assert parse(None).min_cell == 10
    for bad in ({"statistics": {"min_cell": 0}}, {"targets": {2026: {"就職者数": 3}}},
                {"targets": {"令和8": {"相談件数": 3}}}, {"targets": {2026: {"groups": {"dv": {"相談件数": 1}}}}},
                {"targets": {2026: {"相談件数": -1}}}, {"target": {}}):
        with pytest.raises(TargetsError):
            parse(bad)
