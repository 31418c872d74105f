"""The managers' report: grouped counts → published figures, after disclosure control (pure).

Every number the dashboard or the CSV shows is an *element* with an id. Elements that add up are
tied by :class:`~bot.stats.disclosure.Line`s — a month row to its 年度 total, the categories of a
dimension to the number of consultations, bookings per office to all bookings, the outcomes to
their 計 — and one call of :func:`~bot.stats.disclosure.suppress` over all of them decides what is
hidden, so no table gives away what another hides. The views built here carry only what is
published: a hidden element has ``value=None`` and its text is the mark, so no chart or export
can leak it.

Rare flags (violence, emergency, cancer, care leavers) are single totals of distinct people,
never crossed with anything; the urgency table merges 緊急 into 「至急・緊急」 for that reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from bot.db.stats_queries import Counts
from bot.stats import fiscal
from bot.stats.disclosure import Line, marker, suppress
from bot.stats.events import OUTCOMES, RARE_FLAGS, TARGET_GROUPS
from bot.stats.targets import YearTargets

#: Rows of the month table, in this order.
MONTHLY_KINDS: Dict[str, str] = {
    "referral": "相談件数（延べ）", "booking": "予約", "attended": "来所", "no_show": "来所なし（無断）",
    "handoff": "職員への引き継ぎ",
}
#: Categories shown for each dimension (always all of them, so a row's presence says nothing),
#: each with the stored codes it gathers.
CATEGORIES: Dict[str, Tuple[Tuple[str, str, Tuple[str, ...]], ...]] = {
    "channel": (("webchat", "Webチャット", ("webchat", "socketio")), ("line", "LINE", ("line",)),
                ("telegram", "Telegram", ("telegram",)), ("rest", "REST（連携システム）", ("rest",)),
                ("other", "その他", ("cmdline", "console", "other"))),
    "urgency": (("normal", "通常", ("normal",)), ("urgent", "至急・緊急", ("urgent", "emergency"))),
    "age_band": (("10", "10代以下", ("10歳未満", "10代")),
                 *((f"{d}", f"{d}代", (f"{d}代",)) for d in range(20, 90, 10)),
                 ("90", "90代以上", ("90代以上",)), ("unknown", "不明・回答なし", ("unknown",))),
    "household": (("alone", "ひとり暮らし", ("alone",)), ("with_partner", "配偶者・パートナーと", ("with_partner",)),
                  ("with_parents", "親と", ("with_parents",)), ("single_parent", "ひとり親（子どもと）", ("single_parent",)),
                  ("other", "その他", ("other",)), ("unknown", "不明・回答なし", ("unknown",))),
}
DIMENSION_TITLES = {"channel": "チャネル別", "urgency": "緊急度別", "age_band": "年代別", "household": "世帯別"}
DESTINATION_KINDS: Dict[str, str] = {"referral": "紹介（延べ）", "booking": "予約", "attended": "来所", "no_show": "来所なし"}
#: Target figures and the element holding the actual value.
TARGET_ACTUALS = {"支援対象者数": "persons", "相談件数": "total.referral", "就職件数": "outcome.employed",
                  "予約件数": "total.booking", "来所件数": "total.attended"}
GROUP_ACTUALS = {"支援対象者数": "group.persons.{}", "相談件数": "group.events.{}", "就職件数": "group.employed.{}"}


@dataclass(frozen=True)
class Shown:
    """One published figure: its text, and its value only when it is not hidden."""

    text: str
    value: Optional[int]

    @property
    def hidden(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class TableRow:
    label: str
    cells: Tuple[Shown, ...]
    total: bool = False  # the 計 row


@dataclass(frozen=True)
class TableView:
    key: str
    title: str
    columns: Tuple[str, ...]
    rows: Tuple[TableRow, ...]
    note: str = ""
    chart_column: int = -1  # which column the bar chart draws (-1: the last)
    chart: str = "bars"  # bars (categories) or columns (months)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    shown: Shown
    hint: str = ""


@dataclass(frozen=True)
class TargetRow:
    group: str  # "" for the whole city
    metric: str
    target: int
    actual: Shown
    progress: str  # 「75%」 or 「—」


@dataclass
class Report:
    fiscal_year: int
    month: Optional[int]
    threshold: int
    period_label: str
    figures: List[Figure] = field(default_factory=list)
    rates: List[Figure] = field(default_factory=list)
    tables: List[TableView] = field(default_factory=list)
    rare: List[Figure] = field(default_factory=list)
    targets: List[TargetRow] = field(default_factory=list)
    hidden_ids: frozenset = frozenset()

    @property
    def mark(self) -> str:
        return marker(self.threshold)


# --------------------------------------------------------------------------- elements and lines


class _Sheet:
    """Values and lines collected while the report is laid out."""

    def __init__(self) -> None:
        self.values: Dict[str, int] = {}
        self.lines: List[Line] = []

    def put(self, key: str, value: int) -> str:
        if key in self.values and self.values[key] != value:
            raise ValueError(f"{key}: two different values")
        self.values[key] = int(value)
        return key

    def line(self, total: str, parts: Sequence[str]) -> None:
        self.lines.append(Line(total, tuple(parts)))


def _gather(counts: Mapping[str, int], codes: Sequence[str]) -> int:
    return sum(counts.get(code, 0) for code in codes)


def layout(c: Counts, destination_order: Sequence[str]) -> Tuple[_Sheet, Dict[str, object]]:
    """Every element and line of the report, and the plan of its tables."""
    sheet, plan = _Sheet(), {}
    months = fiscal.FISCAL_MONTHS if c.month is None else (c.month,)
    totals = {kind: sum(c.by_kind_month.get(kind, {}).get(m, 0) for m in months) for kind in MONTHLY_KINDS}
    for kind, total in totals.items():
        sheet.put(f"total.{kind}", total)
    if c.month is None:  # the month table: each kind's months add up to its 年度 total
        for kind in MONTHLY_KINDS:
            cells = [sheet.put(f"m.{kind}.{m}", c.by_kind_month.get(kind, {}).get(m, 0)) for m in months]
            sheet.line(f"total.{kind}", cells)
    sheet.put("persons", c.persons)

    for dim, categories in CATEGORIES.items():  # each dimension splits the consultations
        counts = c.partitions.get(dim, {})
        values = [_gather(counts, codes) for _, _, codes in categories]
        values[-1] += totals["referral"] - sum(values)  # a stored code outside the vocabulary: その他/不明
        cells = [sheet.put(f"{dim}.{key}", v) for (key, _, _), v in zip(categories, values)]
        sheet.line("total.referral", cells)

    order = list(dict.fromkeys(destination_order))
    for kind in DESTINATION_KINDS:  # bookings and attendance have one destination each: they add up
        counts = c.destinations.get(kind, {})
        cells = [sheet.put(f"dest.{kind}.{code}", counts.get(code, 0)) for code in order]
        listed = sum(counts.get(code, 0) for code in order)
        if kind == "referral":
            cells.append(sheet.put(f"dest.{kind}.other", sum(v for k, v in counts.items() if k not in order)))
        else:
            cells.append(sheet.put(f"dest.{kind}.other", max(0, totals[kind] - listed)))
            sheet.line(f"total.{kind}", cells)

    for group in TARGET_GROUPS:  # groups overlap: single figures, no lines
        sheet.put(f"group.events.{group}", c.group_events.get(group, 0))
        sheet.put(f"group.persons.{group}", c.group_persons.get(group, 0))
        sheet.put(f"group.employed.{group}", c.group_employed.get(group, 0))
    for flag in RARE_FLAGS:
        sheet.put(f"rare.{flag}", c.flag_persons.get(flag, 0))

    for code in OUTCOMES:
        sheet.put(f"outcome.{code}", c.outcomes.get(code, 0))
    sheet.put("outcome.employed", c.outcomes.get("employed_referral", 0) + c.outcomes.get("employed_other", 0))
    sheet.line("outcome.employed", ["outcome.employed_referral", "outcome.employed_other"])
    sheet.put("outcome.total", sum(sheet.values[f"outcome.{k}"] for k in ("employed", "continuing", "ended")))
    sheet.line("outcome.total", ["outcome.employed", "outcome.continuing", "outcome.ended"])
    plan["months"] = months
    plan["destinations"] = order
    return sheet, plan


# --------------------------------------------------------------------------- the report


def build_report(c: Counts, *, threshold: int, targets: Optional[YearTargets] = None,
                 destination_order: Sequence[str] = (), destination_labels: Optional[Mapping[str, str]] = None) -> Report:
    """The published report of one period. ``destination_order`` lists the profile's codes."""
    sheet, plan = layout(c, destination_order)
    hidden = suppress(sheet.values, sheet.lines, threshold)
    mark = marker(threshold)

    def shown(key: str) -> Shown:
        return Shown(mark, None) if key in hidden else Shown(f"{sheet.values[key]:,}", sheet.values[key])

    labels = dict(destination_labels or {})
    period = fiscal.label(c.fiscal_year) + (f" {fiscal.month_label(c.fiscal_year, c.month)}" if c.month else "")
    report = Report(fiscal_year=c.fiscal_year, month=c.month, threshold=threshold, period_label=period,
                    hidden_ids=frozenset(hidden))
    report.figures = [
        Figure("persons", "支援対象者数（実件数）", shown("persons"), "相談した人の数（同じ人は1人）"),
        Figure("consultations", "相談件数（延べ件数）", shown("total.referral"), "窓口を案内した相談（1人1日1件）"),
        Figure("bookings", "予約件数", shown("total.booking")),
        Figure("attended", "来所件数", shown("total.attended")),
        Figure("no_show", "来所なし", shown("total.no_show")),
        Figure("handoffs", "職員への引き継ぎ", shown("total.handoff")),
        Figure("employed", "就職件数", shown("outcome.employed")),
    ]
    report.rates = [
        Figure("no_show_rate", "来所なしの割合", _rate(shown("total.no_show"), shown("total.attended"), add=True),
               "来所なし ÷（来所＋来所なし）"),
        Figure("employment_rate", "就職率", _rate(shown("outcome.employed"), shown("outcome.total")),
               "就職 ÷ 結果を記録した人"),
        Figure("median_minutes", "案内までの時間（中央値）",
               Shown(_duration(c.minutes_median), None) if c.minutes_count >= threshold and c.minutes_median is not None
               else Shown("—", None), "最初のメッセージから窓口の案内まで"),
    ]
    if c.month is None:
        report.tables.append(TableView(
            "monthly", "月別の件数",
            tuple(f"{m}月" for m in plan["months"]) + ("計",),
            tuple(TableRow(label, tuple(shown(f"m.{kind}.{m}") for m in plan["months"]) + (shown(f"total.{kind}"),))
                  for kind, label in MONTHLY_KINDS.items()),
            chart="columns", chart_column=0))
    for dim, categories in CATEGORIES.items():
        rows = [TableRow(label, (shown(f"{dim}.{key}"),)) for key, label, _ in categories]
        rows.append(TableRow("計", (shown("total.referral"),), total=True))
        report.tables.append(TableView(dim, f"相談件数（延べ）の{DIMENSION_TITLES[dim]}", ("件数",), tuple(rows),
                                       note="「至急・緊急」は緊急を含みます。" if dim == "urgency" else ""))
    dest_rows = [TableRow(labels.get(code, code), tuple(shown(f"dest.{k}.{code}") for k in DESTINATION_KINDS))
                 for code in [*plan["destinations"], "other"]]
    dest_rows[-1] = TableRow("その他（現在の設定にない窓口）", dest_rows[-1].cells)
    dest_rows.append(TableRow("計", (Shown("—", None), shown("total.booking"), shown("total.attended"),
                                    shown("total.no_show")), total=True))
    report.tables.append(TableView("destinations", "窓口別", tuple(DESTINATION_KINDS.values()), tuple(dest_rows),
                                   note="紹介は1回の相談で複数の窓口を案内することがあるため、合計はありません。",
                                   chart_column=0))
    report.tables.append(TableView(
        "groups", "対象者の属性別", ("相談件数（延べ）", "支援対象者数（実人数）", "就職件数"),
        tuple(TableRow(label, (shown(f"group.events.{g}"), shown(f"group.persons.{g}"), shown(f"group.employed.{g}")))
              for g, label in TARGET_GROUPS.items()),
        note="1人が複数の属性にあてはまることがあるため、合計はありません。", chart_column=1))
    report.tables.append(TableView(
        "outcomes", "支援の結果（職員が記録）", ("人数",),
        (TableRow(OUTCOMES["employed_referral"], (shown("outcome.employed_referral"),)),
         TableRow(OUTCOMES["employed_other"], (shown("outcome.employed_other"),)),
         TableRow("就職 計", (shown("outcome.employed"),), total=True),
         TableRow(OUTCOMES["continuing"], (shown("outcome.continuing"),)),
         TableRow(OUTCOMES["ended"], (shown("outcome.ended"),)),
         TableRow("計", (shown("outcome.total"),), total=True))))
    report.rare = [Figure(f"rare.{flag}", label, shown(f"rare.{flag}")) for flag, label in RARE_FLAGS.items()]
    if c.month is None and targets is not None:
        report.targets = _targets(targets, shown)
    return report


def _targets(targets: YearTargets, shown) -> List[TargetRow]:
    rows = [TargetRow("", metric, value, shown(TARGET_ACTUALS[metric]), "")
            for metric, value in targets.totals.items()]
    for group, figures in targets.groups.items():
        rows += [TargetRow(TARGET_GROUPS[group], metric, value, shown(GROUP_ACTUALS[metric].format(group)), "")
                 for metric, value in figures.items()]
    return [TargetRow(r.group, r.metric, r.target, r.actual, _progress(r.actual, r.target)) for r in rows]


def _progress(actual: Shown, target: int) -> str:
    if actual.hidden or target <= 0:
        return "—"
    return f"{actual.value / target:.0%}"


def _rate(numerator: Shown, other: Shown, add: bool = False) -> Shown:
    """A percentage of two published numbers; 「—」 when either is hidden (a rate must not reveal it)."""
    if numerator.hidden or other.hidden:
        return Shown("—", None)
    denominator = numerator.value + other.value if add else other.value
    if not denominator:
        return Shown("—", None)
    return Shown(f"{numerator.value / denominator:.1%}", None)


def _duration(minutes: Optional[float]) -> str:
    if minutes is None:
        return "—"
    whole = int(round(minutes))
    if whole < 60:
        return f"{whole}分"
    if whole < 24 * 60:
        return f"{whole // 60}時間{whole % 60}分"
    return f"{whole / (24 * 60):.1f}日"
