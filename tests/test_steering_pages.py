"""`/pilotage` in the browser's place (real requests through the app): a coordinator sets a
target with the form, freezes a pack and has it approved; an institution then reads it."""

import re

import sqlalchemy as sa

from ohpunaises.extensions import db
from ohpunaises.models import Pack, Target

from .conftest import make_user, signed_in_client
from .test_packs import reported  # noqa: F401  (fixture)
from .test_people import send_form, text_of
from .test_pipeline import inside


def client_of(app, accounts, role):
    return signed_in_client(app, accounts[role].user_id)


def target_form(deployment_id, **changes) -> dict:
    return {
        "indicator": "reports",
        "deployment_id": str(deployment_id),
        "territory": "",
        "agreement": "Convention Métropole 2026",
        "baseline_value": "0",
        "baseline_on": "2026-01-01",
        "baseline_source": "Début de la convention",
        "milestone_date_0": "2026-06-30",
        "milestone_value_0": "30",
        "milestone_date_1": "2026-12-31",
        "milestone_value_1": "60,5",
        "on_track_percent": "100",
        "at_risk_percent": "80",
        **changes,
    }


def test_a_coordinator_sets_a_target_with_the_form_and_reads_its_status(app, accounts, reported):  # noqa: F811
    browser = client_of(app, accounts, "coordinator")
    sent = send_form(browser, "/cibles/nouvelle", target_form(reported))
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/pilotage#cibles")
    with inside(app):
        target = db.session.scalar(sa.select(Target))
        assert [m.value for m in target.milestones] == [30, 60.5]
    page = text_of(browser.get("/pilotage"))
    assert "Convention Métropole 2026" in page
    assert re.search(r"badge-target-(on_track|at_risk|off_track)", page)
    edit = browser.get(f"/cibles/{target.id}")
    assert 'value="60,5"' in text_of(edit)


def test_a_wrong_target_comes_back_with_the_message_beside_its_field(app, accounts, reported):  # noqa: F811
    browser = client_of(app, accounts, "coordinator")
    form = target_form(reported, baseline_value="douze", milestone_value_1="", agreement="")
    answer = send_form(browser, "/cibles/nouvelle", form)
    assert answer.status_code == 422
    page = text_of(answer)
    assert "Nombre attendu, par exemple 1200 ou 12,5." in page
    assert "Donnez la date et la valeur de ce jalon." in page
    assert "Champ obligatoire." in page
    early = target_form(reported, milestone_date_0="2025-06-30", milestone_date_1="")
    early.pop("milestone_value_1")
    refused = send_form(browser, "/cibles/nouvelle", early)
    assert refused.status_code == 422
    assert "Chaque jalon tombe après la date de la valeur de référence." in text_of(refused)
    with inside(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Target)) == 0


def test_a_pack_is_frozen_approved_by_another_coordinator_then_read_by_an_institution(
    app,
    accounts,
    reported,  # noqa: F811
):
    author = client_of(app, accounts, "coordinator")
    institution = client_of(app, accounts, "institution")
    sent = send_form(
        author, "/packs", {"deployment_id": str(reported), "periode": "2026-T1"}, "/pilotage"
    )
    assert sent.status_code == 302
    pack_path = sent.headers["Location"]
    with inside(app):
        content_hash = db.session.scalar(sa.select(Pack.content_hash))
        second = make_user("coordination-2@example.org", "coordinator")
        db.session.commit()
        second_id = second.id
    page = text_of(author.get(pack_path))
    assert "1er trimestre 2026" in page and content_hash in page and "vérifiée" in page
    assert "Approuver ce pack" in page
    assert institution.get(pack_path).status_code == 404
    refused = send_form(author, f"{pack_path}/approuver", {}, pack_path)
    assert "autre membre de la coordination" in text_of(author.get(pack_path))
    assert refused.status_code == 302
    approver = signed_in_client(app, second_id)
    send_form(approver, f"{pack_path}/approuver", {}, pack_path)
    read = text_of(institution.get(pack_path))
    assert "approuvé le" in read and "coordination-2@example.org" in read
    assert "Différences avec les chiffres" not in read
    listed = text_of(institution.get("/pilotage"))
    assert pack_path in listed and "Figer un pack" not in listed
    csv = institution.get(f"{pack_path}/pack.csv")
    assert csv.status_code == 200 and csv.data.startswith(b"\xef\xbb\xbf")
    waiting = institution.get(f"{pack_path}/pack.pdf")
    assert waiting.status_code in (200, 202)
    if waiting.status_code == 202:
        assert waiting.headers["Refresh"] and "en préparation" in text_of(waiting)


def test_freezing_asks_for_a_period(app, accounts, reported):  # noqa: F811
    browser = client_of(app, accounts, "coordinator")
    answer = send_form(
        browser, "/packs", {"deployment_id": str(reported), "periode": ""}, "/pilotage"
    )
    assert answer.status_code == 422
    assert "Choisissez un mois, un trimestre ou une année." in text_of(answer)
    unknown = send_form(
        browser, "/packs", {"deployment_id": "x", "periode": "2026-T9"}, "/pilotage"
    )
    assert unknown.status_code == 422
    page = text_of(unknown)
    assert "Choix invalide." in page and "Période inconnue" in page


def test_agents_have_no_steering_page(app, accounts):
    assert client_of(app, accounts, "agent").get("/pilotage").status_code == 403
    assert client_of(app, accounts, "institution").get("/cibles/nouvelle").status_code == 403
