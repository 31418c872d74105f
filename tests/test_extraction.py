"""Field extraction from one message, in the registers residents really use: polite, casual,
Kansai, all-hiragana and typo-laden. Expected field dicts are exact: a field the message does not
answer must not appear, because the bot would then skip asking it."""
from __future__ import annotations

import random

import pytest

from bot.extraction import Extraction, extract
from bot.fields import DECLINED, UNKNOWN

# (text, expected fields) with no question pending.
FREE_TEXT = [
    # the examples of the brief
    ("46歳で子ども3人、1年5か月働いてない",
     {"consulting_for": "self", "age": 46, "children": 3, "months_without_work": 17, "employment_status": "unemployed"}),
    ("パートで月12万くらい、家賃を2か月滞納してる",
     {"employment_status": "employed_nonregular", "monthly_income": 120000, "rent_arrears_months": 2,
      "housing": "renting", "debts": True}),
    ("3歳と5歳の子がいるシングルマザーです", {"children": 2, "youngest_child_age": 3, "household": "single_parent"}),
    ("息子(28)がずっと家にいて働かない", {"consulting_for": "family_member", "age": 28}),
    ("母のことで相談です。72歳です", {"consulting_for": "family_member", "age": 72}),
    # caring for a parent: the job lost is the resident's own (介護離職); both affected: ask whose
    ("母が認知症で介護のため仕事を辞めました。52歳です", {"age": 52, "employment_status": "unemployed"}),
    ("子どもが不登校で、わたしも仕事をやめることになりそう", {}),
    ("二人暮らしです", {}),
    ("やっぱり45歳です", {"age": 45}),
    ("借金はありません", {"debts": False}),
    ("障害はない", {}),
    ("生活保護は受けていない", {"public_assistance": "no"}),
    # polite
    ("四十六歳です。正社員として働いています。", {"consulting_for": "self", "age": 46, "employment_status": "employed_regular"}),
    ("市営住宅に住んでいて、生活保護を受けています", {"housing": "public_housing", "public_assistance": "receiving"}),
    ("生活保護の申請をしたいと思っています", {"public_assistance": "applying"}),
    ("うつ病で半年休職しています", {"employment_status": "on_leave", "health": "mental_health"}),
    ("がんの治療中で、短い時間しか働けません", {"health": "under_treatment"}),
    ("障害者手帳を持っています", {"health": "disability"}),
    ("持病はありません", {"health": "good"}),
    ("児童扶養手当と失業保険をもらっています",
     {"benefits": ["child_support_allowance", "unemployment_benefit"]}),
    ("障害年金を受給しています", {"benefits": ["disability_pension"], "health": "disability"}),
    ("住居確保給付金を受けています", {"benefits": ["housing_benefit"]}),
    ("会社の寮に住んでいますが、退職したら出るように言われています",
     {"housing": "company_dorm", "eviction_risk": True}),
    ("家賃の支払いが半年近く遅れています", {"housing": "renting", "rent_arrears_months": 6, "debts": True}),
    ("消費者金融からの借金が200万ほどあり、返済が追いつきません", {"debts": True}),
    ("子どもが二人いて、下の子は３歳です", {"children": 2, "youngest_child_age": 3}),
    ("夫を亡くし、14歳と11歳の子どもを一人で育てています",
     {"children": 2, "youngest_child_age": 11, "household": "single_parent"}),
    ("母子家庭です。児童扶養手当のことを教えてください",
     {"consulting_for": "self", "household": "single_parent", "benefits": ["child_support_allowance"]}),
    ("日本語があまりわかりません", {"language": "easy_ja"}),
    ("ポルトガル語で相談できますか", {"language": "pt"}),
    ("すぐにでも働きたいです", {"work_readiness": "ready_now"}),
    ("ブランクが長いので、少しずつ慣れてから働きたい", {"work_readiness": "needs_preparation"}),
    ("今は療養中なので働けません", {"work_readiness": "not_now", "health": "under_treatment"}),
    ("仕事をしていないのは8か月くらいです", {"employment_status": "unemployed", "months_without_work": 8}),
    ("最後に働いたのは3ヶ月前です", {"months_without_work": 3}),
    ("23歳ですが、一度も働いたことがありません", {"consulting_for": "self", "age": 23, "employment_status": "never_worked"}),
    ("定年退職して年金で暮らしています。67歳です",
     {"age": 67, "employment_status": "retired", "benefits": ["pension"]}),
    ("大学生です", {"employment_status": "student"}),
    ("フリーランスでデザインをしています", {"employment_status": "self_employed"}),
    ("持ち家に夫と住んでいます", {"housing": "owned", "household": "with_partner"}),
    ("ネットカフェで寝泊まりしています", {"housing": "no_fixed_home"}),
    ("公園で寝ています", {"housing": "street"}),
    ("友達の家に泊めてもらっています", {"housing": "with_friends"}),
    ("実家で両親と暮らしています", {"housing": "with_family", "household": "with_parents"}),
    ("一人暮らしで、アパートに住んでいます", {"household": "alone", "housing": "renting"}),
    ("年収は三百万円です", {"monthly_income": 250000}),
    ("先月から働いていません", {"employment_status": "unemployed", "months_without_work": 1}),
    ("2年前に仕事を辞めました", {"employment_status": "unemployed", "months_without_work": 24}),
    # casual
    ("29歳だよ、バイトしてる", {"consulting_for": "self", "age": 29, "employment_status": "employed_nonregular"}),
    ("会社クビになった。29歳、どうしよ", {"age": 29, "employment_status": "unemployed"}),
    ("子ども二人、7歳と10歳", {"children": 2, "youngest_child_age": 7}),
    ("派遣切られた。もう1か月ぶらぶらしてる", {"employment_status": "unemployed", "months_without_work": 1}),
    ("家賃払えない。もう2ヶ月ためてる", {"housing": "renting", "rent_arrears_months": 2, "debts": True}),
    ("借金やばい。150万ある", {"debts": True}),
    ("寮出なきゃいけなくなった", {"housing": "company_dorm", "eviction_risk": True}),
    ("バイトすらしたことないけど大丈夫？", {"employment_status": "never_worked"}),
    ("手取り12万じゃ無理", {"monthly_income": 120000}),
    ("手取り17万言うたけど、ほんまは16万やわ", {"monthly_income": 160000}),
    ("月20万くらいは稼げる仕事に就きたい", {}),
    ("正社員になりたい", {}),
    ("前は正社員だったけど、今は無職", {"employment_status": "unemployed"}),
    ("夫は正社員で、私はパートです", {"employment_status": "employed_nonregular", "household": "with_partner"}),
    # Kansai
    ("五十二歳やねん。仕事してへん", {"consulting_for": "self", "age": 52, "employment_status": "unemployed"}),
    ("派遣切りにおうて3ヶ月、ほんまに仕事ないねん", {"employment_status": "unemployed", "months_without_work": 3}),
    ("嫁と子ども3人おんねんけど、給料だけやと足りへんわ", {"children": 3, "household": "with_partner"}),
    ("借金なんかあらへんよ", {"debts": False}),
    ("生活保護はもろてへん", {"public_assistance": "no"}),
    ("家賃3か月も溜めてもうて、大家さんカンカンやねん",
     {"housing": "renting", "rent_arrears_months": 3, "debts": True}),
    ("寮出ていかなあかんねんけど", {"housing": "company_dorm", "eviction_risk": True}),
    ("シンママやねん、4歳の子おるんやけど", {"consulting_for": "self", "household": "single_parent", "children": 1, "youngest_child_age": 4}),
    ("うちの子、3年も家から出てへんねん", {"consulting_for": "family_member"}),
    ("心の病気で1年半働いてへん",
     {"health": "mental_health", "employment_status": "unemployed", "months_without_work": 18}),
    ("ちゃうちゃう、四十四歳やった", {"age": 44}),
    # all hiragana
    ("わたしは よんじゅうろくさい です", {"consulting_for": "self", "age": 46}),
    ("しごと が ない", {"employment_status": "unemployed"}),
    ("こども は ふたり です", {"children": 2}),
    ("やちん 2かげつ たまってます", {"housing": "renting", "rent_arrears_months": 2, "debts": True}),
    ("せいかつほご は うけてない", {"public_assistance": "no"}),
    ("しゃっきん は ありません", {"debts": False}),
    ("にほんご むずかしい。ぽるとがるご いいです", {"language": "pt"}),
    ("つき 8まん くらい", {"monthly_income": 80000}),
    ("りょうを でないと いけない", {"housing": "company_dorm", "eviction_risk": True}),
    # typos
    ("４６歳でs", {"consulting_for": "self", "age": 46}),
    ("借金ああります", {"debts": True}),
    ("派遣の契約ぎれで、もう３ヶ月も無色です", {"employment_status": "unemployed", "months_without_work": 3}),
    ("鬱で急職中です。４０歳です", {"age": 40, "employment_status": "on_leave", "health": "mental_health"}),
    ("生活保獲は受けていません", {"public_assistance": "no"}),
    ("２５才で、働いたけいけんがないでs", {"consulting_for": "self", "age": 25, "employment_status": "never_worked"}),
    ("３か月前に派遣切りにあいました", {"employment_status": "unemployed", "months_without_work": 3}),
    ("去年の春に会社を辞めて、それからずっと無職です", {"employment_status": "unemployed", "months_without_work": 12}),
    ("介護施設で働いていましたが、退職勧奨を受けて辞めました。もう十か月になります。",
     {"employment_status": "unemployed", "months_without_work": 10}),
    ("税金が払えない", {"debts": True}),
    ("来月契約が切れる", {}),
    ("パートから正社員に転職したい。今は手取り十三万円ほどです",
     {"employment_status": "employed_nonregular", "monthly_income": 130000}),
    ("何か働ける仕事はないでしょうか", {}),
    ("夫のDVから逃げて、今はシェルターにいます", {}),
    ("日本語が読めない", {"language": "easy_ja"}),
    ("年齢は46です", {"age": 46}),
    ("むりょう ですか", {}),
    ("きゅうりょう 10まん で くらせない", {"monthly_income": 100000}),
    ("手首を切ってしまった", {}),
    # children's ages never become the resident's age; relatives' ages are theirs
    ("子どもは5歳です", {"children": 1, "youngest_child_age": 5}),
    ("上の子は十歳、下の子は七歳です", {"children": 2, "youngest_child_age": 7}),
    ("子供は３人で上が１５才です", {"children": 3}),
    ("57歳の夫の収入が減りました", {"household": "with_partner"}),
    ("25歳の息子が3年ほど部屋から出てきません", {"consulting_for": "family_member", "age": 25}),
    ("兄貴が40歳過ぎてニートなんだけど", {"consulting_for": "family_member", "age": 40,
                                     "employment_status": "unemployed"}),
    ("子どもが3人いて仕事がない", {"children": 3, "employment_status": "unemployed"}),
    ("私は55歳で、息子が28歳で働いていません", {"consulting_for": "family_member", "age": 28,
                                       "employment_status": "unemployed"}),
    ("ひきこもりの息子（35）のことで相談したい", {"consulting_for": "family_member", "age": 35}),
    ("46歳の子持ちです", {"age": 46}),
    ("シングルで四歳の子育てとんねん", {"household": "single_parent", "children": 1, "youngest_child_age": 4}),
    ("父が認知症で介護が必要で働けない", {}),
    # corrections
    ("あ、29歳じゃなくて28歳だった", {"age": 28}),
    ("すみません、さっき45歳と書きましたが46歳でした", {"age": 46}),
    ("月14万と言いましたが、12万の間違いです", {"monthly_income": 120000}),
    ("先ほど正社員と答えましたが、本当はパートです", {"employment_status": "employed_nonregular"}),
    ("辞めてから半年ではなく1年です", {"employment_status": "unemployed", "months_without_work": 12}),
    ("やっぱ賃貸じゃなくて社宅だった", {"housing": "company_dorm"}),
    # negation
    ("障害はないけど、うつで通院しています", {"health": "mental_health"}),
    ("持ち家じゃなくて賃貸", {"housing": "renting"}),
    ("正社員ではありません。派遣です", {"employment_status": "employed_nonregular"}),
    ("失業保険はもらっていません", {}),
    ("子どもはいません", {"children": 0}),
    ("<b>40</b>歳です", {"consulting_for": "self", "age": 40}),  # markup does not split the number
    ("夫婦二人です", {"household": "with_partner", "children": 0}),  # the couple alone
    # a relative's age before the comma: an adult is the one consulted about, a small child is not
    ("息子が28歳で、もう3年くらい家にこもってます", {"consulting_for": "family_member", "age": 28}),
    ("娘が24歳なんですが、大学を出てから仕事が続かず", {"consulting_for": "family_member", "age": 24}),
    # school years are ages: the youngest child's, but not a year long past
    ("上の子は中1、下の子は小3です", {"youngest_child_age": 8}),
    ("息子が中2の時から不登校で今は25歳です", {"consulting_for": "family_member", "age": 25}),
    # opening with who the writer is: their own consultation, no need to ask
    ("シングルマザーで子ども2人、パートの収入だけじゃ生活が苦しいです",
     {"consulting_for": "self", "children": 2, "employment_status": "employed_nonregular", "household": "single_parent"}),
    # the rent is being paid: no month in arrears (not re-asked), which says nothing of other debts
    ("アパートで家賃は払えてます", {"housing": "renting", "rent_arrears_months": 0}),
    ("家賃は滞納していません", {"housing": "renting", "rent_arrears_months": 0}),
    ("家賃は払っていますが、光熱費が払えていません", {"housing": "renting", "rent_arrears_months": 0, "debts": True}),
    ("先月までは家賃を払えてました", {"housing": "renting"}),
    ("家賃は払えてません", {"housing": "renting", "debts": True}),
    ("税金は滞納してないです", {}),
    ("滞納はないです", {"debts": False}),
    ("借金も滞納もありません", {"debts": False}),  # one negation for the list
    ("借金もあって仕事もありません", {"employment_status": "unemployed", "debts": True}),
    ("借金も滞納もありませんが、カードローンが少し", {"debts": True}),
    # a relative who is the single parent: the consultation is about them, not a past told by the writer
    ("娘がシングルマザーで生活が苦しいみたい", {"consulting_for": "family_member", "household": "single_parent"}),
    ("娘がシングルマザーで、子ども2人を育てています", {"consulting_for": "family_member", "children": 2,
                                                   "household": "single_parent"}),
    ("母がシングルマザーで私を育ててくれました。今は私が無職です",
     {"employment_status": "unemployed", "household": "single_parent"}),
    ("仕事をクビになって、シングルマザーで子ども2人です",
     {"consulting_for": "self", "children": 2, "employment_status": "unemployed", "household": "single_parent"}),
    ("娘は離婚して、シングルマザーで子ども2人です", {"children": 2, "household": "single_parent"}),  # whose? asked
    ("ひとりおやで、こども２人いまs。しごとさがしてる", {"consulting_for": "self", "children": 2,
                                                "household": "single_parent"}),  # in hiragana too
    # a first message that opens with an age, no one else named: the writer's own
    ("23歳、高校中退してからずっと家にいます", {"consulting_for": "self", "age": 23}),
    ("私は52歳です。仕事をクビになりました", {"consulting_for": "self", "age": 52, "employment_status": "unemployed"}),
    ("23歳の息子が家にいます", {"consulting_for": "family_member", "age": 23}),
    ("5歳の子がいて働けない", {"children": 1, "youngest_child_age": 5}),
    # every single-parent word of the household reading also says whom the message is about
    ("母子世帯で子ども3人、仕事を探しています", {"consulting_for": "self", "children": 3, "household": "single_parent"}),
    ("未婚の母で、子どもは1人です", {"consulting_for": "self", "children": 1, "household": "single_parent"}),
    ("シングルマザで子ども2人です", {"consulting_for": "self", "children": 2, "household": "single_parent"}),
    ("娘が母子世帯で生活が苦しいみたい", {"consulting_for": "family_member", "household": "single_parent"}),
    ("一人親方で大工をしています", {"employment_status": "self_employed"}),  # a self-employed builder
    # the caller's own job, in a consultation about a relative: not the relative's
    ("息子が引きこもりで、私は正社員です", {"consulting_for": "family_member"}),
    ("息子は無職です。私は年金暮らしです", {"consulting_for": "family_member", "employment_status": "unemployed",
                                            "benefits": ["pension"]}),
    ("子どもが3歳で、仕事が見つからない", {"children": 1, "youngest_child_age": 3, "employment_status": "unemployed"}),
    ("妻と二人暮らしです", {"household": "with_partner", "children": 0}),
    ("夫婦二人とも仕事がない", {"household": "with_partner", "employment_status": "unemployed"}),
    ("収入はありません", {"monthly_income": 0}),
    ("元気がない", {}),
    # nothing to read
    ("こんにちは", {}),
    ("ありがとうございました", {}),
    ("大丈夫です", {}),
]


@pytest.mark.parametrize("asking", ["age", "consulting_for"])
def test_an_age_given_as_an_answer_says_nothing_of_whom(asking):
    assert extract("23歳です", asking=asking).fields == {"age": 23}  # may be the relative's, when asked


@pytest.mark.parametrize("text,expected", FREE_TEXT)
def test_free_text(text, expected):
    assert extract(text).fields == expected


# (text, the field just asked, expected fields)
ANSWERS = [
    ("46", "age", {"age": 46}),
    ("四十六です", "age", {"age": 46}),
    ("よんじゅうろく", "age", {"age": 46}),
    ("5歳", "eviction_risk", {"youngest_child_age": 5}),  # asked something else: a child's age, not the resident's
    ("やっぱり45歳です", "housing", {"age": 45}),
    ("４６さいです", "age", {"age": 46}),
    ("40代です", "age", {}),
    ("2", "children", {"children": 2}),
    ("ふたり", "children", {"children": 2}),
    ("3人以上", "children", {"children": 3}),
    ("いません", "children", {"children": 0}),
    ("親と住んでます", "housing", {"household": "with_parents", "housing": "with_family"}),
    ("親と住んでます", "household", {"household": "with_parents"}),
    ("3か月です", "children", {}),  # a length of time is not a number of children
    ("ひとりです", "months_without_work", {}),  # nor a number of people a length of time
    ("ふたり", "rent_arrears_months", {}),
    ("3", "months_without_work", {"months_without_work": 3}),
    ("3歳", "youngest_child_age", {"youngest_child_age": 3}),
    ("一番下は三歳です", "youngest_child_age", {"youngest_child_age": 3}),
    ("12", "monthly_income", {"monthly_income": 120000}),
    ("12万", "monthly_income", {"monthly_income": 120000}),
    ("150000", "monthly_income", {"monthly_income": 150000}),
    ("手取りで15万くらい", "monthly_income", {"monthly_income": 150000}),
    ("ない", "monthly_income", {"monthly_income": 0}),
    ("ゼロ", "monthly_income", {"monthly_income": 0}),
    ("0", "monthly_income", {"monthly_income": 0}),
    ("無収入です", "monthly_income", {"monthly_income": 0}),
    ("半年", "months_without_work", {"months_without_work": 6}),
    ("2年", "months_without_work", {"months_without_work": 24}),
    ("先月から", "months_without_work", {"months_without_work": 1}),
    ("働いています", "months_without_work", {"months_without_work": 0}),
    ("3", "months_without_work", {"months_without_work": 3}),
    ("2か月", "rent_arrears_months", {"rent_arrears_months": 2}),
    ("滞納はない", "rent_arrears_months", {"rent_arrears_months": 0}),
    ("はい", "debts", {"debts": True}),
    ("あります", "debts", {"debts": True}),
    ("うん、あるで", "debts", {"debts": True}),
    ("いいえ", "debts", {"debts": False}),
    ("ない", "debts", {"debts": False}),
    ("ありません", "debts", {"debts": False}),
    ("カードローンがあります", "debts", {"debts": True}),
    ("はい", "eviction_risk", {"eviction_risk": True}),
    ("いいえ、大丈夫です", "eviction_risk", {"eviction_risk": False}),
    ("同意します", "consent", {"consent": True}),
    ("はい、伝えてよい", "consent", {"consent": True}),
    ("同意しません", "consent", {"consent": False}),
    ("しない", "consent", {"consent": False}),
    ("かまわないです", "consent", {"consent": True}),
    ("わからない", "consent", {"consent": UNKNOWN}),
    ("答えたくない", "debts", {"debts": DECLINED}),
    ("なし", "contact", {"contact": "none"}),
    ("電話はない", "contact", {"contact": "none"}),
    ("090-1234-5678 です", "contact", {"contact": "090-1234-5678 です"}),
    ("  工場で5年、検品の仕事をしていました  ", "job_history", {"job_history": "工場で5年、検品の仕事をしていました"}),
    ("腰が悪いので重いものは持てません", "health_notes",
     {"health_notes": "腰が悪いので重いものは持てません", "health": "under_treatment"}),
    ("平日の昼間だけ、事務がいい", "work_preferences", {"work_preferences": "平日の昼間だけ、事務がいい"}),
    ("パート・派遣・契約・アルバイト", "employment_status", {"employment_status": "employed_nonregular"}),
    ("employed_regular", "employment_status", {"employment_status": "employed_regular"}),
    ("仕事をしていない", "employment_status", {"employment_status": "unemployed"}),
    ("してないです", "employment_status", {"employment_status": "unemployed"}),
    ("賃貸（アパートなど）", "housing", {"housing": "renting"}),
    ("会社の寮・社宅", "housing", {"housing": "company_dorm"}),
    ("ひとり親（子どもと）", "household", {"household": "single_parent"}),
    ("ひとりです", "household", {"household": "alone"}),
    ("その他", "household", {"household": "other"}),
    ("特に問題ない", "health", {"health": "good"}),
    ("よくわからない", "health", {"health": "unsure"}),
    ("わからない", "health", {"health": "unsure"}),
    ("受けている", "public_assistance", {"public_assistance": "receiving"}),
    ("申請中・申請したい", "public_assistance", {"public_assistance": "applying"}),
    ("受けていない", "public_assistance", {"public_assistance": "no"}),
    ("特にない", "benefits", {"benefits": ["none"]}),
    ("特にないです", "public_assistance", {"public_assistance": "no"}),  # 特に before the no
    ("とくにしてないです", "employment_status", {"employment_status": "unemployed"}),
    ("働いたことはほとんどないです", "age", {"employment_status": "never_worked"}),
    ("夫婦二人です", "children", {"household": "with_partner", "children": 0}),  # not two children
    ("事務がいいです", "debts", {}),  # a wish, not a yes to 「借金はありますか」
    ("伝えてもいいです", "consent", {"consent": True}),
    ("何ももらっていない", "benefits", {"benefits": ["none"]}),
    ("受けていない", "benefits", {"benefits": ["none"]}),  # as to the question before it
    ("手当はもらってない", "benefits", {"benefits": ["none"]}),
    ("年金と児童扶養手当", "benefits", {"benefits": ["child_support_allowance", "pension"]}),
    ("すぐ働きたい", "work_readiness", {"work_readiness": "ready_now"}),
    ("準備してから働きたい", "work_readiness", {"work_readiness": "needs_preparation"}),
    ("自分のこと", "consulting_for", {"consulting_for": "self"}),
    ("家族のこと", "consulting_for", {"consulting_for": "family_member"}),
    ("息子です", "consulting_for", {"consulting_for": "family_member"}),
    ("下の子は小2です", "consulting_for", {"youngest_child_age": 7}),  # the resident's own young child, not whom
    ("子どもは3歳です", "consulting_for", {"children": 1, "youngest_child_age": 3}),
    ("夫と二人", "consulting_for", {"household": "with_partner", "children": 0}),  # who they live with, not whom
    ("母と暮らしています", "consulting_for", {"household": "with_parents"}),
    ("やさしい日本語", "language", {"language": "easy_ja"}),
    ("English", "language", {"language": "en"}),
    # わからない / 答えたくない
    ("わからない", "age", {"age": UNKNOWN}),
    ("分かりません", "monthly_income", {"monthly_income": UNKNOWN}),
    ("わかんない", "children", {"children": UNKNOWN}),
    ("さあ…", "months_without_work", {"months_without_work": UNKNOWN}),
    ("不明です", "housing", {"housing": UNKNOWN}),
    ("答えたくない", "age", {"age": DECLINED}),
    ("言いたくないです", "monthly_income", {"monthly_income": DECLINED}),
    ("秘密", "debts", {"debts": DECLINED}),
    ("パスで", "public_assistance", {"public_assistance": DECLINED}),
    ("ノーコメント", "job_history", {"job_history": DECLINED}),
    ("コンビニのバイトを半年くらい", "job_history", {"job_history": "コンビニのバイトを半年くらい"}),  # past work: not the current status
    # a free-text answer still fills everything it says
    ("46歳で、子どもは2人です", "age", {"age": 46, "children": 2}),
    ("3歳と5歳です", "youngest_child_age", {"youngest_child_age": 3}),
    ("下は小3", "youngest_child_age", {"youngest_child_age": 8}),  # school years as ages
    ("上は中1、下は年長", "youngest_child_age", {"youngest_child_age": 5}),
]


@pytest.mark.parametrize("text,asking,expected", ANSWERS)
def test_answer_to_question(text, asking, expected):
    assert extract(text, asking=asking).fields == expected


def test_non_answers_need_a_question():
    assert extract("わからない").fields == {}
    assert extract("答えたくない").fields == {}


def test_known_family_consultation_makes_an_age_the_relatives():
    assert extract("72歳です", known={"consulting_for": "family_member"}).fields == {"age": 72}
    assert extract("私は45歳で、息子は28歳です", known={"consulting_for": "family_member"}).fields == {"age": 28}
    # the caller's husband is not the consulted daughter's partner; asked directly, it is an answer
    for asking in ("monthly_income", "household"):  # even to the household question: income, not who lives where
        assert "household" not in extract("年金と夫の給料で月30万くらい", asking=asking,
                                          known={"consulting_for": "family_member"}).fields
    assert extract("夫と暮らしています", asking="household", known={"consulting_for": "family_member"}).fields["household"] == "with_partner"


@pytest.mark.parametrize("asking,known", [("no_such_field", None), (["age"], None), (None, ["not", "a", "mapping"])])
def test_odd_arguments_are_ignored(asking, known):
    assert extract("46歳", asking=asking, known=known).fields == extract("46歳").fields  # type: ignore[arg-type]


CONCERNS = [
    ("息子が部屋に閉じこもっています", {"youth", "family"}),
    ("会社をクビになりました", {"job_loss"}),
    ("家賃が払えなくて追い出されそうです", {"housing"}),
    ("カードローンの返済が追いつかない", {"debt"}),
    ("息子がずっと引きこもっています", {"family", "youth"}),
    ("うつで通院しています", {"health"}),
    ("定年後に年金だけでは足りない", {"older", "money"}),
    ("シングルマザーで子ども2人", {"single_parent"}),
    ("シンパパで、むすめと二人です", {"single_parent"}),
    ("未婚の母です", {"single_parent"}),
    ("一人親方で大工をしています", set()),  # a self-employed builder, not ひとり親
    ("にほんご むずかしい。通訳 おねがい", {"language"}),
    ("今日食べるものがありません", {"money"}),
    ("夫に殴られています", {"dv"}),
    ("DVから逃げてきました", {"dv"}),
    ("児童養護施設を出てから一人で暮らしています", {"care_leaver"}),
    ("乳がんの治療中です", {"cancer", "health"}),
    ("DVDを見ていました", set()),
    ("介護職を2年やっていました", set()),
]


@pytest.mark.parametrize("text,expected", CONCERNS)
def test_concerns(text, expected):
    assert expected <= extract(text).concerns
    if not expected:
        assert extract(text).concerns == set()


BAD_INPUT = [
    "", "   ", "😀😀😀🙏", "<script>alert(1)</script><b>hello</b>", "I lost my job and I need help",
    "Hello, I am 46 years old", "\x00\x01\x02\x1b[31m\x7f", "\ud800\udfff", "あ" * 10_000, "。" * 10_000,
    "".join(chr(c) for c in range(0x20, 0x3000, 7)),
]


@pytest.mark.parametrize("text", BAD_INPUT)
@pytest.mark.parametrize("asking", [None, "age", "housing", "contact"])
def test_bad_input_gives_nothing(text, asking):
    result = extract(text, asking=asking if asking != "contact" or text.strip() == "" else None)
    assert isinstance(result, Extraction)
    assert result.fields == {} and result.concerns == set()


@pytest.mark.parametrize("value", [None, 46, b"46\xe6\xad\xb3", ["46歳"]])
def test_non_string_input_gives_nothing(value):
    assert extract(value).fields == {}  # type: ignore[arg-type]


def test_random_garbage_never_raises():
    rng = random.Random(7)
    alphabet = "0123456789０１２３一二三十百千万歳才さい人名年か月ヶ日週半円借金家賃子どもはがの、。()（）ｱｲｳﾞﾟ\u200b\x00 😀"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        for asking in (None, "age", "children", "monthly_income", "debts", "contact", "benefits", "household"):
            extract(text, asking=asking)


def test_ten_thousand_characters_are_read_without_error():
    """Speed is measured by `make bench`; here only that huge input is handled sensibly."""
    assert extract("あ" * 10_000).fields == {}
    repeated = ("パートで月12万くらい、家賃を2か月滞納してる。" * 500)[:10_000]
    result = extract(repeated)
    assert result.fields["employment_status"] == "employed_nonregular"
    assert result.fields["monthly_income"] == 120000
    noise = "".join(random.Random(3).choice("借金家賃子ども歳人月万円働仕事母父夫妻がはのでにを、。") for _ in range(10_000))
    extract(noise)  # must not raise
