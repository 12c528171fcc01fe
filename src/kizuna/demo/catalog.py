"""The demo company's fixed catalogue: plans and add-ons, segments, industries, regions and Japanese name pools.

Everything here is plain data; :mod:`kizuna.demo.simulate` draws from it with a seeded generator. Names are composed
from invented stems so that no real company is meant.
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENCY = "JPY"
PRODUCT_NAME = "kizuna Base"


@dataclass(frozen=True)
class PlanSpec:
    key: str  # e.g. "pro"
    name: str  # shown name
    monthly_price: int  # JPY per seat (or unit) per month on a monthly contract
    is_addon: bool = False
    per_seat: bool = True  # False: a flat unit price (quantity = units)


# Base plans, index = plan tier (0 Starter, 1 Pro, 2 Enterprise). Annual contracts list 10 x monthly ("2 months free").
BASE_PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("starter", "Starter", 1_200),
    PlanSpec("pro", "Pro", 2_400),
    PlanSpec("enterprise", "Enterprise", 4_000),
)
ADDONS: tuple[PlanSpec, ...] = (
    PlanSpec("api", "API連携", 20_000, is_addon=True, per_seat=False),
    PlanSpec("analytics", "高度な分析", 600, is_addon=True),
    PlanSpec("storage", "追加ストレージ (100GB)", 5_000, is_addon=True, per_seat=False),
)
ANNUAL_FACTOR = 10  # an annual contract lists at 10 months of the monthly price

# Segments: index 0 SMB, 1 Mid-market, 2 Enterprise
SEGMENTS = ("smb", "mid", "enterprise")
SEGMENT_WEIGHTS = (0.58, 0.30, 0.12)
EMPLOYEE_BANDS = (("1-50", "51-200"), ("201-1000",), ("1001-5000", "5001+"))
SEAT_MEDIAN = (6.0, 22.0, 70.0)
SEAT_SIGMA = (0.55, 0.5, 0.55)
PLAN_MIX = ((0.62, 0.33, 0.05), (0.25, 0.55, 0.20), (0.05, 0.35, 0.60))
ANNUAL_SHARE = (0.30, 0.60, 0.90)
TRIAL_SHARE = (0.55, 0.40, 0.10)

INDUSTRIES = ("製造", "小売", "IT・通信", "金融", "医療・福祉", "不動産", "人材", "教育", "物流", "建設", "サービス")
INDUSTRY_WEIGHTS = (0.16, 0.10, 0.20, 0.06, 0.08, 0.07, 0.08, 0.06, 0.07, 0.05, 0.07)
INDUSTRY_SUFFIXES: dict[str, tuple[str, ...]] = {
    "製造": ("精機", "工業", "製作所", "化成", "電機", "マテリアル", "テック工業"),
    "小売": ("商事", "リテール", "ストア", "マート", "物産", "トレーディング"),
    "IT・通信": ("システムズ", "テクノロジーズ", "ソリューションズ", "ネットワークス", "ラボ", "デジタル", "ソフト"),
    "金融": ("キャピタル", "ファイナンス", "アセット", "リース", "保険サービス"),
    "医療・福祉": ("メディカル", "ケアサービス", "ヘルスケア", "福祉会", "ライフケア"),
    "不動産": ("不動産", "ホーム", "エステート", "住宅", "プロパティ"),
    "人材": ("キャリア", "人材サービス", "スタッフィング", "ワークス", "エージェント"),
    "教育": ("ラーニング", "教育研究所", "アカデミー", "スクール", "エデュケーション"),
    "物流": ("物流", "運輸", "ロジスティクス", "エクスプレス", "倉庫"),
    "建設": ("建設", "工務店", "建工", "設備", "エンジニアリング"),
    "サービス": ("サービス", "プランニング", "コンサルティング", "パートナーズ", "クリエイト"),
}
NAME_PREFIXES = ("", "", "", "新", "東", "西", "北", "南", "中央", "第一", "大", "日本", "セントラル", "グローバル")
NAME_STEMS = (
    "翠星",
    "彩雲",
    "瑞穂野",
    "白鷺",
    "若葉台",
    "明星堂",
    "常盤野",
    "葵陵",
    "藤波",
    "七海",
    "天晴",
    "楓葉",
    "豊栄",
    "光陽",
    "朝凪",
    "月見野",
    "桜丘",
    "青嶺",
    "紫苑",
    "琥珀",
    "銀河",
    "星灯",
    "凪浜",
    "澄川",
    "雅楽",
    "暁星",
    "萌黄",
    "碧海",
    "千歳野",
    "睦月",
    "弥生野",
    "皐月",
    "紅葉坂",
    "杜若",
    "柊",
    "椿原",
    "鳳翔",
    "麒麟堂",
    "蒼天",
    "陽向",
    "アオバ",
    "ミライノ",
    "クレスティア",
    "フォレスタ",
    "ルミナス",
    "ソレイユ",
    "アルカディア",
    "ベイサイド",
    "リンクス",
    "ノヴァ",
    "オルビス",
    "セレス",
    "アステル",
    "エルミナ",
    "カナエル",
    "ハルモニア",
    "ヴェルデ",
    "トライエッジ",
    "ユナイト",
    "スカイリード",
    "ブライトン",
    "ネクサス",
    "プリズム",
    "コスモリンク",
    "ステラ",
    "ヒカリエ",
    "ウィズダム",
    "グリーンリーフ",
    "サンライズ",
    "ミナモ",
    "ツバサ",
    "カケハシ",
    "イロドリ",
)
LEGAL_FORMS = (
    ("株式会社", "prefix", 0.62),
    ("株式会社", "suffix", 0.30),
    ("合同会社", "prefix", 0.06),
    ("有限会社", "suffix", 0.02),
)

REGIONS = ("関東", "関西", "中部", "九州・沖縄", "北海道・東北", "中国・四国")
REGION_WEIGHTS = (0.45, 0.20, 0.13, 0.09, 0.07, 0.06)

# (kanji, romaji)
SURNAMES = (
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
    ("佐々木", "sasaki"),
    ("山口", "yamaguchi"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
    ("林", "hayashi"),
    ("斎藤", "saito"),
    ("清水", "shimizu"),
    ("山崎", "yamazaki"),
    ("森", "mori"),
    ("池田", "ikeda"),
    ("橋本", "hashimoto"),
    ("阿部", "abe"),
    ("石川", "ishikawa"),
    ("山下", "yamashita"),
    ("中島", "nakajima"),
    ("石井", "ishii"),
    ("小川", "ogawa"),
    ("前田", "maeda"),
    ("岡田", "okada"),
    ("長谷川", "hasegawa"),
    ("藤田", "fujita"),
    ("後藤", "goto"),
    ("近藤", "kondo"),
    ("村上", "murakami"),
    ("遠藤", "endo"),
    ("青木", "aoki"),
    ("坂本", "sakamoto"),
    ("福田", "fukuda"),
    ("太田", "ota"),
    ("西村", "nishimura"),
    ("藤井", "fujii"),
    ("金子", "kaneko"),
    ("岡本", "okamoto"),
    ("藤原", "fujiwara"),
    ("中野", "nakano"),
    ("三浦", "miura"),
    ("原田", "harada"),
    ("松田", "matsuda"),
    ("竹内", "takeuchi"),
    ("中川", "nakagawa"),
    ("小野", "ono"),
    ("田村", "tamura"),
    ("和田", "wada"),
    ("石田", "ishida"),
    ("上田", "ueda"),
    ("森田", "morita"),
    ("菅原", "sugawara"),
)
GIVEN_NAMES = (
    ("大輔", "daisuke"),
    ("翔太", "shota"),
    ("拓也", "takuya"),
    ("健太", "kenta"),
    ("直樹", "naoki"),
    ("亮", "ryo"),
    ("誠", "makoto"),
    ("隆", "takashi"),
    ("浩二", "koji"),
    ("和也", "kazuya"),
    ("悠斗", "yuto"),
    ("蓮", "ren"),
    ("大樹", "daiki"),
    ("陽介", "yosuke"),
    ("智也", "tomoya"),
    ("達也", "tatsuya"),
    ("康平", "kohei"),
    ("修", "osamu"),
    ("剛", "tsuyoshi"),
    ("洋平", "yohei"),
    ("陽子", "yoko"),
    ("美咲", "misaki"),
    ("愛", "ai"),
    ("由美", "yumi"),
    ("恵", "megumi"),
    ("直子", "naoko"),
    ("真由美", "mayumi"),
    ("彩", "aya"),
    ("結衣", "yui"),
    ("麻衣", "mai"),
    ("優子", "yuko"),
    ("智子", "tomoko"),
    ("香織", "kaori"),
    ("千尋", "chihiro"),
    ("菜々子", "nanako"),
    ("沙織", "saori"),
    ("里奈", "rina"),
    ("明日香", "asuka"),
    ("舞", "mai"),
    ("遥", "haruka"),
)
CONTACT_TITLES = {
    "decision_maker": ("代表取締役", "取締役", "事業部長", "営業本部長", "情報システム部長"),
    "admin": (
        "情報システム課 課長",
        "営業企画 主任",
        "DX推進室 リーダー",
        "業務改革チーム マネージャー",
        "総務部 係長",
    ),
    "billing": ("経理部", "経理課 主任", "管理部"),
    "end_user": ("営業", "カスタマーサポート", "マーケティング", "企画", "エンジニア", "事務", "店舗スタッフ"),
}

# The CS, marketing and sales team (sizes at 2,000 accounts; scaled with the account count)
TEAM_SHAPE = (("cs_manager", 1), ("csm", 8), ("marketing", 3), ("inside_sales", 4), ("field_sales", 5), ("support", 4))

# The hidden churn reasons (truth) and their labels
CHURN_REASONS = (
    "results_not_achieved",
    "hard_to_use",
    "insufficient_support",
    "price_not_worth_it",
    "missing_features",
)
CHURN_REASON_LABELS_JA = {
    "results_not_achieved": "期待した成果が出ない",
    "hard_to_use": "使いにくい",
    "insufficient_support": "定着までの支援が足りない",
    "price_not_worth_it": "価格に見合わない",
    "missing_features": "必要な機能がない",
    "payment_failed": "支払い不能(非自発的解約)",
}
# mix by segment (SMB is price sensitive; enterprise misses features)
CHURN_REASON_MIX = (
    (0.22, 0.22, 0.16, 0.28, 0.12),
    (0.24, 0.20, 0.20, 0.16, 0.20),
    (0.26, 0.14, 0.22, 0.10, 0.28),
)

LEAD_SOURCES = ("web", "seminar", "exhibition", "referral", "ads", "partner")
LEAD_SOURCE_WEIGHTS = (0.32, 0.14, 0.12, 0.12, 0.20, 0.10)
SPEND_CHANNELS = ("web", "seminar", "exhibition", "ads", "partner", "content")

EVENT_NAMES = ("login", "report_viewed", "dashboard_created", "export", "api_call", "invite_user")
EVENT_FEATURES = {
    "login": (None,),
    "report_viewed": ("reports", "health_dashboard", "kpi_overview", "cohort_report"),
    "dashboard_created": ("dashboards",),
    "export": ("csv_export", "excel_export", "pdf_report"),
    "api_call": ("api",),
    "invite_user": ("user_admin",),
}
