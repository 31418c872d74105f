"""The ticket's intake summary as a 相談受付票: sections, Japanese labels and values, and each answer's source.

The ticket's ``summary`` JSON is ``{"fields": {...}, "sources": {...}, "referrals": [...],
"urgency": ..., "language": ...}``; the older flat shape ``{field: value}`` is read too (sources
then unknown). Codes of ``intake-protocol.md`` §2 become the words staff write on the paper form
(川越's 就労相談記録票 and the items other sites add, domain.md "What staff record"). Pure.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.fields import ALL_FIELDS, BENEFIT_CODES, DECLINED, UNKNOWN

#: 相談受付票 sections in the order of the paper form, with the staff wording of each field.
SECTIONS: Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], ...] = (
    ("基本情報", (("consulting_for", "相談の対象"), ("age", "年齢"), ("language", "相談の言語"))),
    ("就労の状況", (("employment_status", "現在の仕事"), ("months_without_work", "ブランク期間（離職後）"),
                  ("job_history", "職歴・離職理由"), ("work_readiness", "就労の意向"),
                  ("work_preferences", "求職希望（職種・時間・収入など）"))),
    ("収入・制度", (("monthly_income", "世帯の月収"), ("public_assistance", "生活保護"),
                 ("benefits", "受給中の制度・手当"), ("debts", "借金・滞納"))),
    ("住まい", (("housing", "住まい"), ("rent_arrears_months", "家賃の滞納"), ("eviction_risk", "退去・転居の必要"))),
    ("世帯・家族", (("household", "世帯"), ("children", "子どもの人数"), ("youngest_child_age", "末子の年齢"))),
    ("健康・配慮事項", (("health", "健康状態"), ("health_notes", "健康不安・配慮事項"))),
    ("同意・連絡", (("consent", "情報共有への同意"), ("contact", "連絡方法"))),
)

STAFF_LABELS: Dict[str, str] = {name: label for _, rows in SECTIONS for name, label in rows}

VALUE_LABELS: Dict[str, Dict[str, str]] = {
    "consulting_for": {"self": "本人", "family_member": "家族からの相談（以下は対象となる方の情報）"},
    "employment_status": {
        "employed_regular": "就労中（正社員）",
        "employed_nonregular": "就労中（パート・派遣・契約・アルバイト）",
        "self_employed": "自営業",
        "on_leave": "休職中",
        "unemployed": "無職（求職中）",
        "never_worked": "就労経験なし",
        "student": "学生",
        "retired": "退職（年金生活など）",
    },
    "public_assistance": {"receiving": "受給中", "applying": "申請中・申請を希望", "no": "受給していない"},
    "housing": {
        "owned": "持ち家",
        "renting": "賃貸住宅",
        "public_housing": "公営住宅",
        "company_dorm": "社員寮・社宅",
        "with_family": "家族・親族宅",
        "with_friends": "友人・知人宅",
        "no_fixed_home": "住居不安定（ネットカフェ等）",
        "street": "路上生活",
    },
    "household": {
        "alone": "単身",
        "with_partner": "配偶者・パートナーと同居",
        "with_parents": "親と同居",
        "single_parent": "ひとり親世帯",
        "other": "その他",
    },
    "health": {
        "good": "特に問題なし",
        "under_treatment": "治療中・通院中",
        "disability": "障害あり",
        "mental_health": "メンタルヘルスの不調あり",
        "unsure": "本人にもよくわからない",
    },
    "work_readiness": {
        "ready_now": "すぐに働きたい（求職活動可）",
        "needs_preparation": "準備をしてから働きたい",
        "not_now": "今は働けない",
    },
    "language": {
        "ja": "日本語",
        "easy_ja": "やさしい日本語",
        "pt": "ポルトガル語（通訳が必要）",
        "en": "英語（通訳が必要）",
        "zh": "中国語（通訳が必要）",
        "vi": "ベトナム語（通訳が必要）",
        "other": "その他の言語（通訳が必要）",
    },
}

BENEFIT_LABELS: Dict[str, str] = {**BENEFIT_CODES, "none": "なし"}

BOOLEAN_LABELS: Dict[str, Tuple[str, str]] = {
    "eviction_risk": ("あり（近く住まいを出る必要がある）", "なし"),
    "debts": ("あり", "なし"),
    "consent": ("同意あり", "同意なし"),
}

NON_ANSWER_LABELS = {UNKNOWN: "わからない", DECLINED: "答えたくない"}

SOURCE_LABELS: Dict[str, str] = {
    "typed": "本人が入力",
    "button": "本人が選択",
    "inferred": "ボットが推定（要確認）",
    "unknown": "出所の記録なし",
}

URGENCY_LABELS = {"emergency": "緊急（生命・安全）", "urgent": "至急", "normal": "通常"}
MODE_LABELS = {"live": "ライブ対応", "callback": "折り返し連絡"}
CHANNEL_LABELS = {"rest": "REST", "socketio": "Webチャット", "telegram": "Telegram", "line": "LINE",
                  "cmdline": "テスト端末"}
STATUS_LABELS = {"open": "未対応", "claimed": "対応中", "handed_back": "ボットに戻した", "closed": "対応完了"}
DESTINATION_LABELS = {
    "jiritsu_soudan": "自立相談支援機関",
    "hellowork": "ハローワーク",
    "mothers_hellowork": "マザーズハローワーク",
    "saposute": "地域若者サポートステーション",
    "silver_center": "シルバー人材センター",
    "welfare_office": "福祉事務所",
    "single_parent_desk": "ひとり親相談窓口",
    "household_budget": "家計改善支援",
    "disability_employment": "障害者就業・生活支援センター",
    "human_staff": "支援員（人による対応）",
}


@dataclass(frozen=True)
class Row:
    field: str
    label: str
    value: str
    source: str
    source_label: str
    non_answer: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    rows: List[Row]


@dataclass(frozen=True)
class Referral:
    destination: str
    name: str
    reason: str


@dataclass(frozen=True)
class Summary:
    fields: Dict[str, Any]
    sources: Dict[str, str]
    referrals: List[Referral] = field(default_factory=list)
    urgency: Optional[str] = None
    language: Optional[str] = None


def parse_summary(raw: Any) -> Summary:
    """Read either shape; anything malformed becomes an empty part rather than an error."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = {}
    if not isinstance(raw, Mapping):
        return Summary(fields={}, sources={})
    if isinstance(raw.get("fields"), Mapping):
        fields = {k: v for k, v in raw["fields"].items() if k in ALL_FIELDS}
        sources_raw = raw.get("sources") if isinstance(raw.get("sources"), Mapping) else {}
        sources = {k: v if v in SOURCE_LABELS else "unknown" for k, v in sources_raw.items() if k in fields}
        referrals = _referrals(raw.get("referrals"))
        urgency = raw.get("urgency") if isinstance(raw.get("urgency"), str) else None
        language = raw.get("language") if isinstance(raw.get("language"), str) else None
        return Summary(fields=fields, sources=sources, referrals=referrals, urgency=urgency,
                       language=language or _str_or_none(fields.get("language")))
    fields = {k: v for k, v in raw.items() if k in ALL_FIELDS}
    return Summary(fields=fields, sources={}, language=_str_or_none(fields.get("language")))


def _str_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _referrals(raw: Any) -> List[Referral]:
    out: List[Referral] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        destination = str(item.get("destination") or "")
        name = str(item.get("name") or DESTINATION_LABELS.get(destination, destination))
        reason = str(item.get("reason") or "")
        if destination or name:
            out.append(Referral(destination=destination, name=name, reason=reason))
    return out


def _count(value: int, unit: str) -> str:
    return f"{value:,}{unit}"


def _months(value: int) -> str:
    if value == 0:
        return "なし（現在就労中）"
    if value >= 12:
        years, months = divmod(value, 12)
        return f"{years}年{months}か月（{value}か月）" if months else f"{years}年（{value}か月）"
    return f"{value}か月"


def format_value(name: str, value: Any) -> str:
    """One field's value in staff Japanese. Unknown codes are shown as they are, marked."""
    if isinstance(value, str) and value in NON_ANSWER_LABELS:
        return NON_ANSWER_LABELS[value]
    if name in VALUE_LABELS:
        if isinstance(value, str) and value in VALUE_LABELS[name]:
            return VALUE_LABELS[name][value]
        return f"{value}（未定義の値）"
    if name == "benefits":
        items = value if isinstance(value, list) else [value]
        return "、".join(BENEFIT_LABELS.get(str(v), f"{v}（未定義の値）") for v in items) or "なし"
    if name in BOOLEAN_LABELS:
        yes, no = BOOLEAN_LABELS[name]
        if isinstance(value, bool):
            return yes if value else no
        if isinstance(value, Mapping):  # {"has": bool, "text": "..."}
            text = str(value.get("text") or "").strip()
            head = yes if value.get("has", True) else no
            return f"{head}（{text}）" if text else head
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if name == "contact" and value == "none":
            return "連絡先なし（受付番号で来所）"
        return str(value)
    if name == "age":
        return f"{value}歳"
    if name == "youngest_child_age":
        return f"{value}歳"
    if name == "children":
        return "なし" if value == 0 else f"{value}人"
    if name == "months_without_work":
        return _months(value)
    if name == "monthly_income":
        return "0円（収入なし）" if value == 0 else _count(value, "円")
    if name == "rent_arrears_months":
        return "なし" if value == 0 else f"{value}か月分"
    return str(value)


def sections(summary: Summary) -> List[Section]:
    """The known fields, grouped like the paper form; sections without a known field are left out."""
    out: List[Section] = []
    for title, names in SECTIONS:
        rows = []
        for name, label in names:
            if name not in summary.fields or summary.fields[name] is None or summary.fields[name] == []:
                continue
            value = summary.fields[name]
            source = summary.sources.get(name, "unknown")
            rows.append(Row(field=name, label=label, value=format_value(name, value), source=source,
                            source_label=SOURCE_LABELS[source],
                            non_answer=isinstance(value, str) and value in NON_ANSWER_LABELS))
        if rows:
            out.append(Section(title=title, rows=rows))
    return out


def missing(summary: Summary) -> List[str]:
    """Labels of the form's fields the chat has not covered yet (to ask at the first visit)."""
    return [label for _, names in SECTIONS for name, label in names
            if summary.fields.get(name) is None or summary.fields.get(name) == []]
