"""Disclosure control: small cells hidden, complementary cells hidden with them, and attackers who
try to get the hidden numbers back from the published totals.

The attackers are written here independently of ``bot.stats.disclosure``: repeated subtraction
(a line with one unknown gives it away), exact linear algebra (numpy ranks: any combination of
sums and differences), and linear programming with non-negativity (scipy: the smallest and
largest value each hidden number can take given everything published).
"""
from __future__ import annotations

import random
from typing import Dict, List, Mapping, Sequence, Set, Tuple

import numpy as np
import pytest
from scipy.optimize import linprog

from bot.db.stats_queries import Counts
from bot.stats.disclosure import (
    Line, determined, exposed, line_rule, lines_of_table, marker, published, suppress,
)
from bot.stats.events import AGE_BANDS, HOUSEHOLDS, OUTCOMES, RARE_FLAGS, TARGET_GROUPS
from bot.stats.report import build_report, layout

DESTS = ["jiritsu_soudan", "hellowork", "mothers_hellowork", "saposute", "silver_center", "welfare_office",
         "single_parent_desk", "household_budget", "disability_employment", "human_staff"]


# --------------------------------------------------------------------------- the attackers


def subtraction_attack(values: Mapping[str, int], lines: Sequence[Line], hidden: Set[str]) -> Dict[str, int]:
    """Solve every line that has one unknown, again and again, as someone with a calculator would."""
    known = {k: v for k, v in values.items() if k not in hidden}
    recovered: Dict[str, int] = {}
    progress = True
    while progress:
        progress = False
        for line in lines:
            unknown = [m for m in line.members if m not in known]
            if len(unknown) != 1:
                continue
            (target,) = unknown
            parts = sum(known[p] for p in line.parts if p != target)
            known[target] = recovered[target] = parts if target == line.total else known[line.total] - parts
            progress = True
    return recovered


def _system(values, lines, hidden) -> Tuple[List[str], np.ndarray, np.ndarray]:
    unknown = sorted({h for h in hidden if any(h in line.members for line in lines)})
    index = {h: i for i, h in enumerate(unknown)}
    rows, rhs = [], []
    for line in lines:
        row, constant = np.zeros(len(unknown)), 0.0
        for part in line.parts:
            if part in index:
                row[index[part]] += 1
            else:
                constant -= values[part]
        if line.total in index:
            row[index[line.total]] -= 1
        else:
            constant += values[line.total]
        rows.append(row)
        rhs.append(constant)
    return unknown, np.array(rows).reshape(len(rows), len(unknown)), np.array(rhs)


def linear_attack(values, lines, hidden) -> Set[str]:
    """Hidden numbers fixed by any combination of the published equations (unit vector in the row space)."""
    unknown, a, _ = _system(values, lines, hidden)
    if not unknown:
        return set()
    rank = np.linalg.matrix_rank(a) if a.size else 0
    found = set()
    for i, name in enumerate(unknown):
        unit = np.zeros((1, len(unknown)))
        unit[0, i] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            found.add(name)
    return found


def lp_attack(values, lines, hidden) -> Dict[str, Tuple[float, float]]:
    """The range each hidden number can take, knowing the equations and that counts are >= 0."""
    unknown, a, b = _system(values, lines, hidden)
    ranges = {}
    for i, name in enumerate(unknown):
        cost = np.zeros(len(unknown))
        cost[i] = 1
        low = linprog(cost, A_eq=a, b_eq=b, bounds=[(0, None)] * len(unknown), method="highs")
        high = linprog(-cost, A_eq=a, b_eq=b, bounds=[(0, None)] * len(unknown), method="highs")
        assert low.status == 0, "the published figures must be consistent"
        ranges[name] = (low.fun, -high.fun if high.status == 0 else float("inf"))
    return ranges


def assert_attacks_fail(values, lines, hidden) -> int:
    """No attacker recovers a hidden count; returns how many hidden zeros the LP could show to be empty."""
    assert subtraction_attack(values, lines, hidden) == {}
    assert linear_attack(values, lines, hidden) == set()
    empty = 0
    for name, (low, high) in lp_attack(values, lines, hidden).items():
        if values[name] > 0:
            assert high - low >= 1 - 1e-6, f"{name}={values[name]} is pinned to [{low}, {high}]"
        elif high - low < 1e-6:
            empty += 1
    return empty


# --------------------------------------------------------------------------- tables to attack


def grid(rng: random.Random, m: int, n: int, *, margins: str = "both") -> Tuple[Dict[str, int], List[Line]]:
    rows, cols = [f"r{i}" for i in range(m)], [f"c{j}" for j in range(n)]
    values: Dict[str, int] = {}
    for r in rows:
        for c in cols:
            k = rng.random()
            values[f"{r}.{c}"] = 0 if k < 0.2 else rng.randint(1, 9) if k < 0.5 else rng.randint(10, 40)
    for r in rows:
        values[f"R.{r}"] = sum(values[f"{r}.{c}"] for c in cols)
    for c in cols:
        values[f"C.{c}"] = sum(values[f"{r}.{c}"] for r in rows)
    values["T"] = sum(values[f"R.{r}"] for r in rows)
    lines = lines_of_table(rows, cols, lambda r, c: f"{r}.{c}",
                           row_total=(lambda r: f"R.{r}") if margins in ("both", "rows") else None,
                           column_total=(lambda c: f"C.{c}") if margins in ("both", "columns") else None,
                           grand_total="T" if margins == "both" else None)
    used = {m for line in lines for m in line.members}
    return {k: v for k, v in values.items() if k in used}, lines


def random_counts(rng: random.Random, scale: int) -> Counts:
    small = lambda: 0 if rng.random() < 0.25 else rng.randint(1, 9) if rng.random() < 0.5 else rng.randint(10, scale)  # noqa: E731
    c = Counts(fiscal_year=2026, month=None)
    c.by_kind_month = {k: {m: small() for m in range(1, 13)} for k in ("referral", "booking", "attended", "no_show", "handoff")}
    referrals = sum(c.by_kind_month["referral"].values())

    def split(total: int, codes: Sequence[str]) -> Dict[str, int]:
        cut = sorted(rng.randint(0, total) for _ in range(len(codes) - 1))
        edges = [0, *cut, total]
        return {code: edges[i + 1] - edges[i] for i, code in enumerate(codes)}

    c.partitions = {"channel": split(referrals, ["webchat", "line", "telegram", "rest", "other"]),
                    "urgency": split(referrals, ["normal", "urgent", "emergency"]),
                    "age_band": split(referrals, list(AGE_BANDS)), "household": split(referrals, list(HOUSEHOLDS))}
    c.destinations = {"referral": {d: small() for d in DESTS}}
    for kind in ("booking", "attended", "no_show"):
        c.destinations[kind] = split(sum(c.by_kind_month[kind].values()), DESTS)
    c.outcomes = {code: small() for code in OUTCOMES}
    c.persons = max(0, referrals - rng.randint(0, referrals))
    c.group_events = {g: small() for g in TARGET_GROUPS}
    c.group_persons = {g: small() for g in TARGET_GROUPS}
    c.group_employed = {g: small() for g in TARGET_GROUPS}
    c.flag_persons = {f: small() for f in RARE_FLAGS}
    return c


# --------------------------------------------------------------------------- the rule, by example


def test_every_number_below_the_threshold_is_hidden_zero_and_totals_included():
    values = {"a": 0, "b": 9, "c": 10, "total": 19}
    assert suppress(values, threshold=10) == {"a", "b"}
    assert published(values, {"a", "b"}) == {"a": "10未満", "b": "10未満", "c": "10", "total": "19"}
    assert marker(5) == "5未満" and suppress(values, threshold=5) == {"a"}


def test_one_hidden_cell_in_a_row_takes_the_next_smallest_with_it():
    values = {"apr": 3, "may": 15, "jun": 40, "jul": 22, "year": 80}
    lines = [Line("year", ("apr", "may", "jun", "jul"))]
    assert suppress(values, lines) == {"apr", "may"}  # 80 - 15 - 40 - 22 would give 3 away
    assert subtraction_attack(values, lines, {"apr"}) == {"apr": 3}
    assert subtraction_attack(values, lines, {"apr", "may"}) == {}


def test_totals_follow_the_same_rule():
    values = {"a": 4, "b": 3, "sub": 7, "c": 30, "total": 37}
    lines = [Line("sub", ("a", "b")), Line("total", ("sub", "c"))]
    hidden = suppress(values, lines)
    assert {"a", "b", "sub"} <= hidden and "c" in hidden  # 37 - 30 would give the subtotal away
    assert_attacks_fail(values, lines, hidden)


def test_hiding_cascades_until_stable():
    # Hiding 12 next to the 5 leaves column c1 with one hidden cell, so another goes there too.
    values = {"r0.c0": 5, "r0.c1": 12, "r1.c0": 30, "r1.c1": 40, "R.r0": 17, "R.r1": 70, "C.c0": 35, "C.c1": 52,
              "T": 87}
    lines = lines_of_table(["r0", "r1"], ["c0", "c1"], lambda r, c: f"{r}.{c}", row_total=lambda r: f"R.{r}",
                           column_total=lambda c: f"C.{c}", grand_total="T")
    hidden = suppress(values, lines)
    assert hidden == {"r0.c0", "r0.c1", "r1.c0", "r1.c1"}
    assert_attacks_fail(values, lines, hidden)


def test_hidden_zeros_alone_in_a_line_are_not_given_away():
    values = {"webchat": 120, "line": 80, "telegram": 0, "other": 0, "total": 200}
    lines = [Line("total", ("webchat", "line", "telegram", "other"))]
    hidden = suppress(values, lines)
    assert hidden == {"telegram", "other", "line"}  # 200 - 120 - 80 = 0 would show both are empty
    assert_attacks_fail(values, lines, hidden)


def test_the_audit_catches_what_rows_and_columns_alone_miss():
    """The NDB rule leaves two hidden per line, yet a sum of rows minus columns isolates a cell."""
    table = [[2, 20, 20, 7], [31, 20, 7, 20], [7, 31, 20, 2], [12, 12, 15, 0], [31, 7, 12, 0]]
    rows, cols = [f"r{i}" for i in range(5)], [f"c{j}" for j in range(4)]
    values = {f"r{i}.c{j}": v for i, row in enumerate(table) for j, v in enumerate(row)}
    values |= {f"R.r{i}": sum(row) for i, row in enumerate(table)}
    values |= {f"C.c{j}": sum(row[j] for row in table) for j in range(4)}
    values["T"] = sum(map(sum, table))
    lines = lines_of_table(rows, cols, lambda r, c: f"{r}.{c}", row_total=lambda r: f"R.{r}",
                           column_total=lambda c: f"C.{c}", grand_total="T")
    naive = line_rule(values, lines)
    assert all(len([m for m in line.members if m in naive]) != 1 for line in lines)
    assert determined(values, lines, naive) == {"r4.c3"} == linear_attack(values, lines, naive)
    hidden = suppress(values, lines)
    assert exposed(values, lines, hidden) == set()
    assert_attacks_fail(values, lines, hidden)


# --------------------------------------------------------------------------- the attacks, at scale


@pytest.mark.parametrize("margins", ["both", "rows", "columns"])
def test_recovery_from_totals_fails_on_random_tables(margins):
    rng = random.Random(f"tables-{margins}")
    empty = 0
    for _ in range(150):
        values, lines = grid(rng, rng.randint(1, 6), rng.randint(1, 7), margins=margins)
        hidden = suppress(values, lines)
        assert {k for k, v in values.items() if v < 10} <= hidden
        empty += assert_attacks_fail(values, lines, hidden)
    # Non-negativity can at most show that a hidden cell is empty, and rarely: never a count of people.
    assert empty <= 10


def test_recovery_fails_on_the_published_report_across_all_its_tables():
    """The attacker holds the whole dashboard (every table, total and subtotal) at once."""
    rng = random.Random("reports")
    for scale in (15, 30, 60, 200):
        for _ in range(8):
            counts = random_counts(rng, scale)
            sheet, _ = layout(counts, DESTS)
            report = build_report(counts, threshold=10, destination_order=DESTS)
            assert report.hidden_ids == suppress(sheet.values, sheet.lines)
            assert_attacks_fail(sheet.values, sheet.lines, set(report.hidden_ids))


def test_a_larger_threshold_hides_more_and_still_holds():
    rng = random.Random("threshold")
    values, lines = grid(rng, 4, 5)
    at10, at20 = suppress(values, lines, 10), suppress(values, lines, 20)
    assert {k for k, v in values.items() if v < 20} <= at20 and len(at20) >= len(at10)
    assert_attacks_fail(values, lines, at20)
    with pytest.raises(ValueError):
        suppress(values, lines, 0)


def test_inconsistent_input_is_refused():
    with pytest.raises(ValueError):
        suppress({"a": 3, "b": 4, "t": 8}, [Line("t", ("a", "b"))])
    with pytest.raises(ValueError):
        suppress({"a": -1})
    with pytest.raises(ValueError):
        suppress({"a": 3}, [Line("t", ("a",))])


# --------------------------------------------------------------------------- rare flags


def test_rare_flags_are_never_crossed_with_another_dimension():
    counts = random_counts(random.Random("rare"), 50)
    counts.flag_persons = {"dv": 3, "emergency": 25, "cancer": 0, "care_leaver": 12}
    sheet, _ = layout(counts, DESTS)
    rare = {f"rare.{flag}" for flag in RARE_FLAGS}
    assert not any(rare & set(line.members) for line in sheet.lines)  # single totals only
    report = build_report(counts, threshold=10, destination_order=DESTS)
    shown = {f.key: f.shown.text for f in report.rare}
    assert shown == {"rare.dv": "10未満", "rare.emergency": "25", "rare.cancer": "10未満", "rare.care_leaver": "12"}
    labels = [row.label for table in report.tables for row in table.rows] + [c for t in report.tables for c in t.columns]
    assert not any(word in label for label in labels for word in ("DV", "暴力", "がん", "ケアリーバー"))
    urgency = next(t for t in report.tables if t.key == "urgency")
    assert [row.label for row in urgency.rows] == ["通常", "至急・緊急", "計"]  # 緊急 merged, never on its own
