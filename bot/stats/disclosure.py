"""Disclosure control for published counts (pure): small cells hidden, and kept hidden.

The rule is the one the 厚生労働省 applies to NDB open data, with a configurable threshold:

1. **Primary suppression.** Every published number below ``threshold`` (default 10), zero
   included, totals included, is shown as 「10未満」.
2. **Complementary suppression.** A *line* is a published total and the published parts that add
   up to it (a table's row or column with its 計, or a subtotal). When a line has exactly one
   hidden member, the total minus the visible parts would give it away, so its smallest other
   member (a part before the total) is hidden too. When the hidden parts of a line with a visible
   total add up to 0, that would say "all of them are 0", so the smallest positive part is hidden
   as well. This repeats until nothing changes.
3. **Audit.** Lines share members (the total number of referrals is the 計 of several tables), so
   subtracting *combinations* of lines could still isolate a hidden number even when every line
   has two. :func:`determined` solves the published equations exactly (rational Gaussian
   elimination) and names every hidden number they fix; for each one, another member of its line
   is hidden and the steps repeat. The result leaves no hidden number that sums and differences of
   published numbers determine.

Every hidden number gets the same mark, so no one can tell a small number from one hidden to
protect it. Rare flags (violence, emergency, …) are never put in a line with another dimension:
the report publishes them as single totals, which only step 1 applies to.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

DEFAULT_THRESHOLD = 10


@dataclass(frozen=True)
class Line:
    """A published total and the published parts that add up to it (by element id)."""

    total: str
    parts: Tuple[str, ...]

    @property
    def members(self) -> Tuple[str, ...]:
        return (*self.parts, self.total)


def marker(threshold: int = DEFAULT_THRESHOLD) -> str:
    """The text shown instead of a hidden number: 「10未満」."""
    return f"{threshold}未満"


def check_threshold(threshold: object) -> int:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= 1000:
        raise ValueError("the disclosure threshold must be a whole number from 1 to 1000")
    return threshold


def suppress(values: Mapping[str, int], lines: Sequence[Line] = (), threshold: int = DEFAULT_THRESHOLD) -> FrozenSet[str]:
    """The ids of the numbers to hide. ``values`` are non-negative counts; every id in a line must be in it."""
    threshold = check_threshold(threshold)
    _check(values, lines)
    hidden: Set[str] = {key for key, value in values.items() if value < threshold}
    while True:
        if _complete_lines(values, lines, hidden):
            continue
        found = exposed(values, lines, hidden)
        if not found or not _protect(min(found), values, lines, hidden):
            return frozenset(hidden)


def line_rule(values: Mapping[str, int], lines: Sequence[Line] = (), threshold: int = DEFAULT_THRESHOLD) -> FrozenSet[str]:
    """Steps 1 and 2 only (no audit): what the NDB rule alone hides. For comparison and tests."""
    threshold = check_threshold(threshold)
    _check(values, lines)
    hidden: Set[str] = {key for key, value in values.items() if value < threshold}
    while _complete_lines(values, lines, hidden):
        pass
    return frozenset(hidden)


def _check(values: Mapping[str, int], lines: Sequence[Line]) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key}: counts must be whole numbers >= 0")
    for line in lines:
        missing = [m for m in line.members if m not in values]
        if missing:
            raise ValueError(f"line {line.total}: no value for {', '.join(missing)}")
        if len(set(line.members)) != len(line.members):
            raise ValueError(f"line {line.total}: an element appears twice")
        if sum(values[p] for p in line.parts) != values[line.total]:
            raise ValueError(f"line {line.total}: the parts do not add up to the total")


def _smallest(candidates: Iterable[str], values: Mapping[str, int], positive: bool = False) -> Optional[str]:
    ordered = [(values[c], i, c) for i, c in enumerate(candidates) if not positive or values[c] > 0]
    return min(ordered)[2] if ordered else None


def _complement(line: Line, values: Mapping[str, int], hidden: Set[str], positive: bool = False) -> Optional[str]:
    """The member of ``line`` to hide next: its smallest visible part, else its total."""
    parts = [p for p in line.parts if p not in hidden]
    found = _smallest(parts, values, positive)
    if found is None and line.total not in hidden and (not positive or values[line.total] > 0):
        found = line.total
    return found


def _complete_lines(values: Mapping[str, int], lines: Sequence[Line], hidden: Set[str]) -> bool:
    """One pass of step 2 over every line; True when something more was hidden."""
    changed = False
    for line in lines:
        inside = [m for m in line.members if m in hidden]
        choice = None
        if len(inside) == 1:
            choice = _complement(line, values, hidden)
        elif inside and line.total not in hidden and sum(values[m] for m in inside) == 0:
            choice = _complement(line, values, hidden, positive=True)
        if choice is not None:
            hidden.add(choice)
            changed = True
    return changed


def _protect(element: str, values: Mapping[str, int], lines: Sequence[Line], hidden: Set[str]) -> bool:
    """Hide one more member of a line through ``element`` (any visible line member as a last resort)."""
    own = [line for line in lines if element in line.members]
    for pool in (own, lines):
        choices = [c for c in (_complement(line, values, hidden) for line in pool) if c is not None]
        choice = _smallest(choices, values)
        if choice is not None:
            hidden.add(choice)
            return True
    return False


def determined(values: Mapping[str, int], lines: Sequence[Line], hidden: Iterable[str]) -> Set[str]:
    """Hidden ids whose value follows exactly from the published numbers and the lines' sums.

    Each line is the equation ``sum(parts) - total = 0``; visible numbers are constants. A hidden
    number is determined exactly when its unit vector lies in the row space of the equations over
    the hidden numbers, i.e. when the reduced row echelon form has a row with that one entry.
    """
    unknown = set(hidden)
    return {col for col, row in _echelon(lines, unknown).items() if len(row) == 1}


def pinned(values: Mapping[str, int], lines: Sequence[Line], hidden: Iterable[str]) -> Set[str]:
    """Hidden ids fixed once an attacker also uses that counts are never negative.

    A hidden 0 can only grow, and that can pin a hidden 7 elsewhere. Zeros that cannot grow on
    their own are treated as known constants, one round at a time (a zero is released when some
    change of the other unknowns lets it grow); the numbers the equations then fix are returned,
    except the zeros still held, which only reveal that a cell is empty. This is conservative: it
    may name a number that could in fact move, never miss one that cannot.
    """
    unknown = {h for h in hidden if any(h in line.members for line in lines)}
    held = {h for h in unknown if values[h] == 0}
    while held:
        pivots = _echelon(lines, unknown, late=held)
        blocked = set().union(*(row for col, row in pivots.items() if col in held)) if pivots else set()
        released = held - blocked
        if not released:
            break
        held -= released
    return determined(values, lines, unknown - held)


def exposed(values: Mapping[str, int], lines: Sequence[Line], hidden: Iterable[str]) -> Set[str]:
    """Hidden ids an attacker could fix: by sums and differences alone, or with non-negativity."""
    hidden = set(hidden)
    return determined(values, lines, hidden) | pinned(values, lines, hidden)


def _echelon(lines: Sequence[Line], unknown: Set[str], late: Iterable[str] = ()) -> Dict[str, Dict[str, Fraction]]:
    """Sparse reduced row echelon form of the lines over ``unknown`` (column -> its pivot row).

    Columns in ``late`` are ordered after the others, so rows pivoting on them have no entry in
    any other column (the equations that only speak about ``late`` unknowns).
    """
    late = set(late)
    rank = {col: (col in late, col) for col in unknown}
    pivots: Dict[str, Dict[str, Fraction]] = {}
    for line in lines:
        row: Dict[str, Fraction] = {}
        for member in line.parts:
            if member in unknown:
                row[member] = Fraction(1)
        if line.total in unknown:
            row[line.total] = Fraction(-1)
        _reduce_into(row, pivots, rank)
    return pivots


def _reduce_into(row: Dict[str, Fraction], pivots: Dict[str, Dict[str, Fraction]], rank: Mapping[str, tuple]) -> None:
    """Add one equation to the reduced row echelon form kept in ``pivots``."""
    for col in [c for c in row if c in pivots]:
        factor = row.get(col)
        if factor:
            _subtract(row, pivots[col], factor)
    if not row:
        return
    col = min(row, key=rank.__getitem__)
    lead = row[col]
    row = {c: v / lead for c, v in row.items()}
    for other in pivots.values():
        factor = other.get(col)
        if factor:
            _subtract(other, row, factor)
    pivots[col] = row


def _subtract(target: Dict[str, Fraction], row: Mapping[str, Fraction], factor: Fraction) -> None:
    for c, v in row.items():
        new = target.get(c, Fraction(0)) - factor * v
        if new:
            target[c] = new
        else:
            target.pop(c, None)


def published(values: Mapping[str, int], hidden: Iterable[str], threshold: int = DEFAULT_THRESHOLD) -> Dict[str, str]:
    """What is shown for every id: the number with thousands separators, or the mark."""
    hidden = set(hidden)
    mark = marker(threshold)
    return {key: mark if key in hidden else f"{value:,}" for key, value in values.items()}


def lines_of_table(rows: Sequence[str], columns: Sequence[str], cell: Callable[[str, str], str], *,
                   row_total: Optional[Callable[[str], str]] = None,
                   column_total: Optional[Callable[[str], str]] = None, grand_total: Optional[str] = None) -> List[Line]:
    """The lines of a rows × columns table with optional 計 column, 計 row and grand total."""
    lines: List[Line] = []
    if row_total is not None:
        lines += [Line(row_total(r), tuple(cell(r, c) for c in columns)) for r in rows]
    if column_total is not None:
        lines += [Line(column_total(c), tuple(cell(r, c) for r in rows)) for c in columns]
    if grand_total is not None and row_total is not None:
        lines.append(Line(grand_total, tuple(row_total(r) for r in rows)))
    if grand_total is not None and column_total is not None:
        lines.append(Line(grand_total, tuple(column_total(c) for c in columns)))
    return lines

