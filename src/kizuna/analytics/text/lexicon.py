"""Word lists: stopwords, the polarity lexicon and the markers of wishes, contrast and negation.

Japanese entries are written as kizuna terms: Sudachi ``normalized_form`` lemmas (``使う``, ``分かる``, ``無い``),
fused verb+suffix predicates in their written form (``使いにくい``, ``分かりづらい``) and negated terms with the
``+NEG`` marker (``出る+NEG`` for 成果が出ない). English entries are lower-case lemmas as produced by
:func:`kizuna.analytics.text.english.lemmatize_en`, or fused phrases such as ``"hard to use"``.

Polarity is a weight in [-1, 1]. A negated term takes the weight of an explicit ``X+NEG`` entry when there is
one, else ``-NEGATED_POSITIVE * w`` for positive words (使いやすくない is nearly as bad as 使いにくい is) and
``-NEGATED_NEGATIVE * w`` for negative words (不満はない is only mildly good).
"""

from __future__ import annotations

NEG = "+NEG"
NEGATED_POSITIVE = 0.9
NEGATED_NEGATIVE = 0.6

# ---------------------------------------------------------------------------------------------- Japanese
#: verbs that carry grammar, not content (as Sudachi normalized_form); never terms on their own
JA_AUX_VERBS = frozenset(
    "為る 居る 有る 成る 頂く 下さる 呉れる 貰う 仕舞う 御座る 致す 過ぎる 頂ける 遣る 上げる 差し上げる 思う 言う 存じる"
    " 申し上げる 申す 参る 伺う".split()
)
#: auxiliary-like verbs that are content words unless they follow て (〜てみる, 〜ておく, 〜ていく, 〜てくる)
JA_AFTER_TE_AUX = frozenset("見る 置く 行く 来る 上げる 貰える".split())

#: verbs after which a negation belongs to the quoted predicate (使いにくいと感じたことはない)
JA_COGNITION_VERBS = frozenset("感じる 思う 言う 考える 思える".split())
#: verbs that follow another verb's 連用形 as aspect, not content (使い続ける, 活用しきれない)
JA_COMPOUND_AUX = frozenset("切る 切れる 始める 続ける 終わる 出す 込む 直す 慣れる".split())
#: nouns that make 〜します a request (機能追加を要望します)
JA_REQUEST_NOUNS = frozenset("要望 希望 リクエスト 提案 要請".split())
#: what お願いします asks for when it is a feature request
JA_REQUEST_OBJECTS = frozenset("追加 機能 対応 実装 改善 検討 機能追加 連携 改修".split())

JA_STOPWORDS = frozenset(
    """
    こと もの わけ ため よう ところ とき など 付く つく 一切 全然 全く 筈 はず 侭 まま 御陰 おかげ 為 旨
    事 物 者 為 様 訳 所 方 時 中 等 他 以外 以上 以下 感じ 形 点 的 際 上 下 今 今回 前回 次回 先日 今後 現在 最近
    本日 今日 昨日 明日 皆様 皆さん 私 我々 弊社 当社 御社 貴社 こちら そちら あちら これ それ あれ どれ 何 誰 ここ そこ
    辺り 一つ 一 二 三 ほど 位 頃 毎 各 全て 全部 色々 様々 自分 大体 多分 ちょっと 少し 本当 非常 とても 是非
    良く 度 回 件 つ 個 人 名 月 年 日 週 時間 分 円 %
    """.split()
)

#: Japanese polarity lexicon over kizuna terms. CS-domain words first.
JA_POLARITY: dict[str, float] = {
    # positive
    "便利": 1.0, "助かる": 1.0, "満足": 1.0, "使いやすい": 1.0, "分かりやすい": 1.0, "見やすい": 0.9,
    "丁寧": 0.9, "親切": 0.9, "迅速": 0.9, "良い": 0.8, "嬉しい": 0.8, "素晴らしい": 1.0, "最高": 1.0,
    "快適": 1.0, "感謝": 1.0, "有り難い": 1.0, "簡単": 0.8, "楽": 0.6, "安心": 0.8, "信頼": 0.6,
    "向上": 0.7, "効率化": 0.7, "削減": 0.5, "改善": 0.4, "役立つ": 0.9, "好評": 0.9, "喜ぶ": 0.9,
    "成功": 0.8, "定着": 0.4, "活用": 0.3, "スムーズ": 0.8, "早い": 0.5, "速い": 0.5, "安い": 0.4,
    "良好": 0.9, "優秀": 0.9, "的確": 0.9, "頼もしい": 0.9, "心強い": 0.9, "お勧め": 0.8, "推薦": 0.6,
    "気に入る": 0.9, "魅力": 0.7, "充実": 0.8, "十分": 0.5, "手軽": 0.8, "直感的": 0.8, "好き": 0.8,
    "ありがとう": 1.0, "大満足": 1.0, "重宝": 0.9, "見える化": 0.4, "可視化": 0.3, "成果": 0.3,
    "出来る": 0.1, "価値": 0.4, "価値+NEG": -0.8, "意味+NEG": -0.6, "足りる": 0.5, "解決": 0.6, "納得": 0.5, "上がる": 0.3, "増える": 0.2, "伸びる": 0.4,
    "使い熟す": 0.4, "有り難う": 1.0, "分かる": 0.2, "見合う": 0.5, "満たす": 0.4, "適切": 0.6, "柔軟": 0.6,
    "安定": 0.6, "安定性": 0.3, "効果": 0.3, "手厚い": 0.9, "素早い": 0.8, "きめ細か": 0.8,
    # negative
    "使いにくい": -1.0, "使いづらい": -1.0, "分かりにくい": -1.0, "分かりづらい": -1.0, "見にくい": -0.9,
    "見づらい": -0.9, "不満": -1.0, "不便": -1.0, "遅い": -0.9, "高い": -0.5, "悪い": -1.0, "困る": -1.0,
    "面倒": -0.9, "複雑": -0.7, "煩雑": -0.9, "不具合": -0.9, "エラー": -0.5, "バグ": -0.9, "障害": -0.6,
    "解約": -0.8, "退会": -0.7, "乗り換える": -0.6, "乗り換え": -0.6, "残念": -1.0, "不安": -0.8,
    "不足": -0.8, "不十分": -0.9, "割高": -0.9, "値上げ": -0.7, "負担": -0.6, "重い": -0.7, "落ちる": -0.6,
    "止まる": -0.6, "期待外れ": -1.0, "失望": -1.0, "がっかり": -1.0, "放置": -0.9, "遅延": -0.8,
    "迷う": -0.6, "難しい": -0.7, "大変": -0.5, "手間": -0.6, "ストレス": -0.9, "厳しい": -0.6,
    "不親切": -0.9, "冷たい": -0.8, "酷い": -1.0, "最悪": -1.0, "微妙": -0.6, "物足りない": -0.8,
    "見送る": -0.5, "打ち切る": -0.7, "諦める": -0.8, "苦労": -0.7, "問題": -0.5, "課題": -0.3,
    "不明": -0.4, "不可": -0.5, "未対応": -0.6, "非対応": -0.6, "不透明": -0.7, "無駄": -0.9,
    "疑問": -0.5, "怒る": -0.9, "クレーム": -0.7, "苦情": -0.8, "困難": -0.7, "ややこしい": -0.8,
    "時間が掛かる": -0.5, "掛かる": -0.1, "消える": -0.5, "低い": -0.4, "少ない": -0.3, "減る": -0.1,
    "不安定": -0.9, "使い勝手": 0.0, "不可能": -0.6, "不要": -0.4, "心配": -0.6, "不信": -0.9,
    "機能不足": -0.8, "待つ": -0.3, "違う": -0.2,
    # explicit negated forms whose polarity is not a flip of the base word
    "使う+NEG": -0.5, "出る+NEG": -0.8, "動く+NEG": -0.9, "繋がる+NEG": -0.9, "出来る+NEG": -0.6,
    "解決+NEG": -0.9, "改善+NEG": -0.8, "効果+NEG": -1.0, "成果+NEG": -1.0, "連絡+NEG": -0.7,
    "返信+NEG": -0.8, "回答+NEG": -0.7, "返事+NEG": -0.8, "進む+NEG": -0.6, "定着+NEG": -0.8,
    "活用+NEG": -0.6, "見合う+NEG": -1.0, "機能+NEG": -0.4, "見える+NEG": -0.6, "感じる+NEG": -0.3,
    "上がる+NEG": -0.7, "伸びる+NEG": -0.7, "変わる+NEG": -0.5, "減る+NEG": -0.6, "来る+NEG": -0.5,
    "分かる+NEG": -0.6, "足りる+NEG": -0.8, "問題+NEG": 0.5, "不満+NEG": 0.5, "不具合+NEG": 0.4,
    "対応+NEG": -0.4, "使い熟す+NEG": -0.7, "実感+NEG": -0.8, "届く+NEG": -0.6, "反映+NEG": -0.6,
    "合う+NEG": -0.5, "無駄+NEG": 0.4, "文句+NEG": 0.7, "心配+NEG": 0.4, "ストレス+NEG": 0.5,
    "迷う+NEG": 0.5, "困る+NEG": 0.5, "手間+NEG": 0.4,
}

#: after one of these, 高い is good (満足度が高い), and 低い bad (定着率が低い)
JA_GOOD_WHEN_HIGH = frozenset(
    "満足度 評価 効果 精度 品質 安定性 性能 満足 利便性 定着率 継続率 活用度 利用率 完成度 柔軟性 自由度 "
    "信頼性 セキュリティ 生産性 費用対効果 コストパフォーマンス コスパ 期待".split()
)
#: things customers want less of: 工数が減った is good news, 工数が減らない bad
JA_BAD_WHEN_HIGH = frozenset(
    "工数 コスト 解約 解約率 チャーン ミス 手間 残業 作業 負担 問い合わせ 問い合わせ件数 作業時間 入力 工数削減 "
    "属人化 漏れ 対応漏れ 離脱 離脱率 手作業 エラー".split()
)
#: kept whole even without a user dictionary (Sudachi splits them)
JA_BUILTIN_TERMS = ("使い勝手",)

#: after one of these, 安い/低い are good and 高い bad (price words)
JA_PRICE_WORDS = frozenset("料金 価格 費用 コスト 値段 月額 年額 単価 利用料 ライセンス ライセンス費 初期費用 見積もり 値上げ 予算".split())

JA_CONTRAST = frozenset("が けど けれど けれども のに ものの しかし でも ただ ただし だが ですが 一方 とはいえ".split())
JA_REQUEST_GOOD = frozenset("嬉しい 助かる 有り難い 良い 幸い 便利".split())

# ------------------------------------------------------------------------------------------------ English
EN_STOPWORDS = frozenset(
    """
    a an the and or but if then than so as at by for from in into of on onto to too with within without about
    above after again against all also am any are aren't be been being before below between both can could did
    do does doing down during each few further had has have having he her here hers herself him himself his how
    i i'm i've i'd i'll it it's its itself just me more most my myself nor now off once only other our ours
    ourselves out over own same she should some such that that's their theirs them themselves there these they
    this those through under until up very was we we're we've were what when where which while who whom why
    will would you your yours yourself yourselves is be 's 've 'll 'd 're 'm us let get got one two really
    much many lot lots bit still even ever since because however though although yet also well maybe please
    thing things way something anything everything someone anyone team company we'd they're it'd there's
    year years time times etc e.g i.e vs per via quite rather just already
    like make made say said tell told think thought know knew see seem seems seemed need needs needed use used
    using want wanted go going went come came take took give gave look looking
    """.split()
)
EN_NEGATORS = frozenset("not no never none nothing nobody cannot without hardly neither nor lack lacks lacking".split())
EN_CONTRAST = frozenset("but however though although yet whereas".split())
#: adjectives fused with "to VERB" into one term: "hard to use", "easy to set up"
EN_TO_ADJECTIVES = frozenset(
    "easy hard difficult simple confusing tricky painful impossible intuitive straightforward quick slow "
    "cumbersome annoying clunky".split()
)

EN_POLARITY: dict[str, float] = {
    "love": 1.0, "great": 0.9, "helpful": 0.9, "easy to use": 1.0, "intuitive": 0.9, "useful": 0.8,
    "excellent": 1.0, "fast": 0.5, "responsive": 0.8, "smooth": 0.7, "happy": 0.8, "satisfied": 0.9,
    "recommend": 0.8, "thanks": 0.8, "thank": 0.8, "appreciate": 0.9, "reliable": 0.8, "simple": 0.5,
    "easy": 0.6, "convenient": 0.8, "save": 0.5, "improve": 0.3, "good": 0.7, "nice": 0.6, "awesome": 1.0,
    "amazing": 1.0, "fantastic": 1.0, "perfect": 1.0, "wonderful": 1.0, "friendly": 0.7, "user-friendly": 0.9,
    "pleased": 0.9, "impressed": 0.9, "impressive": 0.9, "valuable": 0.8, "worth": 0.6, "efficient": 0.7,
    "quick": 0.5, "clear": 0.5, "solid": 0.6, "best": 0.9, "enjoy": 0.8, "glad": 0.8, "delighted": 1.0,
    "success": 0.7, "successful": 0.8, "knowledgeable": 0.8, "supportive": 0.8, "powerful": 0.6,
    "seamless": 0.8, "stable": 0.6, "work": 0.1, "help": 0.3, "easy to set up": 0.9, "easy to learn": 0.9,
    "straightforward": 0.7, "game changer": 1.0, "boost": 0.5, "increase": 0.2, "grown": 0.3,
    "hard to use": -1.0, "confusing": -0.9, "difficult": -0.7, "slow": -0.8, "expensive": -0.7,
    "overpriced": -1.0, "bug": -0.8, "buggy": -0.9, "crash": -0.9, "broken": -0.9, "error": -0.5,
    "fail": -0.7, "frustrating": -1.0, "frustrated": -1.0, "disappointed": -1.0, "disappointing": -1.0,
    "poor": -0.9, "bad": -0.9, "terrible": -1.0, "awful": -1.0, "annoying": -0.9, "cancel": -0.7,
    "churn": -0.6, "complaint": -0.7, "issue": -0.4, "problem": -0.5, "lack": -0.6, "missing": -0.6,
    "clunky": -0.9, "unclear": -0.7, "unhelpful": -0.9, "useless": -1.0, "worse": -0.8, "worst": -1.0,
    "waste": -0.9, "unresponsive": -0.9, "outage": -0.8, "downtime": -0.7, "complicated": -0.8,
    "cumbersome": -0.9, "pricey": -0.7, "costly": -0.7, "unreliable": -0.9, "hard": -0.5, "confused": -0.8,
    "struggle": -0.8, "painful": -0.9, "hate": -1.0, "difficult to use": -1.0, "hard to find": -0.8,
    "hard to understand": -0.9, "confusing to use": -1.0, "delay": -0.6, "wait": -0.3, "stuck": -0.7,
    "switch": -0.3, "leave": -0.3, "cheaper": -0.3, "unhappy": -1.0, "dissatisfied": -1.0, "ignored": -0.9,
    "steep": -0.6, "lag": -0.7, "laggy": -0.8, "glitch": -0.8, "limited": -0.5, "insufficient": -0.8,
    "mess": -0.8, "messy": -0.8, "tedious": -0.8, "regret": -0.9, "unusable": -1.0,
    "work+NEG": -0.8, "help+NEG": -0.7, "worth+NEG": -1.0, "respond+NEG": -0.8, "reply+NEG": -0.8,
    "see+NEG": -0.3, "result+NEG": -0.8, "impact+NEG": -0.7, "value+NEG": -0.8, "solve+NEG": -0.8,
    "integrate+NEG": -0.5, "support+NEG": -0.4, "complaint+NEG": 0.7, "problem+NEG": 0.5, "issue+NEG": 0.5,
    "improve+NEG": -0.7, "roi+NEG": -0.8, "adopt+NEG": -0.6, "understand+NEG": -0.6, "justify+NEG": -0.9,
}

#: English wish phrases (matched on the lower-cased sentence); a hit makes the sentence a request
EN_REQUEST_PATTERNS = (
    r"\bwould be (?:great|nice|helpful|awesome|good|useful|amazing|wonderful|fantastic|ideal|a big help)\b",
    r"\bit'?d be (?:great|nice|helpful|awesome|good|useful)\b",
    r"\bplease (?:add|make|consider|support|provide|allow|let|include|build|bring|improve|fix|offer|give)\b",
    r"\b(?:i|we) wish\b",
    r"\bwish (?:there|it|you|we)\b",
    r"\bwould (?:love|like) (?:to see|to have|a|an|the|some|it|if|you|for)\b",
    r"\b(?:could|can|would) you (?:please )?(?:add|make|consider|support|provide|build|allow|include)\b",
    r"\bfeature request\b",
    r"\bneed (?:a|an) (?:way|option|feature|setting|integration)\b",
    r"\bhope (?:you|to see|that you)\b",
    r"\bit would help (?:if|a lot|us)\b",
    r"\b(?:are|do) you (?:planning|going) to (?:add|support|build|offer)\b",
    r"\bany plans? to (?:add|support|build|offer)\b",
    r"\bif only\b",
    r"\bnice to have\b",
    r"\bwould be (?:even )?better (?:if|with)\b",
    r"\bsuggest(?:ion)? (?:that you |you )?(?:add|adding|to add)\b",
)

#: irregular English forms folded by the lemmatiser
EN_IRREGULAR = {
    "was": "be", "were": "be", "is": "be", "are": "be", "been": "be", "am": "be", "has": "have", "had": "have",
    "did": "do", "does": "do", "done": "do", "went": "go", "gone": "go", "made": "make", "took": "take",
    "taken": "take", "gave": "give", "given": "give", "found": "find", "paid": "pay", "spent": "spend",
    "bought": "buy", "brought": "bring", "built": "build", "felt": "feel", "kept": "keep", "left": "leave",
    "lost": "lose", "meant": "mean", "sent": "send", "told": "tell", "thought": "think", "understood": "understand", "seen": "see", "saw": "see", "heard": "hear", "chose": "choose", "chosen": "choose", "got": "get", "gotten": "get", "ran": "run", "led": "lead", "fed": "feed", "needed": "need",
    "broken": "broken", "better": "better", "worse": "worse", "children": "child", "people": "people",
    "data": "data", "analytics": "analytics", "sales": "sales", "news": "news", "series": "series",
    "billing": "billing", "pricing": "pricing", "onboarding": "onboarding", "training": "training",
    "setting": "setting", "settings": "setting", "missing": "missing", "confusing": "confusing",
    "frustrating": "frustrating", "disappointing": "disappointing", "amazing": "amazing", "annoying": "annoying",
    "during": "during", "nothing": "nothing", "something": "something", "anything": "anything",
    "everything": "everything", "morning": "morning", "meeting": "meeting", "meetings": "meeting",
    "reporting": "reporting", "marketing": "marketing", "ticketing": "ticketing", "boring": "boring",
    "interesting": "interesting", "outstanding": "outstanding", "pending": "pending", "existing": "existing",
    "working": "work", "crashes": "crash", "crashed": "crash", "fixes": "fix", "fixed": "fix", "uses": "use",
    "used": "use", "using": "use", "responded": "respond", "responds": "respond", "replies": "reply",
    "replied": "reply", "tried": "try", "tries": "try", "frustrated": "frustrated", "disappointed": "disappointed",
    "satisfied": "satisfied", "impressed": "impressed", "confused": "confused", "pleased": "pleased",
    "limited": "limited", "ignored": "ignored", "cancelled": "cancel", "canceled": "cancel",
    "cancelling": "cancel", "canceling": "cancel", "integrations": "integration", "features": "feature",
    "dashboards": "dashboard", "issues": "issue", "this": "this", "its": "its", "us": "us", "was't": "be",
    "less": "less", "unless": "unless", "status": "status", "bus": "bus", "process": "process",
    "access": "access", "business": "business", "success": "success", "class": "class", "address": "address",
}
