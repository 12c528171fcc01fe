"""Hand-crafted templates for part of the VoC training corpus (``composed_ja.csv``).

The templates are written by hand, per class: a *core* is one clause that voices the class in plain form (ending
in a verb or an adjective, so any wrapper can follow it), with slots for what the customer talks about
(``{area}`` a screen or function, ``{metric}`` a business figure, ``{tool}`` another system, ``{who}`` their
staff). A *frame* puts the core in a channel's and a register's words: a keigo e-mail, a terse chat, a call note in
the third person, survey free text, a cancellation reason. Seeded noise then writes some texts as people do:
kana instead of kanji, no final 。, an English word for a Japanese one.

The composed texts are a minority of the corpus and its easy part; most of the variety is in the hand-written
``written_ja.csv``. The held-out split (``tests/data/voc/holdout_ja.csv``) comes from neither.

    python -m kizuna.voc.training.compose > src/kizuna/voc/training/composed_ja.csv
"""

from __future__ import annotations

import random
import sys

import pandas as pd

__all__ = ["compose_training_texts"]

AREAS = (
    "管理画面",
    "設定画面",
    "ダッシュボード",
    "レポート機能",
    "検索機能",
    "入力フォーム",
    "スマホアプリ",
    "予約画面",
    "在庫の画面",
    "シフト表",
    "顧客一覧",
    "請求の画面",
    "集計機能",
    "ワークフロー",
)
METRICS = (
    "解約率",
    "継続率",
    "売上",
    "受注率",
    "来店数",
    "リピート率",
    "客単価",
    "問い合わせ件数",
    "残業時間",
    "作業時間",
    "顧客満足度",
    "定着率",
    "稼働率",
    "NPS",
)
TOOLS = (
    "Salesforce",
    "kintone",
    "Slack",
    "Teams",
    "LINE",
    "Googleカレンダー",
    "会計ソフト",
    "基幹システム",
    "電子カルテ",
    "POSレジ",
    "Zoom",
    "HubSpot",
)
WHO = (
    "現場のスタッフ",
    "営業担当",
    "店長",
    "パートさん",
    "看護師",
    "講師",
    "ドライバー",
    "新人",
    "年配の社員",
    "事務の担当者",
)

#: cores per class, plain form; the slots are filled from the lists above
CORES: dict[str, tuple[str, ...]] = {
    "results_not_achieved": (
        "{metric}がまったく改善しない",
        "導入しても{metric}が変わらない",
        "期待していた効果が出ていない",
        "{metric}の目標に届かなかった",
        "投資に見合う成果が出ない",
        "数字につながっていない",
        "導入前と比べて{metric}に差が出ていない",
        "効果を実感できない",
        "{metric}が上がったという手応えがない",
        "狙っていた成果が得られなかった",
        "ROIを説明できる結果が出ていない",
        "半年使っても{metric}は横ばいのままだ",
        "上層部に報告できる成果がない",
        "業務改善につながらなかった",
        "効果測定をしても改善が見られない",
        "{metric}の改善という目的を達成できていない",
    ),
    "hard_to_use": (
        "{area}が使いにくい",
        "{area}の操作が分かりにくい",
        "{area}がごちゃごちゃしていて見づらい",
        "{who}が操作を覚えられない",
        "{area}の動作が重くて待たされる",
        "{area}の使い方が難しすぎる",
        "{area}のどこに何があるのか分からない",
        "{area}の入力が面倒くさい",
        "{who}には操作が複雑すぎる",
        "{area}の手順が多くて手間がかかる",
        "{area}の表示が崩れて操作できない",
        "{area}が直感的に使えない",
        "{area}の設定方法が分かりづらい",
        "{who}が使いこなせない",
        "{area}を開くたびに固まる",
        "{area}のボタンが多すぎて迷う",
    ),
    "insufficient_support": (
        "サポートの返事が遅い",
        "問い合わせても回答が来ない",
        "担当者がすぐに変わって引き継ぎがされていない",
        "導入後のフォローがない",
        "サポートに聞いても的外れな回答しか返ってこない",
        "サポート窓口に電話がつながらない",
        "研修をお願いしても実施してもらえない",
        "不具合を報告しても対応してもらえない",
        "担当者からの連絡が途絶えた",
        "活用の相談に乗ってもらえない",
        "ヘルプの記事が古くて役に立たない",
        "障害のときに連絡がなかった",
        "チャットの問い合わせに何日も返信がない",
        "CSの担当者が事務的で話を聞いてくれない",
        "{area}の件で質問したのに放置されている",
        "サポートの人によって回答がばらばらだ",
    ),
    "price_not_worth_it": (
        "料金が高すぎる",
        "値上げに見合う価値を感じない",
        "費用対効果が合わない",
        "月額が負担になっている",
        "他社のほうが安い",
        "使っていない機能の分まで払っている",
        "ユーザー数が増えるたびにコストがかさむ",
        "予算内に収まらない",
        "この価格を社内で正当化できない",
        "更新の見積もりが高すぎる",
        "オプション料金が高くつく",
        "ライセンス費用が割に合わない",
        "安いツールで十分だと判断した",
        "初期費用が重すぎる",
        "{who}の分までアカウント料金を払うのはきつい",
        "コストに見合うほど使っていない",
    ),
    "missing_features": (
        "{tool}と連携できない",
        "{tool}との連携機能がない",
        "必要な機能が足りない",
        "{area}をカスタマイズできない",
        "データをCSVで出力できない",
        "権限を細かく設定できない",
        "多言語に対応していない",
        "シングルサインオンに対応していない",
        "一括で編集する機能がない",
        "APIが公開されていない",
        "承認フローを組めない",
        "オフラインで使えない",
        "モバイルアプリがない",
        "{area}で欲しい指標が出せない",
        "{tool}のデータを取り込めない",
        "自動でリマインドを送る機能がない",
    ),
    "feature_request": (
        "{tool}と連携できるようにしてほしい",
        "{area}をカスタマイズできる機能が欲しい",
        "CSVで一括ダウンロードできるようにしてほしい",
        "{area}にダークモードがあると嬉しい",
        "通知を{tool}に送れると助かる",
        "{area}の並び順を保存できるようにしてほしい",
        "レポートを定期的にメールで配信する機能が欲しい",
        "権限ごとに表示を切り替えられると助かる",
        "スマホからでも承認できるようにしてほしい",
        "テンプレートを増やしてほしい",
        "{area}に絞り込みの条件を追加してほしい",
        "AIで要約する機能があるといい",
        "英語表示に切り替えられるようにしてほしい",
        "グラフを画像で保存できると助かる",
        "{area}で一括編集ができると嬉しい",
        "APIを公開してほしい",
    ),
    "praise": (
        "{area}がとても使いやすい",
        "サポートの対応が早くて助かった",
        "導入してから{metric}が改善した",
        "{who}もすぐに使えるようになった",
        "担当者が丁寧に対応してくれた",
        "{area}が見やすくて分かりやすい",
        "作業時間が大幅に減った",
        "期待以上の効果が出ている",
        "不具合をすぐに直してもらえた",
        "{area}のおかげで業務が楽になった",
        "勉強会が分かりやすかった",
        "{metric}が上がって経営陣も喜んでいる",
        "サクサク動いて快適だ",
        "提案がいつも的確で頼りになる",
        "機能が充実していて満足している",
        "導入して本当によかった",
    ),
    "other": (
        "来月から担当が変わる",
        "請求書の送付先を変えたい",
        "次回の打ち合わせの日程を調整したい",
        "契約更新の手続きを確認したい",
        "まだ使い始めたばかりで評価はこれからだ",
        "アカウントを追加したい",
        "パスワードを再設定したい",
        "セミナーの資料を共有してほしい",
        "社内で予算を確認している最中だ",
        "来期の体制が決まってから改めて連絡する",
        "組織変更でしばらく利用を止める",
        "見積書を送ってほしい",
        "領収書を再発行してほしい",
        "特に意見はない",
        "支払方法を変更したい",
        "グループの方針でシステムを統一することになった",
    ),
}

SENTIMENT = {
    "results_not_achieved": "negative",
    "hard_to_use": "negative",
    "insufficient_support": "negative",
    "price_not_worth_it": "negative",
    "missing_features": "negative",
    "feature_request": "request",
    "praise": "positive",
    "other": "neutral",
}

#: frames per channel: {c} is the core in plain form; each frame keeps the class of its core
FRAMES: dict[str, tuple[str, ...]] = {
    "email": (
        "お世話になっております。{c}ため、社内で今後の利用について検討しております。",
        "いつもお世話になっております。{c}状況でして、ご相談させていただけますでしょうか。",
        "恐れ入ります。現在、{c}という声が社内から上がっております。",
        "平素より大変お世話になっております。率直に申し上げますと、{c}と感じております。",
        "ご担当者様　{c}点について、ご確認いただけますと幸いです。",
    ),
    "chat": (
        "{c}んですけど",
        "正直{c}です",
        "{c}…",
        "{c}のなんとかなりません？",
        "ちょっと{c}かも",
    ),
    "call_note": (
        "顧客より：{c}とのこと。",
        "先方担当者談：{c}。",
        "ヒアリング結果：{c}との話あり。",
        "お客様から、{c}という話があった。",
    ),
    "survey": (
        "{c}。",
        "{c}と思います。",
        "全体的に{c}と感じる。",
        "{c}のが気になります。",
        "一言でいうと、{c}。",
    ),
    "cancellation_survey": (
        "{c}ため。",
        "{c}ので解約します。",
        "主な理由は、{c}ことです。",
    ),
}
#: frames whose wording only fits some classes (praise is no reason to leave, a request no cancellation)
_FRAME_CLASSES = {
    "お世話になっております。{c}ため、社内で今後の利用について検討しております。": "negative",
    "{c}のなんとかなりません？": "negative",
    "{c}ので解約します。": "negative",
    "{c}ため。": "negative",
    "主な理由は、{c}ことです。": "negative",
    "{c}のが気になります。": "negative",
}
#: praise, requests and "other" get frames of their own instead
_OWN_FRAMES = {
    "praise": ("{c}。ありがとうございます。", "{c}！", "顧客より：{c}と高評価。", "おかげさまで{c}と感じております。"),
    "feature_request": ("{c}です。", "要望：{c}。", "顧客より要望あり：{c}とのこと。", "可能であれば、{c}です。"),
    "other": ("{c}。", "顧客より：{c}とのこと。", "お世話になっております。{c}のですが、よろしくお願いいたします。"),
}

#: how people write: kana for kanji, English for Japanese (applied by chance)
_KANA = {
    "使い": "つかい",
    "料金": "りょうきん",
    "高すぎる": "たかすぎる",
    "分かり": "わかり",
    "遅い": "おそい",
    "機能": "きのう",
}
_ENGLISH = {
    "サポート": "support",
    "料金": "pricing",
    "ダッシュボード": "dashboard",
    "連携": "integration",
    "画面": "UI",
}


def compose_training_texts(*, per_class: int = 80, seed: int = 0) -> pd.DataFrame:
    """``per_class`` composed texts per class: ``text, category, sentiment, channel`` (distinct texts)."""
    rng = random.Random(seed)
    rows: list[tuple[str, str, str, str]] = []
    for category, cores in CORES.items():
        sentiment = SENTIMENT[category]
        seen: set[str] = set()
        tries = 0
        while len(seen) < per_class and tries < per_class * 50:
            tries += 1
            core = rng.choice(cores).format(
                area=rng.choice(AREAS), metric=rng.choice(METRICS), tool=rng.choice(TOOLS), who=rng.choice(WHO)
            )
            if category in _OWN_FRAMES and rng.random() < 0.6:
                channel, frame = "survey", rng.choice(_OWN_FRAMES[category])
            else:
                channel = rng.choice(tuple(FRAMES))
                frames = [f for f in FRAMES[channel] if _FRAME_CLASSES.get(f, sentiment) == sentiment]
                if not frames:
                    continue
                frame = rng.choice(frames)
            text = frame.format(c=core)
            if rng.random() < 0.15:
                text = _replace_one(text, _KANA, rng)
            if rng.random() < 0.1:
                text = _replace_one(text, _ENGLISH, rng)
            if rng.random() < 0.2:
                text = text.rstrip("。")
            if text not in seen:
                seen.add(text)
                rows.append((text, category, sentiment, channel))
    return pd.DataFrame(rows, columns=["text", "category", "sentiment", "channel"])


def _replace_one(text: str, table: dict[str, str], rng: random.Random) -> str:
    present = [k for k in table if k in text]
    if not present:
        return text
    k = rng.choice(present)
    return text.replace(k, table[k])


if __name__ == "__main__":
    compose_training_texts().to_csv(sys.stdout, index=False, lineterminator="\n")
