"""Natural-language texts of the demo company: VoC entries, survey comments, tickets and CS activity notes.

A small template grammar: a *topic* (a churn reason, a feature request, praise, ...) gives clauses in a plain and a
polite form with slot fillers (features, themes, periods, effects); a channel frames them (a call-centre log, a sales
hearing memo, a survey answer) and picks the register (polite です・ます, plain, or reported 〜とのこと); openers,
connectors and closings vary the rest. About one text in ten is English. Negations (使いやすくない, 不満はない)
appear on purpose so that sentiment analysis has to handle them.
"""

from __future__ import annotations

import numpy as np

FEATURES_JA = ("レポート", "ダッシュボード", "ヘルススコア", "権限設定", "通知", "データ取り込み", "検索", "タスク管理")
FEATURES_EN = ("reports", "dashboards", "health scores", "permissions", "notifications", "data import", "search")
EFFECTS = ("工数削減", "解約率の改善", "売上への貢献", "業務の効率化", "顧客対応の品質向上", "情報共有の改善")
PERIODS = ("半年", "1年", "3か月", "数か月", "2年近く")
THEMES: tuple[tuple[str, str], ...] = (
    ("salesforce", "Salesforce連携"),
    ("csv_export", "CSV出力"),
    ("permissions", "権限管理"),
    ("mobile_app", "モバイルアプリ"),
    ("dashboard_custom", "ダッシュボードのカスタマイズ"),
    ("sso", "SSO"),
    ("api", "API"),
    ("slack", "Slack連携"),
    ("kintone", "kintone連携"),
    ("multilingual", "英語表示"),
)
THEMES_EN = {
    "salesforce": "Salesforce integration",
    "csv_export": "CSV export",
    "permissions": "role-based permissions",
    "mobile_app": "a mobile app",
    "dashboard_custom": "customisable dashboards",
    "sso": "SSO (SAML)",
    "api": "a public API",
    "slack": "Slack integration",
    "kintone": "kintone integration",
    "multilingual": "an English UI",
}

TOPICS = (
    "results_not_achieved",
    "hard_to_use",
    "insufficient_support",
    "price_not_worth_it",
    "missing_features",
    "feature_request",
    "praise",
    "budget_cut",
    "payment",
)

# topic -> (plain, polite) clauses; {feature} {effect} {period} {theme}
CLAUSES: dict[str, tuple[tuple[str, str], ...]] = {
    "results_not_achieved": (
        ("期待していた成果が出ていない", "期待していた成果が出ていません"),
        ("導入前に想定していた{effect}が実現できていない", "導入前に想定していた{effect}が実現できていません"),
        ("{period}使っているが効果が見えない", "{period}使っていますが効果が見えません"),
        ("社内で費用対効果を説明できない", "社内で費用対効果を説明できません"),
        ("数字に表れる変化がない", "数字に表れる変化がありません"),
        ("目標にしていたKPIが改善していない", "目標にしていたKPIが改善していません"),
        ("成果につながっている実感がない", "成果につながっている実感がありません"),
    ),
    "hard_to_use": (
        ("画面が分かりにくい", "画面が分かりにくいです"),
        ("操作が複雑で使いこなせない", "操作が複雑で使いこなせません"),
        ("{feature}の設定が難しい", "{feature}の設定が難しいです"),
        ("正直あまり使いやすくない", "正直あまり使いやすくありません"),
        ("現場のメンバーが使いたがらない", "現場のメンバーが使いたがりません"),
        ("どこに何があるのか分からない", "どこに何があるのか分かりません"),
        ("マニュアルを読まないと{feature}が操作できない", "マニュアルを読まないと{feature}が操作できません"),
    ),
    "insufficient_support": (
        ("導入時のサポートが足りなかった", "導入時のサポートが足りませんでした"),
        ("問い合わせの返信が遅い", "問い合わせの返信が遅いです"),
        ("定着まで伴走してほしかった", "定着まで伴走していただきたかったです"),
        ("担当者が変わってから連絡が減った", "担当者が変わってから連絡が減りました"),
        ("トレーニングの機会が少ない", "トレーニングの機会が少ないです"),
        ("社内への展開方法が分からないままになっている", "社内への展開方法が分からないままになっています"),
        ("{feature}の活用方法を相談できる相手がいない", "{feature}の活用方法を相談できる相手がいません"),
    ),
    "price_not_worth_it": (
        ("価格に見合う価値を感じない", "価格に見合う価値を感じません"),
        ("{feature}しか使っていないのに料金が高い", "{feature}しか使っていないのに料金が高いです"),
        ("ID単価が高く、利用者を増やせない", "ID単価が高く、利用者を増やせません"),
        ("他社サービスの方が安い", "他社サービスの方が安いです"),
        ("この金額を払い続ける理由が見つからない", "この金額を払い続ける理由が見つかりません"),
        ("値上げは受け入れられない", "値上げは受け入れられません"),
    ),
    "missing_features": (
        ("{theme}がないので業務に合わない", "{theme}がないので業務に合いません"),
        ("必要な機能が足りない", "必要な機能が足りません"),
        ("{theme}に対応していないのが致命的だ", "{theme}に対応していないのが致命的です"),
        (
            "他社製品には{theme}があるので乗り換えを検討している",
            "他社製品には{theme}があるので乗り換えを検討しています",
        ),
        ("{theme}がないと全社展開できない", "{theme}がないと全社展開できません"),
    ),
    "feature_request": (
        ("{theme}に対応してほしい", "{theme}に対応していただきたいです"),
        ("{theme}があると助かる", "{theme}があると助かります"),
        ("{theme}の追加を検討してほしい", "{theme}の追加をご検討いただけますと幸いです"),
        ("ぜひ{theme}を実装してほしい", "ぜひ{theme}の実装をお願いしたいです"),
        ("{theme}ができれば利用部門を広げられる", "{theme}ができれば利用部門を広げられます"),
        ("{theme}の予定があれば知りたい", "{theme}の予定があれば教えていただきたいです"),
    ),
    "praise": (
        ("{feature}がとても使いやすい", "{feature}がとても使いやすいです"),
        ("サポートの対応が早くて助かっている", "サポートの対応が早くて助かっています"),
        ("導入してから{effect}が実現できた", "導入してから{effect}が実現できました"),
        ("特に不満はない", "特に不満はありません"),
        ("現場の評判も良い", "現場の評判も良いです"),
        ("CSの方の提案が的確で頼りになる", "CSの方の提案が的確で頼りになります"),
        ("使いにくいと感じたことはない", "使いにくいと感じたことはありません"),
        ("{feature}のおかげで会議の準備が楽になった", "{feature}のおかげで会議の準備が楽になりました"),
    ),
    "budget_cut": (
        ("会社の方針で予算が削減された", "会社の方針で予算が削減されました"),
        ("グループ会社のツールに統合することになった", "グループ会社のツールに統合することになりました"),
        ("部署の再編でプロジェクト自体がなくなった", "部署の再編でプロジェクト自体がなくなりました"),
    ),
    "payment": (
        ("支払い方法の更新が間に合わなかった", "支払い方法の更新が間に合いませんでした"),
        ("カードの有効期限切れに気づかなかった", "カードの有効期限切れに気づきませんでした"),
    ),
}
OPENERS_JA = (
    "",
    "",
    "",
    "正直なところ、",
    "率直に申し上げると、",
    "導入して{period}ほど経ちますが、",
    "現場からは",
    "担当者としては、",
    "全体としては、",
    "以前から感じていますが、",
)
CLOSINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "negative": (
        ("", ""),
        ("改善してほしい。", "改善をお願いしたいです。"),
        ("このままだと継続は難しい。", "このままだと継続は難しいかもしれません。"),
        ("上長からも見直しを求められている。", "上長からも見直しを求められています。"),
    ),
    "request": (
        ("", ""),
        ("検討してもらえると助かる。", "ご検討いただけると助かります。"),
        ("優先度は高い。", "弊社としては優先度が高いです。"),
    ),
    "praise": (
        ("", ""),
        ("これからも期待している。", "引き続きよろしくお願いします。"),
        ("他部署にも広げたい。", "他部署にも展開したいと考えています。"),
    ),
}
FRAMES = {
    "call_center": ("【入電】", "お電話にて: ", "電話問い合わせ: ", ""),
    "web_inquiry": ("お問い合わせフォームより: ", "【Web問い合わせ】", ""),
    "sales_hearing": ("（商談メモ）", "ヒアリング: ", "【訪問メモ】"),
    "seminar": ("セミナー後アンケート: ", "展示会ブースにて: ", "【セミナー】"),
    "user_group": ("ユーザー会での発言: ", "【ユーザー会】", "ユーザー会 分科会にて: "),
    "survey": ("", "", "自由記述: "),
    "cancellation_survey": ("解約理由: ", "【解約アンケート】", ""),
}
EN_CLAUSES: dict[str, tuple[str, ...]] = {
    "results_not_achieved": (
        "We haven't seen the results we expected.",
        "After {period_en} we still can't show the ROI to management.",
    ),
    "hard_to_use": (
        "The UI is confusing and our team struggles to use it.",
        "Setting up {feature_en} is too complicated.",
        "It is not easy to use for our frontline staff.",
    ),
    "insufficient_support": (
        "We needed more help during onboarding.",
        "Support replies are slow and we are stuck.",
        "Nobody helped us roll it out to the whole team.",
    ),
    "price_not_worth_it": ("The price is too high for what we actually use.", "Hard to justify the per-seat cost."),
    "missing_features": ("We need {theme_en}, which is missing.", "Without {theme_en} it doesn't fit our workflow."),
    "feature_request": ("Please add {theme_en}.", "It would be great to have {theme_en}.", "Any plans for {theme_en}?"),
    "praise": (
        "The {feature_en} are great and support is quick.",
        "No complaints so far, the team loves it.",
        "It is not hard to use at all.",
    ),
    "budget_cut": ("Our budget was cut this year.", "We are consolidating tools after a merger."),
    "payment": ("Our card expired and we missed the update.",),
}
PERIODS_EN = ("six months", "a year", "three months", "several months")

TICKET_TOPICS: tuple[tuple[str, str, str], ...] = (
    # (subject, body core, severity weight: low/normal/high)
    ("ログインできない", "朝からログインできない状態が続いています。パスワードを再設定しても改善しません。", "high"),
    ("CSV取り込みでエラーが出る", "顧客データのCSVを取り込むと「文字コードが不正です」と表示されます。", "normal"),
    ("レポートの数値が合わない", "{feature}の数値が社内の集計と一致しません。集計条件を教えてください。", "normal"),
    ("請求書の再発行について", "先月分の請求書の宛名を変更して再発行していただけますか。", "low"),
    ("画面の表示が遅い", "{feature}を開くと表示まで数十秒かかります。業務に支障が出ています。", "high"),
    ("権限設定の方法を知りたい", "部署ごとに閲覧範囲を分けたいのですが、設定方法が分かりません。", "low"),
    ("{feature}の使い方について", "{feature}の使い方が分からず困っています。手順を教えていただけますか。", "low"),
    ("データが消えた", "昨日まで登録されていたデータが見当たりません。至急確認をお願いします。", "high"),
    ("API連携のエラー", "APIから取得すると 500 エラーが返ります。仕様変更があったのでしょうか。", "normal"),
    ("ユーザー追加について", "新しいメンバーを追加したいのですが、招待メールが届きません。", "normal"),
)
ACTIVITY_SUBJECTS: dict[str, tuple[str, ...]] = {
    "meeting": ("定例ミーティング", "活用支援のお打ち合わせ", "利用状況のご確認", "新機能のご紹介", "契約更新のご相談"),
    "call": ("利用状況のヒアリング", "ヘルススコア低下のフォロー", "お問い合わせ後のフォロー", "契約更新のご確認"),
    "email": (
        "活用ヒントのご案内",
        "オンボーディング資料の送付",
        "ウェビナーのご案内",
        "アンケートご協力のお願い",
        "新機能リリースのお知らせ",
    ),
    "note": ("社内メモ: 利用状況", "社内メモ: キーパーソン情報", "社内メモ: 更新リスク"),
    "qbr": ("QBR（四半期レビュー）", "定例レビュー（QBR）", "エグゼクティブレビュー"),
}


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str]) -> str:
    return items[int(rng.random() * len(items))]  # one scalar draw: rng.integers() builds an array per call


def fill(rng: np.random.Generator, template: str, theme: str | None = None) -> str:
    theme_key = theme or THEMES[int(rng.random() * len(THEMES))][0]
    theme_ja = dict(THEMES)[theme_key]
    return template.format(
        feature=_pick(rng, FEATURES_JA),
        effect=_pick(rng, EFFECTS),
        period=_pick(rng, PERIODS),
        theme=theme_ja,
        feature_en=_pick(rng, FEATURES_EN),
        period_en=_pick(rng, PERIODS_EN),
        theme_en=THEMES_EN[theme_key],
    )


def voc_text(
    rng: np.random.Generator,
    topic: str,
    channel: str,
    *,
    english: bool = False,
    theme: str | None = None,
    company: str | None = None,
) -> str:
    """One VoC text on ``topic`` as heard on ``channel`` (Japanese, or English when ``english``)."""
    if english:
        parts = [fill(rng, _pick(rng, EN_CLAUSES[topic]), theme)]
        if rng.random() < 0.4:
            parts.append(fill(rng, _pick(rng, EN_CLAUSES[topic]), theme))
        return " ".join(dict.fromkeys(parts))
    style = _register(rng, channel)
    clauses = CLAUSES[topic]
    first = clauses[int(rng.random() * len(clauses))]
    text = fill(rng, _pick(rng, OPENERS_JA), theme) + _render(first, style, rng, theme)
    if rng.random() < 0.45:
        second = clauses[int(rng.random() * len(clauses))]
        if second != first:
            text += _pick(rng, ("また、", "それに、", "加えて、", "", "あと、")) + _render(second, style, rng, theme)
    kind = "praise" if topic == "praise" else "request" if topic == "feature_request" else "negative"
    closing = CLOSINGS[kind][int(rng.random() * len(CLOSINGS[kind]))]
    if style != "reported" and topic not in ("payment", "budget_cut"):
        text += closing[1 if style == "polite" else 0]
    frame = _pick(rng, FRAMES[channel])
    if channel == "sales_hearing" and company and rng.random() < 0.5:
        frame = f"{frame}{company}様より、"
    return frame + text


def _register(rng: np.random.Generator, channel: str) -> str:
    if channel in ("sales_hearing", "call_center") and rng.random() < 0.6:
        return "reported"
    if channel in ("survey", "cancellation_survey", "seminar") and rng.random() < 0.45:
        return "plain"
    return "polite"


def _render(clause: tuple[str, str], style: str, rng: np.random.Generator, theme: str | None) -> str:
    if style == "polite":
        return fill(rng, clause[1], theme) + "。"
    if style == "plain":
        return fill(rng, clause[0], theme) + "。"
    return fill(rng, clause[0], theme) + _pick(rng, ("とのこと。", "との声あり。", "と話されていた。", "とのご意見。"))


def ticket_text(rng: np.random.Generator, company: str, person: str) -> tuple[str, str, str]:
    """(subject, body, severity) of one support ticket."""
    subject, core, severity = TICKET_TOPICS[int(rng.random() * len(TICKET_TOPICS))]
    feature = _pick(rng, FEATURES_JA)
    body = (
        f"いつもお世話になっております。{company}の{person}です。\n"
        + core.format(feature=feature)
        + "\n"
        + _pick(
            rng,
            ("ご確認のほどよろしくお願いいたします。", "お手数ですがご対応をお願いします。", "至急ご確認ください。"),
        )
    )
    return subject.format(feature=feature), body, severity


def activity_text(rng: np.random.Generator, kind: str, at_risk: bool) -> tuple[str, str]:
    subject = _pick(rng, ACTIVITY_SUBJECTS[kind])
    if at_risk:
        body = _pick(
            rng,
            (
                "利用率が下がっている点を共有。活用プランを再提案した。",
                "キーパーソンの異動があり、後任の方と関係構築が必要。",
                "更新に向けて費用対効果の説明資料を準備する。",
                "サポート対応への不満を伺った。改善策を社内で検討する。",
            ),
        )
    else:
        body = _pick(
            rng,
            (
                "順調に活用いただいている。次回は他部署への展開をご提案。",
                "新機能のデモを実施。好評だった。",
                "利用状況を確認。特に課題はなし。",
                "追加ライセンスのご相談をいただいた。",
            ),
        )
    return subject, body
