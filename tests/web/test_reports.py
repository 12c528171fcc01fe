"""QBR report: HTML and a PDF with Japanese text (fpdf2 + IPA Gothic)."""

from __future__ import annotations

from tests.web.fixtures import WebWorld


def test_qbr_html_and_pdf(world: WebWorld) -> None:
    client = world.client("viewer")
    html = client.get(f"/accounts/{world.account_id}/report")
    assert html.status_code == 200 and "ビジネスレビュー" in html.text and "¥70,000" in html.text
    english = client.get(f"/accounts/{world.account_id}/report", params={"lang": "en"})
    assert "Business review" in english.text
    pdf = client.get(f"/accounts/{world.account_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # The Japanese TrueType font is embedded (subset), so the text renders on any machine.
    assert b"/FontFile2" in pdf.content and b"IPAGothic" in pdf.content
    assert len(pdf.content) > 5_000
