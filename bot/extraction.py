"""Fill intake fields (``intake-protocol.md`` §2) from one free-text message.

Residents answer several questions at once and in their own words (「46歳で子ども3人、1年5か月働いて
ない」), so the bot must never ask again for what was already said. Everything here is pure Python
and rule based: the lexicons below are data, matched on folded text (NFKC, katakana as hiragana,
spaces between Japanese words removed) so that シゴト/しごと/仕事 and 「しごと が ない」 all match.

Pattern sources are regular expressions without capturing groups; ``%NEG%`` stands for a negative
ending (ない, ありません, あらへん…). A pattern that contains a negation is "self-negating"
(働いてない); any other hit followed by a negation (借金は**ありません**) is dropped.
"""
from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Pattern, Sequence, Set, Tuple

try:  # Python 3.11+
    from re import _constants as _C, _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_constants as _C
    import sre_parse as _sre_parse

from .fields import ALL_FIELDS, BENEFIT_CODES, BOOLEAN_FIELDS, CHOICES, DECLINED, INTEGER_FIELDS, TEXT_FIELDS, UNKNOWN
from .numbers import AGE, AMOUNT, COUNT, DURATION, parse_number, scan
from .textnorm import clean, fold, normalize, to_hiragana

# =========================================================================== lexicons (data)

#: Negative endings, casual, polite, Kansai and common typos (ありまえん).
NEG = (r"(?:ない|無い|ねえ|ねー|なし|無し|なく|無く|ありません|ありまえん|ありませn|ありまへん|あらへん|あれへん"
       r"|ないです|ないねん|ないよ|なかった)")

EMPLOYMENT_STATUS: Dict[str, Tuple[str, ...]] = {
    "never_worked": (
        r"(?:働|はたら)いたこと(?:が|は|も)?%HARDLY%%NEG%", r"(?:働|はたら)いた(?:経験|けいけん)(?:が|は|も)?%HARDLY%%NEG%",
        r"職歴(?:が|は)?%HARDLY%(?:%NEG%|ゼロ)", r"就職したこと(?:が|は)?%NEG%", r"仕事(?:を)?したこと(?:が|は)?%HARDLY%%NEG%",
        r"(?:仕事|しごと)の(?:経験|けいけん)(?:が|は)?%HARDLY%%NEG%", r"社会経験(?:が|は)?(?:%NEG%|ゼロ)",
        r"(?:アルバイト|バイト)(?:も|すら|さえ)(?:した|やった)こと(?:が)?%NEG%", r"一度も(?:働|はたら)いて(?:い)?(?:ない|ません)",
    ),
    "unemployed": (
        r"無職", r"むしょく", r"無色", r"失業(?!保険|手当|給付)", r"しつぎょう(?!ほけん|てあて)", r"失職", r"離職", r"求職中",
        r"ニート", r"プー太郎", r"専業主[婦夫]", r"クビ", r"くび(?:に|や|にな)", r"首(?<!手首)(?:に(?:なっ|され)|を切られ)",
        r"解雇", r"かいこされ", r"リストラ", r"雇い?止め", r"派遣切り", r"はけんぎり",
        r"(?:派遣|はけん|バイト|パート|仕事|しごと|契約)(?:を|が|も|は|の)?(?:切られ|きられ|切れ|きれ|打ち切|終了)",
        r"契約ぎれ", r"契約切れ", r"倒産", r"閉店", r"廃業", r"工場閉鎖", r"(?:会社|店)(?:が)?(?:つぶれ|潰れ)", r"(?:職|仕事)を失",
        r"(?:仕事|しごと|職)(?:が|も)?(?:なくな|無くな)", r"(?:仕事|しごと)(?:が|は|も)?%NEG%", r"職(?:が)?(?:ない|無い)",
        r"(?:仕事|しごと)(?:が|は)?(?:見つから|みつから)(?:ない|へん|ず)", r"就職先が決まら(?:ない|ず|へん)",
        r"(?:働|はたら)いて(?:い|お)?(?:ない|なく|ません|まえん|へん|らん|ねえ)", r"(?:働|はたら)いとらん",
        r"(?:仕事|しごと)(?:を|は|も)?(?:して|し)(?:い|お)?(?:ない|なく|ません|まえん|へん|らん)",
        r"(?:何|なに)も(?:して|し)(?:い)?(?:ない|ません|まえん|へん)", r"ぶらぶら",
        r"辞め(?:た(?![いらく])|ました|まいた|させられ|てから|て(?!まう|しま|ばかり)|ることにな(?:った|りました))",
        r"(?:仕事|しごと|会社|かいしゃ|職場|バイト|パート|派遣|店)(?:を|は|も)?やめ(?:た(?![いらく])|ました|させられ|て(?!まう|しま))",
        r"退職(?:し(?:た(?!ら)|ました|まいた|て)|させられ|勧奨|を勧められ)", r"退社し(?:た(?!ら)|ました|て)",
        r"就職(?:でき|が決まら|が決まって)(?:ない|ず|へん|てない)",
    ),
    "employed_regular": (r"正社員", r"せいしゃいん", r"正規(?:雇用|職員|社員|の)?", r"正職員", r"常勤", r"会社員"),
    "employed_nonregular": (
        r"パート(?!な)(?<!アパート)", r"アルバイト", r"バイト", r"派遣", r"はけん", r"契約社員", r"非正規", r"嘱託", r"日雇い",
        r"臨時(?:職員|雇用)", r"期間工", r"フリーター",
    ),
    "self_employed": (r"自営", r"じえい", r"フリーランス", r"個人事業", r"一人親方", r"自分で(?:店|お店|商売|会社)"),
    "on_leave": (r"休職", r"急職", r"病休", r"病気休暇", r"育休", r"育児休業", r"産休", r"休業中"),
    "student": (r"大学院生", r"大学生", r"高校生", r"専門学生", r"短大生", r"院生", r"学生(?<![小中]学生)", r"がくせい",
                r"(?:大学|学校)に(?:通って|行って)"),
    "retired": (r"定年(?:退職)?", r"ていねん", r"年金(?:暮らし|ぐらし|生活)", r"退職して年金", r"リタイア", r"引退"),
}

HOUSING: Dict[str, Tuple[str, ...]] = {
    "owned": (r"持ち?家", r"もちいえ", r"マイホーム", r"分譲", r"住宅ローン", r"家を(?:持って|買っ)", r"自宅を所有"),
    "renting": (r"賃貸", r"ちんたい", r"アパート", r"マンション(?!の管理)", r"家賃", r"やちん", r"借家", r"貸家", r"大家",
                r"大屋", r"おおやさん", r"管理会社"),
    "public_housing": (r"[市県都府道町村]営", r"公営", r"団地", r"市住", r"県住", r"公団"),
    "company_dorm": (r"寮", r"%RYO%(?=を|に|から|で|の|が|は)", r"社宅", r"会社の(?:家|アパート|部屋)", r"住み込み"),
    "with_family": (r"実家", r"じっか", r"親の(?:家|ところ|とこ)", r"親元", r"(?:親戚|兄弟|祖母|祖父母|おばあちゃん|家族)の家"),
    "with_friends": (r"(?:友達|友だち|ともだち|友人|知人|知り合い|彼氏|彼女)の(?:家|所|ところ|とこ|部屋|アパート)",
                     r"友達んち", r"居候", r"泊めてもらって"),
    "no_fixed_home": (
        r"ネットカフェ", r"ネカフェ", r"漫画喫茶", r"マンガ喫茶", r"まんが喫茶", r"漫喫", r"マン喫", r"カプセルホテル",
        r"住所(?:が|は|も)?%NEG%", r"住所不定",
        r"(?:住む|すむ|泊まる|とまる|寝る|ねる|帰る|かえる|行く|いく)(?:ところ|所|場所|ばしょ|とこ|家|あて)(?:が|も)?%NEG%",
        r"家(?:が|も)?%NEG%", r"家(?:を|も)失", r"車(?:の中)?で(?:寝|生活|暮ら)", r"車中泊", r"転々",
    ),
    "street": (r"路上", r"野宿", r"のじゅく", r"公園で(?:寝|暮ら|生活)", r"ホームレス", r"(?:外|駅)で寝", r"橋の下"),
}

#: Words that name a single parent. The household reading and the check of whom a message is about
#: (「シングルマザーで…」 introduces the writer, 「娘がシングルマザーで…」 a relative) share them, so
#: the two cannot drift apart. Not 一人親方 (a self-employed builder).
SINGLE_PARENT_WORDS = (r"シングル(?:マザー|ファザー|マザ|ママ|パパ)", r"シンママ", r"シンパパ", r"(?:ひとり|一人)(?:親|おや)(?!方|かた)",
                       r"[母父]子(?:家|世帯)", r"(?:ぼし|ふし)かてい", r"未婚の母")

HOUSEHOLD: Dict[str, Tuple[str, ...]] = {
    "alone": (r"(?:一人|ひとり|独り)(?:暮らし|暮し|ぐらし|くらし|住まい|ずまい)", r"単身(?!赴任)", r"独居",
              r"(?:一人|ひとり)で(?:住|暮ら)", r"(?:一人|ひとり)に(?:なっ|なり)"),
    "with_partner": (r"夫婦", r"妻子", r"夫(?<!丈夫)", r"妻", r"旦那", r"だんな", r"嫁", r"主人", r"家内", r"奥さん",
                     r"パートナー", r"配偶者"),
    "with_parents": (r"両親", r"(?:父親|母親|お母さん|お父さん|おかん|おとん|親|父|母)と(?!して)", r"実家(?:で|に)(?:暮ら|住|い)",
                     r"実家(?:暮らし|ぐらし|住まい)", r"親元", r"親の家"),
    "single_parent": SINGLE_PARENT_WORDS + (
        r"(?:離婚|りこん|離昏)して(?:から)?[^。、]{0,6}(?:子|こども)", r"子(?:ども|供)?を(?:一人|ひとり)で(?:育て|見て)",
        r"(?:ひとり|一人)で子(?:ども|供)?を?育て", r"子(?:ども|供)?と(?:二人|ふたり|2人)(?:で|暮らし|ぐらし|です)"),
    "other": (r"(?:祖父母|祖母|祖父|兄弟|姉妹|兄|弟|姉|妹|親戚|孫|友達|友人)と(?:住|暮ら|同居|一緒)", r"ルームシェア",
              r"シェアハウス"),
}

HEALTH: Dict[str, Tuple[str, ...]] = {
    "good": (r"(?:持病|病気|びょうき|健康上の問題|体の問題)(?:とか|なんか)?(?:は|も)?(?:特に|とくに)?%NEG%", r"元気(?!が|に|を|な)",
             r"げんき(?!が|に|を|な)", r"健康(?:です|だ|やで|体|そのもの)", r"(?:体|からだ|身体)(?:は|も)?(?:丈夫|大丈夫)"),
    "under_treatment": (
        r"通院", r"通員", r"治療", r"ちりょう", r"入院", r"手術", r"透析", r"服薬", r"闘病", r"療養", r"持病", r"病気",
        r"びょうき", r"病院(?:に|へ)?(?:通|かよ|行って|かかって)", r"リハビリ", r"脳梗塞", r"糖尿", r"ヘルニア",
        r"(?:腰|こし|膝|ひざ|足|心臓)が(?:悪|わる|痛|いた)", r"体調(?:が|を)?(?:悪|崩|すぐれない|すぐれず)", r"(?:体|身体)を壊",
        r"(?:具合|ぐあい)が(?:悪|わる)", r"骨折", r"癌", r"抗がん剤",
        r"がん(?=で|に|と|が|は|の|を|です|だ|治療|検診|患者)",
    ),
    "disability": (r"障害", r"障がい", r"しょうがい", r"障碍", r"(?:障害者|療育|精神)手帳", r"手帳(?:を|が|は)?(?:持|もって|あ|取)",
                   r"adhd", r"自閉", r"アスペ", r"グレーゾーン", r"車い?椅?子", r"後遺症", r"麻痺", r"(?:耳|目)が(?:聞こえ|見え)(?:ない|にく|づら|へん|ません)"),
    "mental_health": (
        r"うつ(?=病|で|に|と|が|は|の|っぽ|状態|です|だ|や)", r"鬱", r"欝", r"メンタル",
        r"(?:適応|適王|パニック|不安|双極性|気分|摂食|睡眠)障害", r"心の(?:病|不調)", r"こころの(?:病|不調|びょうき)",
        r"精神(?:的|科|疾患|の病)", r"心療内科", r"双極", r"統合失調",
        r"パニック", r"不眠", r"(?:眠|ねむ)れ(?:な|ません)", r"ptsd",
    ),
}

WORK_READINESS: Dict[str, Tuple[str, ...]] = {
    "ready_now": (r"(?:今|いま)?すぐ(?:に)?(?:でも)?(?:働|はたら|仕事|就職)", r"(?:明日|あした|来週)からでも",
                  r"いつでも働け", r"(?:早く|はやく)(?:働|仕事)", r"一日も早く", r"準備はできて"),
    "needs_preparation": (
        r"自信(?:が|は)?(?:ない|なくて|ありません|もてない|持てない)", r"ブランク", r"少しずつ", r"すこしずつ", r"慣れてから",
        r"なれてから", r"準備(?:して|が必要|期間|から)", r"徐々に", r"短時間から", r"生活リズム", r"朝起き(?:られ|れ)(?:ない|へん|ず|ません)", r"昼夜逆転",
        r"(?:続|つづ)(?:かない|きません|かへん)", r"長続きしない", r"(?:働|仕事|就職|職場|復職|面接|社会)[^、。,]{0,10}不安",
        r"不安[^、。,]{0,6}(?:働|仕事)", r"人と話すのが苦手",
    ),
    "not_now": (r"(?:今|いま|当分|しばらく)は?(?:まだ)?(?:働け|はたらけ)(?:ない|ません|へん)", r"まだ(?:働け|はたらけ)(?:ない|ません)",
                r"今は無理", r"働ける状態(?:じゃ|では)(?:ない|ありません)", r"療養中", r"ドクターストップ",
                r"(?:医者|医師|先生|主治医)(?:から|に)(?:仕事|働くの)?(?:を)?止められ",
                r"働く気(?:に)?(?:なれ|にならな)"),
}

BENEFITS: Dict[str, Tuple[str, ...]] = {
    "child_support_allowance": (r"児童扶[養要]手当", r"じどうふようてあて", r"児扶手", r"母子手当", r"ひとり親手当"),
    "unemployment_benefit": (r"失業(?:保険|手当|給付)", r"しつぎょうほけん", r"雇用保険", r"こようほけん", r"基本手当"),
    "disability_pension": (r"障(?:害|がい)年金", r"しょうがいねんきん"),
    "pension": (r"年金(?!事務所|機構|保険料|手帳|番号|の未納|未納|の滞納|を払|の支払|を滞納)", r"ねんきん"),
    "housing_benefit": (r"住[居宅]確保給付金", r"住居確保"),
    "none": (r"(?:何|なに)も(?:もらって|受けて|受給して)(?:い)?(?:ない|ません)", r"特に(?:もらって|受けて)(?:い)?(?:ない|ません)"),
}

LANGUAGE: Dict[str, Tuple[str, ...]] = {
    "easy_ja": (r"(?:日本語|にほんご)(?:が|は|で|を|、)?%BIT%(?:苦手|にがて|少し|すこし|ちょっと|あまり|あんまり|わから|分から"
                r"|わかりま|むずかし|難し|下手|へた|できな|でけへん|不自由|読め|よめ|話せ|はなせ|しゃべれ|しゃべられ|だめ|ダメ"
                r"|上手じゃ|じょうずじゃ|勉強中|べんきょう)",
                r"やさしい日本語", r"簡単な日本語", r"(?:漢字|かんじ)(?:が|は)?%BIT%(?:読め|よめ|読まれ|よまれ|わから|苦手)",
                r"ひらがなで", r"ふりがな"),
    "pt": (r"ポルトガル", r"ブラジル(?:人|から)", r"portugu[eê]s"),
    "en": (r"英語", r"えいご"),
    "zh": (r"中国語", r"ちゅうごくご", r"中文"),
    "vi": (r"ベトナム語", r"ベトナム人", r"tiếng việt"),
    "other": (r"(?:スペイン|タガログ|ネパール|インドネシア|韓国|タイ|ミャンマー|ロシア|ウクライナ|フィリピン)語", r"ペルー人"),
}

#: Bills that fall into arrears (the debts cues, and 「家賃は滞納していません」 as one bill paid).
_BILLS = r"家賃|やちん|税金|ぜいきん|保険料|携帯(?:代|料金)?|光熱費|電気代|ガス代|水道代|国保"

DEBTS: Dict[str, Tuple[str, ...]] = {
    "true": (
        r"借金", r"しゃっきん", r"借入", r"借り入れ", r"ローン", r"キャッシング", r"リボ", r"消費者金融", r"サラ金", r"闇金", r"ヤミ金",
        r"滞納", r"たいのう", r"未払い?", r"未納", r"督促", r"催促", r"取り立て", r"差し押さえ", r"自己破産", r"債務", r"返済",
        r"(?:税金|ぜいきん)(?:が|を)?(?:払え|はらえ)(?:ない|ません|へん|ず|なく|てない|ていない)", r"(?:お)?金を借り(?!たい|られ|れ)", r"借りた(?:お)?金", r"さしおさえ",
        rf"(?:{_BILLS}|支払い)(?:を|が|も|は)?"
        r"(?:ずっと|まだ|もう)?(?:(?:払|はら)(?:って|ろて)(?:い|お)?(?:ない|ません|へん)|払えて(?:い)?(?:ない|ません|へん)|はらえて(?:い)?ない)",
        # apart from the line above, which says "not" itself, so that 「家賃は滞納して**いません**」 is read as negated
        rf"(?:{_BILLS}|支払い)(?:を|が|も|は)?"
        r"(?:ずっと|まだ|もう)?(?:ためて|溜めて|たまって|溜まって|遅れ|滞(?:納|っ|り)?)",
    ),
}

EVICTION: Dict[str, Tuple[str, ...]] = {
    "true": (
        r"(?:出|で)て(?:い|行)?(?:け|って|く(?:ように|よう)|か(?:な|ない|なけ|んと))", r"(?:出|で)てけ", r"出るように",
        r"(?:出|で)な(?:きゃ|ければ|あかん|いと)", r"追い出", r"おいだ", r"退去", r"立ち?退", r"たちのき", r"明け渡",
        r"(?:寮|%RYO%|社宅|部屋|へや|アパート|家|いえ)を?(?:出|で)(?:る(?:ように|よう)|され)",
        r"(?:家|アパート|部屋|寮|社宅|マンション|賃貸)(?:の)?(?:賃貸)?契約(?:が|も)?(?:切れ|きれ|終わ|満了)",
        r"更新(?:でき|され)(?:ない|へん|ません)", r"住めなくな", r"いられなくな", r"強制執行",
    ),
}

PUBLIC_ASSISTANCE_WORD = r"生活保護|せいかつほご|生活保獲|生保|保護費|保護を受け|ナマポ"
PUBLIC_ASSISTANCE_APPLYING = (r"申請|しんせい|受けたい|うけたい|受けられ|もらいたい|もらえ|考え|検討|相談|したい|受けようと"
                              r"|受けた(?:ほう|方)|迷|受けるか")
PUBLIC_ASSISTANCE_RECEIVING = r"受け|うけ|受給|もらって|もろて|もらってる|支給|で暮らして|で生活|の世話"

#: Presenting problems noticed from words alone (fields add more, see :func:`_concerns`).
CONCERNS: Dict[str, Tuple[str, ...]] = {
    "job_loss": (r"失業(?!保険|手当|給付)", r"解雇", r"クビ", r"雇い?止め", r"リストラ", r"倒産", r"派遣切り", r"閉店", r"廃業",
                 r"(?:職|仕事)を失", r"(?:仕事|しごと|職)(?:が|も)?なくな", r"契約(?:を|が)?(?:切られ|打ち切)", r"辞めさせられ"),
    "housing": (r"(?:家賃|やちん)(?:が|を|も)?(?:払え|はらえ|高|きつ|重)", r"(?:住む|すむ|寝る|ねる|泊まる|とまる)(?:ところ|所|場所|ばしょ|とこ)",
                r"住まい", r"追い出", r"立ち?退", r"退去", r"ホームレス", r"野宿", r"ネットカフェ", r"(?:寮|%RYO%)を?(?:出|で)"),
    "family": (r"介護(?!職|士|施設|の仕事|福祉|ヘルパー|業界|関係)", r"かいご", r"子育て", r"育児", r"保育園", r"預け(?:先|る|られ)",
               r"認知症", r"寝たきり", r"親として", r"ワンオペ", r"両立", r"(?:看病|世話)(?:で|が)"),
    "youth": (r"引きこも", r"ひきこも", r"ニート", r"[12二十]0?代", r"中退", r"不登校", r"不当校", r"職歴(?:が|は)?%HARDLY%(?:%NEG%|ゼロ)",
              r"(?:働|はたら)いたこと(?:が|は|も)?%NEG%", r"ずっと(?:家|いえ)(?:に|で)?(?:い|お)", r"(?:部屋|へや|家)から(?:出|で)",
              r"閉じこも", r"(?:家|いえ|部屋|へや)に(?:こも|閉じこも)",
              r"昼夜逆転", r"卒業してから"),
    "older": (r"高齢", r"年金(?:暮らし|生活|だけ)", r"ねんきんだけ", r"定年", r"シルバー", r"[6789六七八九]0?代", r"老後", r"年寄り",
              r"再雇用"),
    "single_parent": SINGLE_PARENT_WORDS + (r"離婚して子", r"養育費", r"養育非"),
    "language": (r"通訳", r"通約", r"つうやく", r"つやく", r"つーやく", r"翻訳"),
    "money": (r"生活費", r"生活ひ", r"(?:お)?(?:金|かね)(?:が|も)?(?:ない|なく|なさ|あらへん|足り|たり|尽き|残ら)", r"金欠",
              r"(?:給料|収入|年金|バイト代)(?:だけ)?(?:では|じゃ)", r"生活が(?:苦し|くるし|できな|回ら)", r"食べる(?:もの|物)", r"食べ物",
              r"所持金", r"しょじきん", r"しょじ金", r"所じ金", r"貯金(?:が|も)?(?:ない|0|ゼロ|尽き|底|なくな)", r"足りな", r"足りません",
              r"足りてません", r"たりない", r"たりません", r"たらな", r"赤字", r"やりくり", r"ギリギリ", r"暮らせ(?:ない|ません|まえん)",
              r"くらせない", r"(?:暮らして|やって)(?:いけ|いかれ)(?:ない|ません|へん)", r"生活(?:でき|が回ら)", r"生活保護",
              r"(?:電気|ガス|水道)(?:も|が|を)?[^、。]{0,6}止め"),
    "dv": (r"dv(?<![a-z]dv)(?![a-z])", r"暴力(?!団)", r"(?:殴|なぐ)ら?れ", r"殴る", r"蹴られ", r"叩かれ", r"たたかれ", r"暴言",
           r"モラハラ", r"暴れ", r"シェルター", r"配偶者から", r"怒鳴", r"引きずられ", r"首を絞め"),
    "care_leaver": (r"施設(?:を出|出身|で育|育ち)", r"児童養護施設", r"養護施設", r"里親", r"自立援助ホーム", r"アフターケア"),
    "cancer": (r"癌", r"がん(?=で|に|と|が|は|の|を|です|だ|治療|検診|患者)", r"抗がん剤", r"白血病", r"腫瘍"),
}
#: Concerns whose words are the problem even when negated (食べるものがない); the others are
#: dropped when negated (DVはない).
NEGATABLE_CONCERNS = ("dv", "cancer", "care_leaver")

#: People a message may be about. The group decides whose age or job a phrase describes.
PEOPLE: Dict[str, str] = {
    "son": "息子|むすこ|長男|次男|三男|せがれ",
    "daughter": "娘|むすめ|長女|次女|三女",
    "child": "子ども達|子どもたち|子供たち|子ども|子供|こども|うちの子|上の子|下の子|一番上の子|一番下の子|末っ子|すえっこ|"
             "赤ちゃん|あかちゃん|男の子|女の子|双子",
    "mother": "母親|お母さん|おかあさん|おかん|おふくろ|義母|母",
    "father": "父親|お父さん|おとうさん|おとん|親父|おやじ|義父|父",
    "parents": "両親|親",
    "partner": "夫|旦那さん|旦那|だんな|主人|嫁さん|嫁|妻|奥さん|家内|彼氏|彼女|パートナー|配偶者",
    "sibling": "兄貴|お兄ちゃん|お姉ちゃん|兄|弟|姉|妹",
    "grandparent": "祖父母|祖母|祖父|おばあちゃん|おじいちゃん",
    "grandchild": "孫",
    "family": "家族|親戚|身内",
}
CHILD_GROUPS = ("son", "daughter", "child")
SELF_WORDS = r"自分|じぶん|私|わたし|あたし|僕|ぼく|俺|おれ|うち"

#: What a relative "が/は" does that makes the message about them (息子が働かない, 娘が家にいる).
FAMILY_SITUATION = (
    r"(?:働|はたら)(?:か(?:ない|なく|ず|へん|ん)|こうとしない|いて(?:い|お)?(?:ない|なく|ません|へん))|仕事を?しない"
    r"|(?:仕事|しごと)(?:を|は|も)?して(?:い)?(?:ない|なく|ません|へん)|(?:仕事|しごと)(?:が|も)?(?:ない|なくて|見つから|みつから|続か)"
    r"|無職|ニート|にーと|引きこも|ひきこも|閉じこも|(?:家|いえ)(?:に|から)(?:い|お|こも|出|で)|(?:部屋|へや)(?:に|から)(?:こも|出|で)"
    r"|外に出(?:ない|られ|ら)|学校(?:に|へ)?(?:行か|行って|いか|いって|行け)(?:な|ず)|不登校|不当校|中退|就職(?:しない|でき|が決まら)"
    r"|失業(?!保険|手当|給付)|クビ|解雇|リストラ|雇い?止め|(?:仕事|会社)を?(?:辞め|やめ)|(?:職|仕事)を失|夜遊び|昼夜逆転|ゲームばかり"
)

UNKNOWN_WORDS = (r"わからない|分からない|わかんない|わかんね|わからん|分からん|わかりません|分かりません|わかりまへん"
                 r"|知らない|しらない|知らん|しらん|不明|覚えて(?:い)?ない|おぼえてない|覚えてません|忘れた|わすれた"
                 r"|把握(?:して|でき)(?:い)?ない|思い出せ|^さ[あぁ]")
DECLINED_WORDS = (r"(?:答え|こたえ|言い|いい|教え|おしえ|お答えし)たく(?:ない|ありません)|秘密|ひみつ|内緒|ないしょ"
                  r"|ぱす(?=$|[^ぁ-ゖ]|で|し)|ノーコメント|言えない|回答(?:しない|を控え|したくない)|控えます|差し控え"
                  r"|とばす|飛ばす|スキップ")

#: 「いいです」 says yes only at the start or as permission (伝えてもいいです); 「事務がいいです」 is a wish.
YES_WORDS = (r"はい|うん|ええ(?!と)|そう(?:です|や|だ)|ある|あり|ああり|おう|せや|yes|ok|おk|オッケー|了解|お願い"
             r"|^(?:いいよ|いいです)|(?:て|で)(?:も)?(?:いい|よい)|かまわ|構わ|同意")
YES_DESPITE_NEGATION = r"(?:かまわ|構わ)(?:ない|へん|ん)|問題(?:は)?(?:ない|ありません)|差し支えない|(?:いい|ええ)(?:です)?よ"
NO_WORDS = (r"いいえ|ううん|いや(?!す)|%NEG%|ちゃう|ちがう|違う|^no$|しない|しません|してない|していない|してへん|だめ|ダメ"
            r"|あかん|結構です|けっこうです|いらない|嫌")

# =========================================================================== result type


@dataclass
class Extraction:
    """What one message says: protocol field values and the presenting problems noticed."""

    fields: Dict[str, Any] = field(default_factory=dict)
    concerns: Set[str] = field(default_factory=set)


# =========================================================================== compiled lexicons

_SELF_NEGATING = r"%NEG%|ない|ません|へん|なし|らん|ねえ"
#: A negation right after a hit: 借金**はありません**, 障害**はない**, 生活保護は**受けていない**.
_NEG_AFTER_SRC = (
    r"(?:とか|なんか|なんて|など|って)?(?:は|が|も|を)?(?:特に|とくに|全く|まったく|全然|ぜんぜん|一切|いっさい|別に|べつに"
    r"|何も|なにも|もう|今は|いまは|まだ)?(?:%NEG%|じゃな|ではな|ではありません|じゃありません|ちゃう|ちゃいます|やな(?:い|く)"
    r"|ゼロ|0円?(?![0-9,.万])|(?:して|受けて|うけて|もらって|もろて|来て|きて|やって|持って|もって|通って|かよって|かかって"
    r"|行って|いって|住んで|すんで|暮らして)(?:い|お)?(?:ない|ません|まえん|へん|らん|ねえ)"
    r"|(?:し|受け|うけ|もらわ|もらえ|来|こ|持た|かから|行か|住ま)(?:ない|ません|へん|ず|なかった)"
    r"|(?:あり|い|おり)(?:ません|まえん)|いない|おらん|おらへん|いーひん|いてない)"
)


class _Lexicon:
    """One field's table compiled into a single alternation; ``m.lastindex`` names the code."""

    def __init__(self, table: Mapping[str, Sequence[str]]):
        entries = [(code, src) for code, sources in table.items() for src in sources]
        entries.sort(key=lambda e: len(e[1]), reverse=True)  # longer (more specific) first
        alternatives = [(code, re.search(_SELF_NEGATING, src) is not None, alt)
                        for code, src in entries for alt in _expand(_source(src))]
        self.codes = [code for code, _, _ in alternatives]
        self.self_negating = [neg for _, neg, _ in alternatives]
        # The empty group at the end names the entry (m.lastindex) without hiding its first
        # character from re's fast skip of alternatives that cannot start here.
        self.regex = _compile_alternatives([f"{alt}()" for _, _, alt in alternatives])


# --------------------------------------------------------------------------- fast scanning
# Python's ``re`` tries every alternative at every position unless each alternative starts with a
# plain character; then it skips ahead in C. Leading groups and classes are therefore expanded
# (「(?:働|はたら)いた」 -> 「働いた」「はたらいた」), so a 10,000-character message costs a few
# milliseconds per lexicon instead of a hundred.

_META = set("\\.^$*+?{}[]|()")
_MAX_EXPANSION = 96


def _compile(source: str) -> Pattern[str]:
    return _compile_alternatives(_expand(source))


def _compile_alternatives(alternatives: List[str]) -> Pattern[str]:
    if all(_plain_start(alt) for alt in alternatives):
        return re.compile("|".join(alternatives))
    first = _first_chars("|".join(alternatives))
    body = "|".join(alternatives)
    if first:
        return re.compile(f"(?=[{''.join(re.escape(c) for c in sorted(first))}])(?:{body})")
    return re.compile(body)


def _plain_start(alt: str) -> bool:
    if alt.startswith("(?P<"):
        return all(_plain_start(a) for a in _split_top(alt[alt.index(">") + 1:_group_end(alt, 0) - 1]))
    return bool(alt) and alt[0] not in _META and alt[1:2] not in ("?", "*", "{")


def _expand(source: str) -> List[str]:
    """Top-level alternatives of ``source``, with leading ``(?:a|b)`` groups and ``[ab]`` classes
    multiplied out; unchanged when that would explode."""
    if "(?P<" in source:
        return [source]  # copies of a named group would clash
    out = [x for alt in _split_top(source) for x in _expand_alternative(alt)]
    return out if len(out) <= _MAX_EXPANSION else _split_top(source)


def _expand_alternative(alt: str) -> List[str]:
    if alt.startswith("(?:"):
        end = _group_end(alt, 0)
        rest, quantifier = alt[end:], alt[end:end + 1]
        if quantifier in ("*", "+", "{") or (quantifier == "?" and len(rest) == 1):
            return [alt]
        rest = rest[1:] if quantifier == "?" else rest
        out = [x for part in _split_top(alt[3:end - 1]) for x in _expand_alternative(part + rest)]
        return out + (_expand_alternative(rest) if quantifier == "?" else [])
    if alt.startswith("[") and not alt.startswith("[^"):
        end = alt.index("]") + 1
        body, rest = alt[1:end - 1], alt[end:]
        if rest[:1] in ("*", "+", "?", "{") or "\\" in body or "-" in body:
            return [alt]
        return [c + rest for c in body]
    return [alt]


def _split_top(source: str) -> List[str]:
    """Split at ``|`` outside groups and classes."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 1
        elif c == "[":
            i = source.index("]", i + 2 if source[i + 1:i + 2] in ("^", "]") else i + 1)
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


def _group_end(source: str, start: int) -> int:
    """Index just after the ``)`` closing the group opened at ``start``."""
    depth, i = 0, start
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 1
        elif c == "[":
            i = source.index("]", i + 2 if source[i + 1:i + 2] in ("^", "]") else i + 1)
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(source)


def _first_chars(source: str) -> Optional[Set[str]]:
    """Characters a match can start with, or None when that cannot be told (then no lookahead)."""
    try:
        parsed = _sre_parse.parse(source)
    except Exception:  # an unusual pattern simply goes without the speed-up
        return None
    first, nullable = _first_of_sequence(list(parsed))
    return None if nullable else first


def _first_of_sequence(items: Sequence[Tuple[Any, Any]]) -> Tuple[Optional[Set[str]], bool]:
    out: Set[str] = set()
    for op, av in items:
        if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue  # anchors and lookarounds consume nothing
        first, nullable = _first_of_item(op, av)
        if first is None:
            return None, False
        out |= first
        if not nullable:
            return out, False
    return out, True


def _first_of_item(op: Any, av: Any) -> Tuple[Optional[Set[str]], bool]:
    if op is _C.LITERAL:
        return {chr(av)}, False
    if op is _C.IN:
        return _charset(av), False
    if op is _C.SUBPATTERN:
        return _first_of_sequence(list(av[-1]))
    if op is _C.BRANCH:
        parts = [_first_of_sequence(list(branch)) for branch in av[1]]
        if any(first is None for first, _ in parts):
            return None, False
        return set().union(*(first for first, _ in parts)), any(nullable for _, nullable in parts)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
        first, nullable = _first_of_sequence(list(av[2]))
        return first, nullable or av[0] == 0
    return None, False


def _charset(items: Sequence[Tuple[Any, Any]]) -> Optional[Set[str]]:
    out: Set[str] = set()
    for op, av in items:
        if op is _C.LITERAL:
            out.add(chr(av))
        elif op is _C.RANGE and av[1] - av[0] < 2000:
            out.update(chr(c) for c in range(av[0], av[1] + 1))
        else:
            return None
    return out


#: Macros of lexicon entries: a negative ending, and the adverbs that may come before one.
MACROS = {
    "%NEG%": NEG,
    "%AT_ALL%": r"(?:特に|とくに|別に|べつに|何も|なにも)?",  # 「特にないです」 is a plain no
    "%HARDLY%": r"(?:ほとんど|ほぼ|あまり|あんまり|全く|まったく|全然|ぜんぜん|一度も|いっぺんも)?",
    "%BIT%": r"(?:ぜんぜん|全然|あまり|あんまり|まったく|全く|よう|まだ|すこし|少し|ちょっと)?",
    # 寮 in kana, but not inside むりょう (無料) or きゅうりょう (給料): a word start or after の
    "%RYO%": r"りょう(?:(?<=のりょう)|(?<![ぁ-ゖ]りょう))",
}


def _source(src: str) -> str:
    """A lexicon entry as matched: macros expanded, kana folded like the text (カタカナ -> かたかな).
    ASCII is left alone (regex syntax such as ``(?P<`` is case sensitive): write it in lower case."""
    for name, body in MACROS.items():
        src = src.replace(name, body)
    return to_hiragana(normalize(src.replace("%PEOPLE%", _people_alt())))


@lru_cache(maxsize=None)
def _lexicon(name: str) -> _Lexicon:
    """Compiled on first use so that importing this module does no work."""
    return _Lexicon(_TABLES[name])


@lru_cache(maxsize=None)
def _rx(src: str) -> Pattern[str]:
    return _compile(_source(src))


@lru_cache(maxsize=None)
def _people_alt() -> str:
    words = sorted((w for ws in PEOPLE.values() for w in ws.split("|")), key=len, reverse=True)
    return "|".join(words)


@lru_cache(maxsize=None)
def _group_of() -> Dict[str, str]:
    return {fold(w): g for g, ws in PEOPLE.items() for w in ws.split("|")}


_TABLES: Dict[str, Mapping[str, Sequence[str]]] = {
    "employment_status": EMPLOYMENT_STATUS, "housing": HOUSING, "household": HOUSEHOLD, "health": HEALTH,
    "work_readiness": WORK_READINESS, "benefits": BENEFITS, "language": LANGUAGE, "debts": DEBTS,
    "eviction_risk": EVICTION, "concerns": CONCERNS,
}

# =========================================================================== the message


@dataclass(frozen=True)
class _Hit:
    code: str
    start: int
    end: int


_CLAUSE_BREAK = r"[。．.!！?？\n;；、,]|けど|けれど|だけど|やけど|ですが|ますが|でしたが|のに"
_SENTENCE_BREAK = r"[。．!！?？\n]"
#: Spaces matter only between ASCII words; 「しごと が ない」 is one phrase.
_INNER_SPACE = r"(?<![a-z0-9]) | (?![a-z0-9])"


#: A real message mentions a handful of quantities and cues; beyond this many it is a paste or
#: garbage, and reading further would only cost time.
_MAX_MENTIONS = 100


#: HTML tags pasted or typed into a message (「<b>40</b>歳」): not words, and they split numbers.
_MARKUP = r"</?[a-z][^<>]{0,200}>"


class _Message:
    """The folded message, its clauses and sentences, and helpers to look around a position."""

    def __init__(self, raw: str):
        self.text = _rx(_INNER_SPACE).sub("", fold(_rx(_MARKUP).sub("", raw)))
        self.quantities = scan(self.text)[:_MAX_MENTIONS]
        self.clauses = self._breaks(_CLAUSE_BREAK)
        self.sentences = self._breaks(_SENTENCE_BREAK)

    def _breaks(self, src: str) -> List[int]:
        return [0] + [m.end() for m in _rx(src).finditer(self.text)]

    @staticmethod
    def _span(starts: List[int], pos: int, limit: int) -> Tuple[int, int]:
        i = bisect.bisect_right(starts, pos) - 1
        return starts[i], starts[i + 1] if i + 1 < len(starts) else limit

    def head(self, pos: int, width: int = 20, scope: str = "clause") -> str:
        """Text before ``pos`` in the same clause (or sentence), at most ``width`` characters."""
        begin, _ = self._span(self.clauses if scope == "clause" else self.sentences, pos, len(self.text))
        return self.text[max(begin, pos - width):pos]

    def tail(self, pos: int, width: int = 20, scope: str = "clause") -> str:
        """Text after ``pos`` in the same clause (or sentence), at most ``width`` characters."""
        starts = self.clauses if scope == "clause" else self.sentences
        _, end = self._span(starts, max(pos - 1, 0), len(self.text))
        return self.text[pos:min(end, pos + width)]

    def hits(self, name: str, negated: Optional[bool] = False) -> List[_Hit]:
        """Lexicon hits: by default those not negated (借金はない drops 借金); ``negated=True``
        gives only the negated ones (for 「借金はありません」 -> False), ``None`` all of them."""
        lex = _lexicon(name)
        out = []
        for m in lex.regex.finditer(self.text):
            i = m.lastindex - 1
            is_negated = not lex.self_negating[i] and bool(_rx(_NEG_AFTER_SRC).match(self.text, m.end()))
            if negated is None or negated == is_negated:
                out.append(_Hit(lex.codes[i], m.start(), m.end()))
                if len(out) == _MAX_MENTIONS:
                    break
        return out

    def quantities_of(self, kind: str) -> List[Tuple[int, int, int]]:
        return [(value, start, end) for k, value, start, end in self.quantities if k == kind]


# =========================================================================== who the message is about


@dataclass(frozen=True)
class _Subject:
    """``consulting_for`` and, for a family member, which relative (PEOPLE group, None if unknown)."""

    value: Optional[str]
    group: Optional[str] = None
    stated: bool = True  # said in this message, not only known from earlier turns

    @property
    def family(self) -> bool:
        return self.value == "family_member"

    def is_consulted(self, group: Optional[str]) -> bool:
        """Whether a relative of ``group`` is the person the intake is about; when only an earlier
        turn said "family", any relative but a small child (子ども, 赤ちゃん) may be."""
        if not self.family:
            return False
        return group == self.group if self.group else group != "child"


def _family_patterns() -> Tuple[str, str]:
    people = _people_alt()
    about = rf"(?P<rel>{people})(?:\([^)]{{0,6}}\))?(?:の[^、。,]{{0,10}}?)?(?:のこと|の事|について|の件|の相談|の将来|の就職)"
    doing = (rf"(?P<rel>{people})(?:\([^)]{{0,6}}\))?(?:が|は|も|って|、|,)(?:(?P<relage>{_NUM}){_AGE_UNIT}(?:で|です|なん|ですが|だけど|やけど|けど|が|、|,)+)?"
             rf"(?P<mid>[^、。,!?]{{0,14}}?)(?:{FAMILY_SITUATION})")
    return about, doing


#: A relative younger than this is not the one looking for work (子どもが3歳で、…).
_WORKING_AGE = 15
#: Caring for the relative: 母が認知症で介護のため仕事を辞めた (介護離職) is the resident's own job.
_CARING = r"介護|看病|世話|面倒を見|付き添"
_EXISTENCE = r"[0-9〇一二三四五六七八九十]+(?:人|名)|ふたり|ひとり|^(?:い|お)(?:て|る|ます|ります)|がいて"
#: After 「母が…」: the relative exists or is cared for; what follows is the resident's own situation.
_RESIDENTS_OWN = _EXISTENCE + "|" + _CARING


_SINGLE_PARENT_WORD = "|".join(SINGLE_PARENT_WORDS)

#: 「娘がシングルマザーで…」: the relative is the single parent, so the consultation is about them
#: (not 「母がシングルマザーで私を育ててくれた」, a past the writer tells about themselves).
_RELATIVE_SINGLE_PARENT = (rf"(?:が|は|も)(?:{_SINGLE_PARENT_WORD})"
                           rf"(?![^。]{{0,12}}(?:(?:{SELF_WORDS})を育て|育ててくれ|育てられ|だった|でした|やった))")

#: A clause that opens with who the writer is: 「シングルマザーで子ども2人…」「仕事をクビになって、
#: シングルマザーで…」 is about the writer (unless a grown relative was the subject before it).
_SELF_INTRO = rf"(?:^|[、。,])(?:{SELF_WORDS})?(?:は)?(?:{_SINGLE_PARENT_WORD})"


def _grown(relative: str) -> bool:
    """A known relative who is not a child (息子, 母; not 子ども, 赤ちゃん)."""
    return _group_of().get(relative) not in ("child", None)


def _grown_relative_before(head: str) -> bool:
    """「娘は離婚して、…」: a relative other than a child is the subject of ``head``."""
    return any(_grown(m.group("rel")) for m in _rx(rf"(?P<rel>{_people_alt()})(?:が|は|も)").finditer(head))


def _subject(msg: _Message, known: Mapping[str, Any], asking: Optional[str] = None) -> _Subject:
    """Family member when a relative's own situation is described (息子が働かない, 母のことで相談)."""
    about, doing = _family_patterns()
    for m in itertools.chain(_rx(about).finditer(msg.text), _rx(doing).finditer(msg.text)):
        if "mid" in m.groupdict() and _rx(_RESIDENTS_OWN).search(m.group("mid") or ""):
            continue  # 子どもが3人いて仕事がない, 母が認知症で介護のため仕事を辞めた: the job is the resident's
        if (parse_number(m.groupdict().get("relage") or "") or _WORKING_AGE) < _WORKING_AGE:
            continue  # 子どもが3歳で、仕事が見つからない: a small child; the job is the resident's
        if _rx(rf"(?:{SELF_WORDS})も").search(msg.text, m.end()):
            return _Subject(None, stated=False)  # 子どもが不登校で、わたしも仕事を…: both; ask whose
        return _Subject("family_member", _group_of().get(m.group("rel")))
    m = _rx(rf"(?P<rel>{_people_alt()}){_RELATIVE_SINGLE_PARENT}").search(msg.text)
    if m and _grown(m.group("rel")):
        return _Subject("family_member", _group_of().get(m.group("rel")))
    if _rx(rf"(?:{SELF_WORDS})(?:自身)?(?:のこと|の事|の相談)|本人(?:です|が|から|で)|自分自身").search(msg.text):
        return _Subject("self")
    intro = _rx(_SELF_INTRO).search(msg.text) if asking in (None, "consulting_for") and not known.get("consulting_for") else None
    if intro and not _grown_relative_before(msg.text[:intro.start()]):
        return _Subject("self")  # (not as an answer: 「ひとり親です」 may describe the daughter consulted about)
    if asking is None and not known.get("consulting_for") and _opens_with_own_age(msg):
        return _Subject("self")
    if known.get("consulting_for") == "family_member":
        return _Subject("family_member", stated=False)
    return _Subject(None, stated=False)


#: 「23歳、高校中退して…」「私は52歳です。」: a message that opens with an age and no one else's
#: name introduces the writer (a parent writes 「息子は23歳で…」, caught above).
_OWN_AGE_BEFORE = rf"^(?:{SELF_WORDS})?(?:は|、)?$"
_OWN_AGE_AFTER = r"(?:です|でs|で|だ|や|じゃ|、|,|。| |$)"


def _opens_with_own_age(msg: _Message) -> bool:
    first = msg.quantities[0] if msg.quantities else None
    if not first or first[0] != AGE or first[1] < _WORKING_AGE:
        return False
    return bool(_rx(_OWN_AGE_BEFORE).search(msg.text[:first[2]]) and _rx(_OWN_AGE_AFTER).match(msg.text, first[3]))


def _other_subject(msg: _Message, pos: int, subject: _Subject) -> bool:
    """True when the clause before ``pos`` is about another person (夫は正社員で…, 母が入院して…)."""
    head = msg.head(pos, 30)
    last = None
    for m in _rx(rf"(?P<rel>{_people_alt()})(?:\([^)]{{0,6}}\))?(?:は|が|も|って)").finditer(head):
        last = m
    me = _rx(rf"(?:{SELF_WORDS})(?:は|が|も)").search(head, last.end() if last else 0)
    if me and subject.family:
        return True  # 息子が引きこもりで、私は正社員です: the caller's job, not the son's
    if last is None or me:
        return False
    if _rx(_RESIDENTS_OWN).search(head[last.end():]):
        return False  # 子どもが3人いて仕事がない, 母の介護で仕事を辞めた: the job is the resident's
    return not subject.is_consulted(_group_of().get(last.group("rel")))


# =========================================================================== ages, children


_NUM = r"[0-9〇一二三四五六七八九十]{1,4}"
_AGE_UNIT = r"(?:歳|才|さい)"
_CHILD_AFTER = r"子(?!持|もち|育|連|づれ)|こども|子供|息子|むすこ|娘|むすめ|男の子|女の子|長男|長女|次男|次女|三男|三女|赤ちゃん|あかちゃん|児|双子"
_ADULT_AFTER = r"母|父|夫|主人|旦那|妻|嫁|兄|弟|姉|妹|祖母|祖父|両親|親"
#: Ages that are not the current age: 「20歳の時」「65歳まで」「60歳以上」「45歳と書きましたが」.
_AGE_NOT_NOW = (r"^(?:の時|のとき|の頃|のころ|頃|ごろ|から(?!でも)|まで|以上|以下|未満|以来|前後|じゃなく|ではなく|じゃない|ではない"
                r"|ちゃう|やなく|と(?:書|言|いい|答)|って(?:書|言)|で(?:結婚|出産|離婚|就職|入社|退職|辞め|上京|来日|産ん))")
#: 「年齢は46です」「今年で50になります」: an age without 歳.
_AGE_WITHOUT_UNIT = (r"(?<![0-9〇一二三四五六七八九十])(?:(?:年齢|ねんれい|歳|年|とし)(?:は|:|が)(?:今年で|今|現在|もう)?|今年で)(?P<n>[0-9]{1,3})"
                     r"(?=です|だ|や|で|に|$|[、。!?])")
_ELDER_ONLY = r"上の子|一番上|長男|長女|^上"


@dataclass
class _Ages:
    own: List[int] = field(default_factory=list)       # the age of the person the intake is about
    children: List[Tuple[int, str]] = field(default_factory=list)  # (age, the word that named the child)


def _attached_after(tail: str, value: int) -> Optional[Tuple[str, str]]:
    """Who an age is attached to when a noun follows: 「3歳と5歳の子」「72歳の母」; 「4歳の子育て」 is
    a child's age but 「46歳の子育て中の母」 is not."""
    chain = rf"^(?:(?:と|、|,|・|や|か){_NUM}{_AGE_UNIT})*(?:の|になる|になった|になります)?"
    m = _rx(rf"{chain}(?P<who>{_CHILD_AFTER}|子育)").match(tail)
    if m and (m.group("who") != "子育" or value < 20):
        return "child", m.group("who")
    m = _rx(rf"^の(?P<who>{_ADULT_AFTER})(?P<cop>です|で|だ|や)?").match(tail)
    if m:
        return ("self", "") if m.group("cop") else ("adult", m.group("who"))
    return None


def _attached_before(head: str) -> Optional[Tuple[str, str]]:
    """Who an age is attached to when a noun precedes: 「子どもは3歳」「息子(28」「私は46歳」."""
    particles = r"(?:は|が|も|って|:|の年齢は|の年は)?(?:今|いま|現在|今年|今年で|もう)?"
    between = rf"(?:\(|(?:{_NUM}(?:人|名)|ふたり|ひとり)(?:で|、)?)?"
    chain = rf"(?:{_NUM}{_AGE_UNIT}(?:と|、|,|・|や|か|\)))*"
    m = _rx(rf"(?P<who>{_people_alt()}|上|下|一番下|一番上){between}{particles}\(?{chain}$").search(head)
    if m:
        return "person", m.group("who")
    if _rx(rf"(?:{SELF_WORDS}){particles}$").search(head):
        return "self", ""
    return None


def _ages(msg: _Message, subject: _Subject, asking: Optional[str]) -> _Ages:
    """Sort every age in the message into the consulted person's and the children's."""
    found = _Ages()
    for value, start, end in _age_mentions(msg):
        tail, head = msg.tail(end, 16), msg.head(start, 24, "sentence")
        if _rx(_AGE_NOT_NOW).match(tail):
            continue
        owner = _attached_after(tail, value) or _attached_before(head) or ("none", "")
        _sort_age(found, value, owner, subject, asking)
    return found


def _age_mentions(msg: _Message) -> List[Tuple[int, int, int]]:
    """Ages written with 歳, plus 「息子(28)」 style ages in brackets after a person."""
    mentions = list(msg.quantities_of(AGE))
    for src in (rf"(?:{_people_alt()}|{SELF_WORDS})\((?P<n>[0-9]{{1,3}})\)", _AGE_WITHOUT_UNIT):
        for m in _rx(src).finditer(msg.text):
            mentions.append((int(m.group("n")), m.start("n"), m.end("n")))
    return sorted(mentions, key=lambda t: t[1])[:_MAX_MENTIONS]


def _sort_age(found: _Ages, value: int, owner: Tuple[str, str], subject: _Subject, asking: Optional[str]) -> None:
    """Other adults' ages (夫は50歳) and, in a family consultation, the caller's own age are kept
    out of the fields: the intake describes one person."""
    kind, who = owner
    group = "child" if who in _CHILD_POSITIONS else _group_of().get(who)
    if kind in ("child", "person", "adult") and subject.is_consulted(group):
        found.own.append(value)  # 息子(28) when the consultation is about the son
    elif kind == "child" or (kind == "person" and group in CHILD_GROUPS):
        found.children.append((value, who))
    elif kind == "none" and (asking == "youngest_child_age" or (asking not in (None, "age") and value < _WORKING_AGE)):
        found.children.append((value, _ASKED_AGE))  # also 「5歳」 while asked something else: a child, not the resident
    elif kind == "none" or (kind == "self" and not subject.family):
        found.own.append(value)


_CHILD_POSITIONS = ("上", "下", "一番下", "一番上")


_ASKED_AGE = "?"  # marks an age read as the youngest child's only because that was asked


def _youngest(children: List[Tuple[int, str]]) -> Optional[int]:
    """The youngest child's age, unless only an elder child's age was given (上の子は8歳)."""
    usable = [age for age, who in children if not _rx(_ELDER_ONLY).search(who)]
    return min(usable) if usable else None


_CHILD_NOUN = r"子ども達|子どもたち|子ども|子供|こども|うちの子|子(?!持|育|連)"
_CHILD_SPECIFIC = r"息子|むすこ|娘|むすめ|男の子|女の子|長男|長女|次男|次女"
_NO_CHILDREN = rf"(?:{_CHILD_NOUN})(?:は|が|も)?(?:%NEG%|いない|いません|おらん|おらへん|おりません|いてない|いーひん|0人|ゼロ)"

#: A household of the couple alone: no children live with them (「夫婦二人です」, not 「夫婦二人とも」).
_ONLY_COUPLE = (r"(?:夫婦|ふうふ|(?:夫|妻|主人|嫁|旦那|だんな|パートナー)と)(?:の)?(?:二人|ふたり|2人)(?!とも)|夫婦(?:だけ|のみ)")


def _children(msg: _Message, ages: _Ages, asking: Optional[str]) -> Optional[int]:
    """Number of children: 「子ども3人」「3人の子」「息子2人と娘1人」, 0 for 「子どもはいません」 or
    「夫婦二人です」, else the number of children whose ages were listed (「3歳と5歳の子」)."""
    if _rx(_ONLY_COUPLE).search(msg.text) and not _rx(rf"{_CHILD_NOUN}|{_CHILD_SPECIFIC}").search(msg.text):
        return 0
    generic: List[int] = []
    specific: List[int] = []
    for value, start, end in msg.quantities_of(COUNT):
        head, tail = msg.head(start, 12), msg.tail(end, 6)
        before = _rx(rf"(?P<who>{_CHILD_SPECIFIC}|{_CHILD_NOUN})(?:は|が|も|を|:)?(?:[^、。]{{0,10}}の)?(?:今|いま|現在)?$").search(head)
        after = _rx(rf"^の?(?P<who>{_CHILD_SPECIFIC}|{_CHILD_NOUN})").match(tail)
        who = (before or after).group("who") if (before or after) else None
        if who is None:
            if asking == "children":
                generic.append(value)
            continue
        (specific if _rx(_CHILD_SPECIFIC).fullmatch(who) else generic).append(value)
    if generic:
        return generic[-1]
    if specific:
        return sum(specific)
    if _rx(_NO_CHILDREN).search(msg.text):
        return 0
    listed = [(age, who) for age, who in ages.children if who != _ASKED_AGE]
    if len(listed) >= 2 or (len(listed) == 1 and not _rx(r"上|下|一番|末|長|次|三").search(listed[0][1])):
        return len(listed)
    return None


# =========================================================================== money and months

_INCOME_CUE = (r"月収|げっしゅう|手取り|手取|てどり|収入|しゅうにゅう|給料|きゅうりょう|給与|稼ぎ|かせぎ|年収|月給|総支給|世帯"
               r"|月|つき|毎月|ひと月|パートで|バイトで|年金|ねんきん")
_NOT_INCOME = (r"家賃|やちん|借金|しゃっきん|ローン|ろーん|滞納|所持金|しょじ|所じ|財布|さいふ|残高|貯金|ちょきん|貯蓄|預金|返済"
               r"|税金|保険料|携帯|光熱費|食費|生活費|生活ひ|交通費|時給|日給|じきゅう|借り|学費|医療費|費用|更新料|代")
_INCOME_WISH = r"欲しい|ほしい|稼ぎたい|稼げる|希望|きぼう|以上|必要|就きたい|働きたい|目標|なら|あれば|もらえる|の仕事|足りな|たりな|足りて"
_INCOME_PAST = r"だった|でした|ありました|やった|稼いで(?:い)?た|もらって(?:い)?た|近く稼いで"
#: The resident corrects an earlier answer: then 「だった」 states the right value, not the past.
_CORRECTION = (r"やっぱ|間違|まちが|訂正|ていせい|言い直|正しくは|ちがった|ちゃうちゃう|ちゃうわ|ごめん|すみません|すいません"
               r"|^(?:いや|いえ|あ)、|ほんまは|本当は|ほんとは|実は")
#: A value the resident says they gave before and now replace: 「45歳と書きましたが」「1年じゃなくて」.
_SUPERSEDED = (r"^(?:じゃなく|ではなく|じゃない|ではない|ちゃう|やなく|やない|の間違い(?!で)"
               r"|(?:と|って)?(?:言|いい|いう|ゆう|書|答|入力))")
_ZERO_INCOME = r"(?:収入|しゅうにゅう|稼ぎ|給料)(?:は|が|も)?(?:%NEG%|ゼロ|ぜろ|0円?(?![0-9,.万]))|無収入|むしゅうにゅう|収入(?:が)?(?:途絶え|なくな)"


def _income(msg: _Message, asking: Optional[str]) -> Optional[int]:
    """Current monthly household income in yen; 年収 is divided by 12; wishes (月20万は欲しい),
    rent, debts and savings are not income. A replaced value passes its cue on: 「月14万と言いま
    したが、12万の間違いです」 is 120000."""
    correcting = bool(_rx(_CORRECTION).search(msg.text))
    values: List[int] = []
    inherited = False
    for value, start, end in msg.quantities_of(AMOUNT):
        head, tail = msg.head(start, 10), msg.tail(end, 14)
        if _rx(_NOT_INCOME).search(head) or _rx(rf"^(?:の|くらいの|ほどの)?(?:{_NOT_INCOME})").match(tail):
            continue
        cued = bool(_rx(_INCOME_CUE).search(head) or _rx(r"^(?:くらい|ぐらい|ほど)?の?(?:収入|給料|稼ぎ|手取り)").match(tail))
        if _rx(_SUPERSEDED).match(tail):
            inherited = inherited or cued
            continue
        if _rx(_INCOME_WISH).search(tail) or (not correcting and _rx(_INCOME_PAST).search(tail)):
            continue
        if cued or inherited or asking == "monthly_income":
            values.append(value // 12 if _rx(r"年収").search(head) else value)
    if values:
        return values[-1]
    return 0 if _rx(_ZERO_INCOME).search(msg.text) else None


_JOBLESS_STATE = (r"(?:働|はたら)いて(?:い|お)?(?:ない|なく|ません|まえん|へん|らん)|(?:仕事|しごと)(?:を|は|も)?(?:して|し)(?:い)?"
                  r"(?:ない|なく|ません|まえん|へん)|無職|むしょく|無色|失業|ブランク")
_JOBLESS_AFTER = (rf"{_JOBLESS_STATE}|(?:仕事|しごと)(?:が)?(?:ない|ありません|あらへん|見つから)|ぶらぶら"
                  r"|(?:何|なに)も(?:して|し)(?:い)?(?:ない|ません|まえん|へん)"
                  r"|^(?:ほど|くらい|ぐらい|程度|近く)?(?:前|まえ)(?:に|から)?.{0,8}?(?:辞め|やめ|退職|クビ|首|解雇|失業|無職|リストラ"
                  r"|切り|切られ|きられ|雇い?止め|倒産|閉店)")
_JOBLESS_BEFORE = (r"(?:辞め|やめ|退職し|離職し|失業し|解雇され|リストラされ|(?:クビ|くび|首)に(?:なっ|され)|雇い?止めに(?:あっ|なっ)"
                   r"|切りに(?:あっ|おう|あい)|切られ|きられ|打ち切られ|閉店し|倒産し|つぶれ|潰れ|(?:職|仕事)を失っ"
                   r"|(?:仕事|しごと)(?:が|も)?なくなっ|卒業し|中退し)(?:て|た(?![らい])|ちゃっ|てしも|まし)|無職(?:で|になって|のまま)"
                   r"|(?:就職先?|仕事)(?:が|も)?(?:でき|決まら|見つから)(?:ない|ず)(?:まま)?|ブランク(?:が|は)?$|最後に働いたのは"
                   rf"|最後の出勤から|(?:卒業|退職|離職)後|(?:{_JOBLESS_STATE})(?:の)?(?:のは|期間(?:は|が)?)$")
_RENT_WORD = r"家賃|やちん"
_ARREARS = r"滞納|たいのう|払えて|はらえて|払って(?:い|お)?(?:ない|ません)|ため|溜め|たま|溜ま|未払|遅れ|おくれ|滞|分"
_OTHER_BILL = r"保険料|ローン|税金|携帯|光熱費|電気|ガス|水道"
_RELATIVE_MONTHS = (("先々月", 2), ("先月", 1), ("今月", 0), ("先週", 0), ("今週", 0), ("昨日", 0), ("今日", 0), ("最近", 0),
                    ("一昨年", 24), ("おととし", 24), ("去年", 12), ("昨年", 12), ("きょねん", 12))
_JOB_ENDED = r"辞め|クビ|くび|首に|解雇|失業|リストラ|雇い?止め|退職|倒産|無職"
_WORKING = r"(?:働|はたら)いて(?:い|お)?(?:ます|る|ま)|仕事(?:を|は)?して(?:い)?(?:ます|る)|勤めて(?:い)?(?:ます|る)|在職|就業中|(?:働|はたら)いとる"
#: A sentence that is only 「もう十か月になります」 continues the previous one.
_ONLY_FILLER = r"^(?:もう|それから|あれから|今で|いまで|既に|すでに|早|はや)?$"
_DURATION_SLOTS = ("months_without_work", "rent_arrears_months")
#: The rent is being paid (「家賃は払えてます」「家賃の滞納はないです」): no month in arrears. Only the
#: present: 「先月までは払えてました」 says nothing about now.
_RENT_PAID = (rf"(?:{_RENT_WORD})(?:は|も|を)?[^。、]{{0,8}}?(?:払|はら)(?:えて|って)(?:い|お)?(?:る|ます)"
              rf"|(?:{_RENT_WORD})(?:の|は|を)?(?:滞納|たいのう)(?:は|も)?(?:して(?:い|お)?)?(?:%NEG%|ません)")


def _durations(msg: _Message, asking: Optional[str]) -> Dict[str, int]:
    """``months_without_work`` and ``rent_arrears_months`` from durations and their context; a
    replaced duration passes its slot on (辞めてから半年ではなく1年です -> 12)."""
    out: Dict[str, int] = {}
    has_rent = bool(_rx(_RENT_WORD).search(msg.text))
    inherited: Optional[str] = None
    for value, start, end in msg.quantities_of(DURATION):
        tail = msg.tail(end, 16)
        if _rx(r"^(?:後|ご)(?:に|には|で)?").match(tail):
            continue  # 2か月後に出る: a deadline, not a length of time
        slot = _duration_slot(msg, start, end, has_rent) or inherited
        if _rx(_SUPERSEDED).match(tail):
            inherited = slot
            continue
        slot = slot or (asking if asking in _DURATION_SLOTS else None)
        if slot and slot not in out:
            out[slot] = value
    if "months_without_work" not in out:
        months = _relative_months(msg, asking)
        if months is not None:
            out["months_without_work"] = months
    return out


def _duration_slot(msg: _Message, start: int, end: int, has_rent: bool) -> Optional[str]:
    head, tail = msg.head(start, 20, "sentence"), msg.tail(end, 16)
    if _rx(_ONLY_FILLER).match(head) and start > len(head):
        head = msg.head(start - len(head) - 1, 20, "sentence")
    near = msg.head(start, 10) + "|" + msg.tail(end, 10)
    if has_rent and _rx(_ARREARS).search(near) and not _rx(_OTHER_BILL).search(near):
        return "rent_arrears_months"
    if _rx(_JOBLESS_AFTER).search(tail) or _rx(_JOBLESS_BEFORE).search(head):
        return "months_without_work"
    return None


def _relative_months(msg: _Message, asking: Optional[str]) -> Optional[int]:
    """「先月から働いてない」「去年クビになった」: months from a relative time word."""
    for word, months in _RELATIVE_MONTHS:
        pos = msg.text.find(word)
        if pos < 0:
            continue
        tail = msg.tail(pos + len(word), 20, "sentence")
        if _rx(r"^(?:で|いっぱい|末|中に|まで)").match(tail):
            continue  # 今月で退職: it has not happened yet
        if asking == "months_without_work" or _rx(_JOBLESS_AFTER).search(tail) or _rx(_JOB_ENDED).search(tail):
            return months
    if asking == "months_without_work" and _rx(_WORKING).search(msg.text):
        return 0
    return None


# =========================================================================== categorical fields

_PAST_BEFORE = r"(?:前は|まえは|以前は?|昔は|むかしは|元|前職は?|前の(?:仕事|会社|職場)は|かつて|これまで|今まで)[^、。]{0,4}$"
_ENDED_AFTER = (r"辞め|やめ|クビ|くび|首|解雇|切られ|きられ|雇い?止め|打ち切|時代|の時|のとき|の頃|経験|けいけん|もしたこと"
                r"|(?:働|勤)めて(?:い)?た|働いて(?:い)?た|してた|していた|しとった|やってた|やっていた|いました|いまいた|の子|の息子|の娘")
_COPULA_PAST = r"だった|でした|やった"
_WISH_AFTER = (r"希望|きぼう|探し|さがし|目指|めざ|なりたい|転職|したい|働きたい|働け|がいい|でもいい|でいい|求人|応募|面接|募集"
               r"|戻りたい|就きたい|つきたい|志望|紹介|なれ|始め|の(?:仕事|しごと|求人)")
_QUESTION_AFTER = r"^(?:でしょうか|ですか|かな|かね|やろか|ん?か(?:$|[?？。、]))|^[?？]"
#: 「そんな仕事ない」「働ける仕事はないでしょうか」: a kind of job, not the resident's lack of one.
_JOB_KIND_BEFORE = r"[なのるいたえ]$"
#: 「契約が切れる」「クビになるかも」: it has not happened yet.
_FUTURE_AFTER = r"^(?:る|に?なる|される)|^.{0,6}(?:そう|かも|予定|しれ)"
_HOUSING_WORD = r"アパート|部屋|寮|社宅|マンション|賃貸|家の|住まい"


def _employment(msg: _Message, subject: _Subject) -> Optional[str]:
    """Current work; past jobs (前は正社員), wishes (正社員になりたい), replaced answers (正社員と
    答えましたが) and other people's jobs are skipped; the last remaining mention wins."""
    correcting = bool(_rx(_CORRECTION).search(msg.text))
    current = [hit for hit in msg.hits("employment_status")
               if not _other_subject(msg, hit.start, subject) and _is_current_job(msg, hit, correcting)]
    return current[-1].code if current else None


def _is_current_job(msg: _Message, hit: _Hit, correcting: bool) -> bool:
    tail, head = msg.tail(hit.end, 24), msg.head(hit.start, 12)
    if _rx(_SUPERSEDED).match(tail):
        return False
    if hit.code in ("unemployed", "never_worked"):
        no_job = _rx(r"仕事|しごと").search(msg.text, hit.start, hit.end)
        if no_job and (_rx(_QUESTION_AFTER).search(tail) or _rx(_JOB_KIND_BEFORE).search(head)):
            return False
        contract = msg.text.startswith("契約", hit.start) and _rx(_HOUSING_WORD).search(msg.head(hit.start))
        return not (contract or _rx(_FUTURE_AFTER).search(tail))
    if tail.startswith("から"):
        return True  # パートから正社員に: パート is the present job
    ended = _rx(_ENDED_AFTER).search(tail) or (not correcting and _rx(_COPULA_PAST).search(tail))
    return not (ended or _rx(_WISH_AFTER).search(tail) or _rx(_PAST_BEFORE).search(head))


_HOUSING_PRIORITY = ("street", "no_fixed_home", "company_dorm", "public_housing", "with_friends", "with_family", "owned", "renting")
# Matched at a position with ``Pattern.match(text, pos)``, where ``^`` would never match: no anchors.
_LEFT_PLACE = r"(?:を|から|は)?(?:出た|出て(?!い|行|け|っ)|出され|追い出され(?:た|て)|引っ越|退去し(?:た|て)|出ました)"
_WANTED_PLACE = r"(?:を|に|が|へ)?(?:借りたい|探|さが|見つけ|みつけ|移りたい|引っ越したい|入りたい|住みたい|入れ|紹介|申し込)"


def _housing(msg: _Message) -> Optional[str]:
    """Where the resident lives now; places left (実家を出て) or wanted (アパートを探して) are skipped."""
    codes = {
        hit.code for hit in msg.hits("housing")
        if not (_rx(_LEFT_PLACE).match(msg.text, hit.end) or _rx(_WANTED_PLACE).match(msg.text, hit.end)
                or _rx(_PAST_BEFORE).search(msg.head(hit.start, 12)))
    }
    return next((c for c in _HOUSING_PRIORITY if c in codes), None)


_HOUSEHOLD_PRIORITY = ("single_parent", "alone", "with_partner", "with_parents", "other")
_PARTNER_GONE = r"亡く|なくし|死|離婚|別れ|わかれ|別居|出て(?:行|い)|いない|おらん|暴力|dv|逃げ|避難"
_PARENTS_GONE = r"(?:離婚|別れ|離れ|死別)"
_CHILD_ANY = r"子ども|子供|こども|子持ち|子育て|育児|保育園|ワンオペ|[0-9一二三四五六七八九十]+(?:歳|才)の子"
_SINGLE_WITH_CHILD = r"シングル(?:で|です|やねん|やで|や)|バツイチ|離婚(?:した|して|しま)"


def _household(msg: _Message) -> Optional[str]:
    """Who lives together; a partner who died, left or is fled from does not count, and 「シングル」
    「バツイチ」「離婚して」 mean a single parent only when children are mentioned."""
    codes = set()
    for hit in msg.hits("household"):
        if hit.code == "with_partner" and (_rx(_PARTNER_GONE).search(msg.tail(hit.end, 12))
                                           or _rx(r"(?:元|前の|亡き|亡くなった)$").search(msg.head(hit.start, 6))):
            continue
        if hit.code == "with_parents" and _rx(_PARENTS_GONE).match(msg.text, hit.end):
            continue
        codes.add(hit.code)
    if _rx(_SINGLE_WITH_CHILD).search(msg.text) and _rx(_CHILD_ANY).search(msg.text) and "with_partner" not in codes:
        codes.add("single_parent")
    return next((c for c in _HOUSEHOLD_PRIORITY if c in codes), None)


_HEALTH_PRIORITY = ("disability", "mental_health", "under_treatment", "good")


def _health(msg: _Message, subject: _Subject) -> Optional[str]:
    """The resident's (or consulted relative's) health; a family member's illness is skipped."""
    codes = {hit.code for hit in msg.hits("health") if not _other_subject(msg, hit.start, subject)}
    if codes - {"good"}:
        codes.discard("good")
    return next((c for c in _HEALTH_PRIORITY if c in codes), None)


def _by_priority(msg: _Message, name: str, order: Sequence[str]) -> Optional[str]:
    codes = {hit.code for hit in msg.hits(name)}
    return next((c for c in order if c in codes), None)


def _public_assistance(msg: _Message) -> Optional[str]:
    """生活保護: what follows the word decides (受けていない / 申請したい / 受けている)."""
    result = None
    for m in _rx(PUBLIC_ASSISTANCE_WORD).finditer(msg.text):
        result = _assistance_state(msg.text, m.end()) or result
    return result


def _assistance_state(text: str, pos: int) -> Optional[str]:
    if _rx(_NEG_AFTER_SRC).match(text, pos):
        return "no"
    tail = text[pos:pos + 14]
    if _rx(PUBLIC_ASSISTANCE_APPLYING).search(tail):
        return "applying"
    if _rx(PUBLIC_ASSISTANCE_RECEIVING).search(tail):
        return "receiving"
    return None


_BENEFIT_NOT_RECEIVED = r"^.{0,6}(?:もらいたい|受けたい|申請したい|使いたい|使える|もらえる|もらえますか|受けられ|切れ|終わ|打ち切)"


def _benefits(msg: _Message) -> Optional[List[str]]:
    """Support received, in protocol order; wished-for support (失業保険をもらいたい) is not received."""
    codes = {hit.code for hit in msg.hits("benefits") if not _rx(_BENEFIT_NOT_RECEIVED).search(msg.tail(hit.end, 10))}
    if not codes:
        return None
    if codes != {"none"}:
        codes.discard("none")
    return [c for c in BENEFIT_CODES if c in codes]


def _boolean(msg: _Message, name: str) -> Optional[bool]:
    """True when a cue is present, False when it is only present negated (借金はありません)."""
    if msg.hits(name):
        return True
    return False if msg.hits(name, negated=True) else None


_ONE_BILL = rf"(?:{_BILLS})(?:の|は|を|が|も)?"


_DEBT_WORD = r"(?:借金|しゃっきん|ローン|借り入れ|借入|滞納|たいのう|未払い|未納)"
#: 「借金も滞納もありません」: one negation for the whole list.
_NO_DEBT_LIST = rf"{_DEBT_WORD}(?:も|や){_DEBT_WORD}(?:も|は)?(?:特に|とくに|全く|まったく|何も|なにも)?%NEG%"


def _debts(msg: _Message) -> Optional[bool]:
    """As :func:`_boolean`, but one bill paid (「家賃は滞納していません」) says nothing of loans
    or other arrears: only a general "no" (借金はありません, 滞納はないです) is False."""
    listed = [m.span() for m in _rx(_NO_DEBT_LIST).finditer(msg.text)]
    if any(not any(a <= h.start < b for a, b in listed) for h in msg.hits("debts")):
        return True
    if listed:
        return False
    general = [h for h in msg.hits("debts", negated=True)
               if not _rx(rf"^{_ONE_BILL}").match(msg.text, h.start) and not _rx(rf"{_ONE_BILL}$").search(msg.head(h.start, 8))]
    return False if general else None


_LANGUAGE_PRIORITY = ("pt", "en", "zh", "vi", "other", "easy_ja")
_READINESS_PRIORITY = ("not_now", "needs_preparation", "ready_now")


def _language(msg: _Message) -> Optional[str]:
    """Language wanted; 「日本語が読めない」 is limited Japanese, so easy_ja is never negated away."""
    codes = {hit.code for hit in msg.hits("language", negated=None) if hit.code == "easy_ja"}
    codes |= {hit.code for hit in msg.hits("language")}
    return next((c for c in _LANGUAGE_PRIORITY if c in codes), None)


# =========================================================================== answers to a question


_FILLER_HEAD = (r"^(?:えっと|えーと|えと|えー|あー|うーん|うん|はい|ええ|んー|今年で|今年|今は|今|現在|もう|だいたい|大体"
                r"|約|およそ|たぶん|多分|確か|たしか|ちょうど|満|年齢は|歳は|年は|子ども(?:は|が)?|子供(?:は|が)?|こども(?:は)?"
                r"|月収(?:は)?|月|つき|手取り(?:で|は)?|収入(?:は)?|家賃(?:は)?|滞納(?:は)?|期間(?:は)?)+")
_FILLER_TAIL = (r"(?:です|でした|だよ|だね|だ|やで|やねん|や|よ|ね|な|かな|くらい|ぐらい|ほど|程度|位|前後|ちょっと|ちょい"
                r"|っす|す|になります|になる|でs|でう|でしゅ|でづ|か月|ヶ月|カ月)+$")
_PUNCT = r"^[\s。、.,!！?？~ー…・「」『』()\"']+|[\s。、.,!！?？~ー…・「」『』()\"']+$"


def _bare_number(msg: _Message) -> Optional[int]:
    """A short answer that is just a number: 「46」「四十六です」「よんじゅうろく」「12くらい」."""
    core = _rx(_PUNCT).sub("", msg.text)
    core = _rx(_FILLER_TAIL).sub("", _rx(_FILLER_HEAD).sub("", core))
    return parse_number(core) if core and len(core) <= 20 else None


def _integer_answer(msg: _Message, asking: str) -> Optional[int]:
    """A bare number, 「ない」「いない」「ゼロ」 as 0; income under 1000 is in 万円 (12 -> 120000)."""
    if asking in ("children", "monthly_income", "rent_arrears_months", "months_without_work") and _rx(_ZERO_ANSWER).search(msg.text):
        return 0
    number = _bare_number(msg)
    if number is not None and msg.quantities_of(DURATION if asking not in _DURATION_SLOTS else COUNT):
        return None  # 「3か月」 to 「お子さんは何人？」 is a length of time, 「ひとりです」 to 「どれくらい？」 people
    if number is not None:
        return number * 10_000 if asking == "monthly_income" and number < 1000 else number
    return None


_ZERO_ANSWER = (r"^(?:%NEG%|いない|いません|おらん|おらへん|おりません|いてない|ゼロ|ぜろ|無収入|収入(?:は|が)?(?:%NEG%|ゼロ)"
                r"|滞納(?:は|も)?(?:して(?:い)?)?(?:%NEG%|ません|へん)|(?:子ども|子供|こども)(?:は|が)?(?:いない|いません|%NEG%))")


def _yes_no(msg: _Message, asking: str) -> Optional[bool]:
    """A yes or no; to the consent question 「かまわない」「問題ない」 are yeses although they end
    in ない (to 「借金はありますか」 「問題ない」 is not a yes)."""
    if asking == "consent" and _rx(YES_DESPITE_NEGATION).search(msg.text):
        return True
    if _rx(NO_WORDS).search(msg.text):
        return False
    return True if _rx(YES_WORDS).search(msg.text) else None


@lru_cache(maxsize=None)
def _labels() -> Dict[Tuple[str, str], str]:
    """(field, folded Japanese label) -> code, for typed button titles."""
    return {(name, _label_key(label)): code for name, choices in CHOICES.items() for code, label in choices.items()}


@lru_cache(maxsize=1)
def _label_keys() -> FrozenSet[str]:
    return frozenset(key for _, key in _labels()) | {_label_key(label) for label in BENEFIT_CODES.values()}


def is_choice_label(text: str) -> bool:
    """True when ``text`` is the title of an answer button typed out (「受けていない」「路上・野宿」):
    an answer to a question, whatever else its words resemble."""
    return isinstance(text, str) and _label_key(text) in _label_keys()


def _label_key(text: str) -> str:
    return _rx(r"[\s・、,()/]").sub("", _rx(_INNER_SPACE).sub("", fold(text)))


def _choice_answer(msg: _Message, asking: str) -> Optional[str]:
    """An asked categorical field: its code, its Japanese label, or a natural answer."""
    key = _label_key(msg.text)
    if key in CHOICES.get(asking, {}):
        return key
    code = _labels().get((asking, key))
    if code:
        return code
    natural = _ASKED.get(asking)
    if natural:
        for code, src in natural:
            if _rx(src).search(msg.text):
                if asking == "consulting_for" and code == "family_member" and (
                        _small_child(msg) or _rx(_LIVES_WITH).search(msg.text)):
                    # 「下の子は小2です」「夫と二人」: the resident's own child or household, not whom
                    # the consultation is about
                    return None
                return code
    return None


#: Who the resident lives with (夫と二人, 母と暮らしています, 両親と同居): a household, not a relative to consult for.
_LIVES_WITH = r"と(?:二人|ふたり|2人|三人|3人|暮らし|くらし|住ん|すんで|同居|一緒に(?:住|暮))|同居"  # text is width-folded


def _small_child(msg: _Message) -> bool:
    """A child below working age is named by school year (小2) or age (3歳)."""
    ages = [value for value, _, _ in msg.quantities_of(AGE)] + [_school_age(msg)]
    ages = [a for a in ages if a is not None]
    return bool(ages) and min(ages) < _WORKING_AGE


#: Short answers that only make sense as the answer to that question.
_ASKED: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "consulting_for": (("family_member", r"家族|%PEOPLE%"), ("self", rf"{SELF_WORDS}|本人")),
    "public_assistance": (("no", r"^%AT_ALL%(?:%NEG%|いいえ|いや|ううん)|受けて(?:い)?(?:ない|ません)|もらって(?:い)?(?:ない|ません)"),
                          ("applying", r"申請|しんせい|したい|考え|検討"),
                          ("receiving", r"^(?:はい|うん|ええ)|受けて|受給|もらって|もろて")),
    "health": (("good", r"^%AT_ALL%(?:問題)?(?:は)?%NEG%|問題(?:は)?%NEG%|大丈夫|元気|健康"),),
    "employment_status": (("unemployed", r"^%AT_ALL%(?:%NEG%|してない|していない|してません|しとらん|してへん)"),
                          ("employed_nonregular", r"契約"),),
    "household": (("alone", r"^(?:一人|ひとり|独り)(?:です|だ|や)?$|^自分だけ|一人で"),
                  ("single_parent", r"子(?:ども|供)?(?:と|だけ)"),
                  ("with_partner", r"夫|妻|旦那|嫁|主人|家内|パートナー|彼氏|彼女"),
                  ("with_parents", r"親|父|母"), ("other", r"家族|友達|友人|兄弟|祖母|祖父|孫")),
    "language": (("easy_ja", r"やさしい|簡単|かんたん"), ("ja", r"日本語|にほんご|^ja$"), ("pt", r"ポルトガル|^pt$"),
                 ("en", r"英語|english|^en$"), ("zh", r"中国|^zh$"), ("vi", r"ベトナム|^vi$")),
    "work_readiness": (("ready_now", r"^(?:はい|うん|すぐ)"),),
}

_CONTACT_NONE = (r"^(?:連絡先|電話|携帯|スマホ|メール|連絡手段)?(?:は|も|が)?(?:特に)?(?:%NEG%|ありません|持って(?:い)?(?:ない|ません|へん))"
                 r"(?:です)?$")


def _text_answer(raw: str, msg: _Message, asking: str) -> str:
    if asking == "contact" and _rx(_CONTACT_NONE).search(_rx(_PUNCT).sub("", msg.text)):
        return "none"
    return clean(raw)


def _non_answer(msg: _Message, asking: str) -> Optional[str]:
    """「答えたくない」 -> DECLINED, 「わからない」 -> UNKNOWN (health: 「よくわからない」 is a choice)."""
    if _rx(DECLINED_WORDS).search(msg.text):
        return DECLINED
    unknown = _rx(UNKNOWN_WORDS).search(msg.text)
    if unknown and not _rx(r"(?:日本語|にほんご|言葉|ことば|漢字|かんじ)(?:が|は)?$").search(msg.text[:unknown.start()]):
        return "unsure" if asking == "health" else UNKNOWN
    return None


#: A "no" to one question is not a "no" to these fields: 「滞納はない」 answers the rent question only.
_NO_ONLY_ABOUT_ASKED = {"rent_arrears_months": ("debts",), "eviction_risk": ("debts",)}


def _answer_asked(raw: str, msg: _Message, asking: str, fields: Dict[str, Any], subject: _Subject) -> None:
    """Fill the asked field from a short answer when the general reading did not."""
    for name in _NO_ONLY_ABOUT_ASKED.get(asking, ()):
        if fields.get(name) is False:
            del fields[name]
    if asking == "job_history":
        fields.pop("employment_status", None)  # 「コンビニのバイトを半年」 was then, not now
    if asking in fields:
        return
    if asking == "household" and subject.family and fields.get("monthly_income") is not None \
            and not _rx(_LIVING_WITH).search(msg.text):
        return  # 「年金と夫の給料で月30万」 from a parent: the family's income, not whom the child lives with
    if asking == "housing" and fields.get("household") == "with_parents":
        fields[asking] = "with_family"  # 「親と住んでます」 to 「お住まいは？」: the family's home
        return
    value = _read_answer(raw, msg, asking)
    if value is None and asking == "youngest_child_age":
        value = _school_age(msg)
    if value is not None and value != "":
        fields[asking] = value


#: A child's school year as an age at the start of that year: 小1 is 6, 中1 12, 高1 15; 年少/年中/年長
#: of kindergarten 3/4/5. Parents often answer 「下は小3」 rather than with an age.
_SCHOOL_YEAR = (r"(?P<stage>小学校?|小|しょう|中学校?|中|ちゅう|高校|高|こう)(?P<year>[1-6一二三四五六])(?:年|ねん)?"
                r"|(?P<kinder>年少|年中|年長|ねんしょう|ねんちゅう|ねんちょう)")
_STAGE_AGE = {"小": 5, "し": 5, "中": 11, "ち": 11, "高": 14, "こ": 14}
_KINDER_AGE = {"年少": 3, "ねんしょう": 3, "年中": 4, "ねんちゅう": 4, "年長": 5, "ねんちょう": 5}


def _school_age(msg: _Message) -> Optional[int]:
    """The youngest age that the school years in the message stand for, or None."""
    ages = []
    for m in _rx(_SCHOOL_YEAR).finditer(msg.text):
        if _rx(r"(?:生)?(?:の時|のとき|の頃|のころ|から|まで|で(?:不登校|中退|やめ|辞め))").match(msg.text, m.end()):
            continue  # 「中2の時から不登校」: then, not now
        if m.group("kinder"):
            ages.append(_KINDER_AGE[m.group("kinder")])
            continue
        stage, year = m.group("stage")[0], parse_number(m.group("year")) or 0
        if stage in "小し" or year <= 3:  # 中学・高校 have three years
            ages.append(_STAGE_AGE[stage] + year)
    return min(ages) if ages else None


def _read_answer(raw: str, msg: _Message, asking: str) -> Any:
    if asking not in TEXT_FIELDS or len(msg.text) <= 15:
        non_answer = _non_answer(msg, asking)
        if non_answer:
            return non_answer  # checked first: 「わからない」 is not 「ない」
    if asking in TEXT_FIELDS:
        return _text_answer(raw, msg, asking)
    if asking in INTEGER_FIELDS:
        return _integer_answer(msg, asking)
    if asking in BOOLEAN_FIELDS:
        return _yes_no(msg, asking)
    if asking == "benefits":
        return ["none"] if _rx(_NO_BENEFITS).search(msg.text) else None
    return _choice_answer(msg, asking) if asking in CHOICES else None


#: 「特にない」「受けていない」 (the public-assistance button's words, typed again here), 「手当はもらってない」.
_NO_BENEFITS = (r"^(?:(?:手当|給付|支援)(?:は|も))?%AT_ALL%"
                r"(?:%NEG%|(?:もらって|貰って|受けて|うけて)(?:い|お)?(?:ない|ません|へん|ねえ|ねぇ|ん))")


# =========================================================================== concerns


def _concerns(msg: _Message, fields: Mapping[str, Any], subject: _Subject) -> Set[str]:
    """Presenting problems: words that name them, plus what the fields already show."""
    found = {hit.code for hit in msg.hits("concerns", negated=None) if hit.code not in NEGATABLE_CONCERNS}
    found |= {hit.code for hit in msg.hits("concerns") if hit.code in NEGATABLE_CONCERNS}
    derived = {
        "job_loss": fields.get("employment_status") == "unemployed",
        "housing": fields.get("housing") in ("no_fixed_home", "street") or fields.get("eviction_risk") is True
        or bool(fields.get("rent_arrears_months")),
        "debt": fields.get("debts") is True,
        "family": subject.family and subject.stated,
        "health": fields.get("health") in ("under_treatment", "disability", "mental_health"),
        "youth": fields.get("employment_status") == "never_worked",
        "older": fields.get("employment_status") == "retired",
        "single_parent": fields.get("household") == "single_parent"
        or "child_support_allowance" in (fields.get("benefits") or ()),
        "language": fields.get("language") not in (None, "ja", UNKNOWN, DECLINED),
        "money": fields.get("public_assistance") in ("receiving", "applying"),
    }
    return found | {name for name, present in derived.items() if present}


# =========================================================================== entry point

_MAX_CHARS = 10_000


def extract(text: str, *, asking: Optional[str] = None, known: Optional[Mapping[str, Any]] = None) -> Extraction:
    """Every intake field that ``text`` answers, and the problems it mentions.

    ``asking`` is the field the bot just asked: bare answers (「46」「ふたり」「ない」) are read as
    that field, and 「わからない」/「答えたくない」 become UNKNOWN/DECLINED. ``known`` holds fields
    already collected (it tells, for instance, that the intake is about a family member).
    """
    raw = text if isinstance(text, str) else ""
    asking = asking if isinstance(asking, str) and asking in ALL_FIELDS else None
    msg = _Message(raw[:_MAX_CHARS])
    result = Extraction()
    if not msg.text:
        return result
    subject = _subject(msg, known if isinstance(known, Mapping) else {}, asking)
    result.fields = _read_fields(msg, subject, asking)
    if asking:
        _answer_asked(raw, msg, asking, result.fields, subject)
    result.concerns = _concerns(msg, result.fields, subject)
    return result


#: Words of living together: 「夫と暮らしています」 tells the household, 「夫の給料で」 does not.
_LIVING_WITH = r"住|暮ら|くらし|同居|一緒|いっしょ|(?:と|で)(?:二人|ふたり|2人)"


def _schoolchild(msg: _Message) -> Optional[int]:
    """「下の子は小2です」「上は中1、下は小3」: the youngest child's age from school years."""
    if not _rx(rf"{_CHILD_AFTER}|下の子|下は|末っ子").search(msg.text):
        return None
    return _school_age(msg)


def _read_fields(msg: _Message, subject: _Subject, asking: Optional[str]) -> Dict[str, Any]:
    ages = _ages(msg, subject, asking)
    found: Dict[str, Any] = {
        "consulting_for": subject.value if subject.stated else None,
        "age": ages.own[-1] if ages.own else None,
        "children": _children(msg, ages, asking),
        "youngest_child_age": _youngest(ages.children) if ages.children else _schoolchild(msg),
        "monthly_income": _income(msg, asking),
        "employment_status": _employment(msg, subject),
        "housing": _housing(msg),
        "household": _household(msg),
        "health": _health(msg, subject),
        "work_readiness": _by_priority(msg, "work_readiness", _READINESS_PRIORITY),
        "public_assistance": _public_assistance(msg),
        "benefits": _benefits(msg),
        "debts": _debts(msg),
        "eviction_risk": True if msg.hits("eviction_risk") else None,
        "language": _language(msg),
    }
    if subject.family and not subject.stated and found["household"] == "with_partner" and not _rx(_LIVING_WITH).search(msg.text):
        found["household"] = None  # 「夫の給料で…」 from a parent consulting about a child: the caller's spouse
    found.update(_durations(msg, asking))
    if "rent_arrears_months" not in found and _rx(_RENT_PAID).search(msg.text):
        found["rent_arrears_months"] = 0
    if found.get("rent_arrears_months") and asking != "rent_arrears_months":
        found["debts"] = True  # unpaid rent told unprompted is an arrear (protocol: debts covers rent)
    return {name: value for name, value in found.items() if value is not None}


__all__ = ["Extraction", "extract"]
