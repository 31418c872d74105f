"""Intake fields of ``intake-protocol.md`` §2: names, stored codes and Japanese labels.

This module is the single source of truth for field names and their allowed codes; the
extractor, the screening order, the routing engine and the staff summary all import it.
"""
from __future__ import annotations

from typing import Dict, Tuple

#: Sentinels stored when the resident answers 「わからない」 or 「答えたくない」.
UNKNOWN = "unknown"
DECLINED = "declined"
NON_ANSWERS = (UNKNOWN, DECLINED)

#: Fields whose stored value is an integer (protocol §2).
INTEGER_FIELDS: Tuple[str, ...] = (
    "age",
    "months_without_work",
    "monthly_income",
    "rent_arrears_months",
    "children",
    "youngest_child_age",
)

#: Fields whose stored value is a boolean.
BOOLEAN_FIELDS: Tuple[str, ...] = ("eviction_risk", "debts", "consent")

#: Free-text fields.
TEXT_FIELDS: Tuple[str, ...] = ("job_history", "health_notes", "work_preferences", "contact")

#: Categorical fields: code -> Japanese label shown to residents and staff.
CHOICES: Dict[str, Dict[str, str]] = {
    "consulting_for": {"self": "自分のこと", "family_member": "家族のこと"},
    "employment_status": {
        "employed_regular": "正社員",
        "employed_nonregular": "パート・派遣・契約・アルバイト",
        "self_employed": "自営業",
        "on_leave": "休職中",
        "unemployed": "仕事をしていない",
        "never_worked": "働いたことがない",
        "student": "学生",
        "retired": "退職した（年金など）",
    },
    "public_assistance": {"receiving": "受けている", "applying": "申請中・申請したい", "no": "受けていない"},
    "housing": {
        "owned": "持ち家",
        "renting": "賃貸",
        "public_housing": "公営住宅",
        "company_dorm": "会社の寮・社宅",
        "with_family": "家族の家",
        "with_friends": "友人・知人の家",
        "no_fixed_home": "ネットカフェなど",
        "street": "路上・野宿",
    },
    "household": {
        "alone": "ひとり暮らし",
        "with_partner": "配偶者・パートナーと",
        "with_parents": "親と",
        "single_parent": "ひとり親（子どもと）",
        "other": "その他",
    },
    "health": {
        "good": "特に問題ない",
        "under_treatment": "治療中・通院中",
        "disability": "障害がある",
        "mental_health": "心の不調がある",
        "unsure": "よくわからない",
    },
    "work_readiness": {
        "ready_now": "すぐ働きたい",
        "needs_preparation": "準備してから働きたい",
        "not_now": "今は働けない",
    },
    "language": {
        "ja": "日本語",
        "easy_ja": "やさしい日本語",
        "pt": "Português",
        "en": "English",
        "zh": "中文",
        "vi": "Tiếng Việt",
        "other": "その他",
    },
}

#: ``benefits`` is a list of these codes.
BENEFIT_CODES: Dict[str, str] = {
    "child_support_allowance": "児童扶養手当",
    "unemployment_benefit": "雇用保険（失業給付）",
    "pension": "年金",
    "disability_pension": "障害年金",
    "housing_benefit": "住居確保給付金",
    "none": "受けていない",
}

#: Japanese labels of every field, for questions, summaries and corrections.
LABELS: Dict[str, str] = {
    "consulting_for": "ご相談の対象",
    "age": "年齢",
    "employment_status": "今のお仕事",
    "months_without_work": "仕事をしていない期間",
    "job_history": "これまでのお仕事",
    "monthly_income": "世帯の月収",
    "public_assistance": "生活保護",
    "benefits": "受けている支援",
    "housing": "お住まい",
    "rent_arrears_months": "家賃の滞納",
    "eviction_risk": "住まいを出なければならない心配",
    "household": "同居している方",
    "children": "お子さんの人数",
    "youngest_child_age": "一番下のお子さんの年齢",
    "health": "健康",
    "health_notes": "配慮してほしいこと",
    "work_readiness": "働くことについて",
    "work_preferences": "仕事の希望",
    "debts": "借金や滞納",
    "language": "相談の言語",
    "consent": "情報共有への同意",
    "contact": "連絡方法",
}

ALL_FIELDS: Tuple[str, ...] = tuple(LABELS)

#: ``input`` hint of the ``ask`` payload for non-categorical fields.
INPUT_KIND: Dict[str, str] = {
    **{f: "number" for f in INTEGER_FIELDS},
    **{f: "text" for f in TEXT_FIELDS},
}


def is_known(value: object) -> bool:
    """True when a field holds an answer, including a deliberate non-answer."""
    return value is not None and value != []


def is_answered(value: object) -> bool:
    """True when a field holds a usable answer (not empty, not わからない/答えたくない)."""
    return is_known(value) and value not in NON_ANSWERS
