"""The renewal center, the renewals list and the expansion pipeline as a CS team uses them, through the app
``kizuna serve`` builds on a demo company: a forecast call and an outcome recorded from the page change the totals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kizuna.platform.clock import today
from kizuna.renewals import service
from kizuna.renewals.models import Renewal
from tests.segments.portfolio_demo import PortfolioDemo, csrf, portfolio_demo, text_of, words_problems, yen

HORIZON = 365


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortfolioDemo]:
    yield from portfolio_demo(Path(tmp_path_factory.mktemp("renewal-pages")))


def _open_renewal(demo: PortfolioDemo) -> Renewal:
    """An uncalled renewal in the horizon whose customer has not given notice."""
    day = today()
    with demo.runtime.transaction() as session:
        rows = service.upcoming(session, today=day, horizon_days=HORIZON)
        row = next(r for r in rows if r["csm_call"] is None and not r["notice_given"] and r["arr_minor"] > 0)
        renewal = session.get(Renewal, row["renewal_id"])
        assert renewal is not None
        session.expunge(renewal)
        return renewal


def test_a_forecast_call_from_the_page_changes_the_csm_forecast(demo: PortfolioDemo) -> None:
    client = demo.client
    page = client.get(f"/renewal-center?horizon_days={HORIZON}")
    assert page.status_code == 200
    before = {k: yen(page.text, k) for k in ("tile-up", "model-gross", "csm-gross", "model-net", "csm-net")}
    assert before["tile-up"] > 0 and before["csm-gross"] <= before["csm-net"]
    renewal = _open_renewal(demo)
    p_before = renewal.model_probability if renewal.model_probability is not None else 0.75

    called = client.post(
        f"/renewal-center/{renewal.id}/call",
        data={"call": "lost", "note": "先方の予算削減", "csrf_token": csrf(page.text)},
        headers={"referer": f"http://testserver/renewal-center?horizon_days={HORIZON}"},
    )
    assert called.status_code == 303 and called.headers["location"].startswith(
        f"/renewal-center?horizon_days={HORIZON}"
    )
    after_page = client.get(called.headers["location"])
    after = {k: yen(after_page.text, k) for k in before}
    # the CSM's gross forecast loses this renewal's expected ARR; the model's does not move
    assert before["csm-gross"] - after["csm-gross"] == pytest.approx(renewal.arr_minor * p_before, abs=2)
    assert after["model-gross"] == before["model-gross"] and after["tile-up"] == before["tile-up"]
    assert "見込みを保存しました" in after_page.text
    row = after_page.text.split(f'id="renewal-{renewal.id}"')[1].split("</tr>")[0]
    assert '<option value="lost" selected>解約見込み</option>' in row and "先方の予算削減" in row

    # an outcome recorded from the page takes the renewal out of the upcoming ones, into the outcomes
    count_before = text_of(after_page.text).count("あと ")
    recorded = client.post(
        f"/renewal-center/{renewal.id}/outcome",
        data={"outcome": "churned", "csrf_token": csrf(after_page.text)},
        headers={"referer": f"http://testserver/renewal-center?horizon_days={HORIZON}"},
    )
    assert recorded.status_code == 303
    final = client.get(recorded.headers["location"])
    assert f'id="renewal-{renewal.id}"' not in final.text
    assert yen(final.text, "tile-up") == before["tile-up"] - renewal.arr_minor
    assert text_of(final.text).count("あと ") == count_before - 1
    assert "結果を記録しました" in final.text
    with demo.runtime.transaction() as session:
        stored = session.scalar(select(Renewal).where(Renewal.id == renewal.id))
        assert stored is not None and (stored.outcome, stored.outcome_arr_minor, stored.csm_call) == (
            "churned",
            0,
            "lost",
        )


def test_renewals_list_agrees_with_the_renewal_center(demo: PortfolioDemo) -> None:
    center = demo.client.get(f"/renewal-center?horizon_days={HORIZON}").text
    listed = demo.client.get(f"/renewals?horizon_days={HORIZON}").text
    assert yen(listed, "tile-up") == yen(center, "tile-up")
    with demo.runtime.transaction() as session:
        rows = service.upcoming(session, today=today(), horizon_days=HORIZON)
    assert text_of(listed).count("あと ") == min(len(rows), 50)
    assert all(r["account_name"] in listed for r in rows[:50])
    csv = demo.client.get(f"/renewals?horizon_days={HORIZON}&format=csv")
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == len(rows) + 1


def test_paging_keeps_the_filters(demo: PortfolioDemo) -> None:
    page = demo.client.get(f"/renewal-center?horizon_days={HORIZON}&page=999")
    assert page.status_code == 200  # past the last page: the last page
    empty_owner = demo.client.get(f"/renewals?horizon_days={HORIZON}&owner_id=")
    assert empty_owner.status_code == 200


def test_expansion_pipeline_speaks_in_words(demo: PortfolioDemo) -> None:
    from kizuna.renewals import expansion

    with demo.runtime.transaction() as session:
        pipeline = expansion.expansion_pipeline(session, limit=50)
    signals = {s["signal"] for o in pipeline["open"] for s in o["signals"]}
    assert signals, "the demo opens expansion opportunities from signals"
    page = demo.client.get("/expansion-pipeline")
    text = text_of(page.text)
    assert "エクスパンション・パイプライン" in text and "アップセル" in text
    assert f"{pipeline['open_total']} 件" in text
    sentences = {
        "seat_utilisation": "席中",
        "plan_limit": "席を超えて利用中",
        "usage_growth": "直近30日の利用がその前の30日より",
        "addon_interest": "顧客の声で",
    }
    for name in signals:
        assert sentences[name] in text, name
        assert name not in text  # the identifier stays in the links, never in the words
    only = demo.client.get("/expansion-pipeline?kind=upsell&signal=")
    assert only.status_code == 200 and "クロスセル</td>" not in only.text


@pytest.mark.parametrize(
    "path", ["/renewal-center", "/renewals", "/expansion-pipeline", "/expansion", "/renewal-center?horizon_days=365"]
)
def test_no_keys_or_identifiers_on_the_pages(demo: PortfolioDemo, path: str) -> None:
    assert words_problems(demo.client, path) == []
