"""Deployments in the browser (/deploiements), without JavaScript: the list, the form and its
territory picker, each deployment's page with the people attached to it."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from ohpunaises.bootstrap import DEFAULT_DEPLOYMENT
from ohpunaises.extensions import db
from ohpunaises.models import AuditEvent, Deployment, Structure, User

from .conftest import make_user, signed_in_client
from .test_deployments import drop_opened_deployments

TODAY = dt.date.today().isoformat()


@pytest.fixture(autouse=True)
def _opened_deployments_removed(app):
    yield
    drop_opened_deployments(app)


@pytest.fixture
def web(app, accounts):
    """web(key): a client signed in by its session as the `accounts` user of that key."""

    def signed_in(key):
        return signed_in_client(app, accounts[key].user_id)

    return signed_in


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)


def post_form(client, url, fields):
    token = csrf_of(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def checked(page: str) -> list[str]:
    """The territory codes the page shows checked."""
    return re.findall(r'name="territories" value="([^"]+)" checked', page)


def offered(page: str) -> list[str]:
    """The territory codes the page offers unchecked."""
    return re.findall(r'name="territories" value="([^"]+)">', page)


def deployment_named(app, name):
    with app.app_context():
        found = db.session.scalar(sa.select(Deployment).where(Deployment.name == name))
        result = (found.id, sorted(t.code for t in found.territories)) if found else None
        db.session.remove()
    return result


def lyon_id(app) -> int:
    return deployment_named(app, DEFAULT_DEPLOYMENT)[0]


def audited(app, action) -> int:
    with app.app_context():
        query = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action)
        count = db.session.scalar(query)
        db.session.remove()
    return count


def test_a_coordinator_lists_deployments_and_an_agent_may_not(web, app):
    coordinator = web("coordinator")
    page = coordinator.get("/deploiements")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/deploiements/{lyon_id(app)}">{DEFAULT_DEPLOYMENT}</a>' in html
    assert "Ouvrir un déploiement" in html
    assert 'href="/deploiements">Déploiements</a>' in coordinator.get("/").get_data(as_text=True)
    for key in ("agent", "partner_admin", "institution", "evaluator"):
        client = web(key)
        assert client.get("/deploiements").status_code == 403, key
        assert client.get("/deploiements/nouveau").status_code == 403, key
        assert ">Déploiements</a>" not in client.get("/").get_data(as_text=True), key


def test_a_deployment_s_page_shows_its_territories_structures_and_people(web, app):
    page = web("coordinator").get(f"/deploiements/{lyon_id(app)}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Métropole de Lyon</h1>" in html
    assert "Vénissieux" in html and "69259" in html
    assert ">Structure A</a> — Lyon" in html and ">Structure B</a> — Villeurbanne" in html
    assert "institution@example.org" in html  # attachable
    assert web("coordinator").get("/deploiements/999999").status_code == 404


def test_the_picker_filters_and_keeps_the_chosen_territories(web):
    client = web("coordinator")
    html = client.get("/deploiements/nouveau").get_data(as_text=True)
    assert "69123" in offered(html) and "69381" in offered(html)
    assert "déjà dans « Métropole de Lyon »" in html

    url = "/deploiements/nouveau?niveau=arrondissement&parent=69123&territories=69266&action=filter"
    html = client.get(url).get_data(as_text=True)
    assert checked(html) == ["69266"]
    assert len(offered(html)) == 9 and "69259" not in offered(html)

    token = csrf_of(html)
    form = {"csrf_token": token, "name": "Essai", "started_on": TODAY, "territories": ["69266"]}
    added = client.post(
        "/deploiements/nouveau", data={**form, "niveau": "arrondissement", "action": "add_shown"}
    )
    assert added.status_code == 200
    html = added.get_data(as_text=True)
    assert len(checked(html)) == 10 and checked(html)[0] == "69266"
    assert 'value="Essai"' in html
    searched = client.post(
        "/deploiements/nouveau", data={**form, "q": "venis", "action": "filter"}
    ).get_data(as_text=True)
    assert offered(searched) == ["69259"]
    removed = client.post(
        "/deploiements/nouveau",
        data={**form, "territories": checked(html), "niveau": "arrondissement"}
        | {"action": "remove_shown"},
    ).get_data(as_text=True)
    assert checked(removed) == ["69266"]
    assert deployment_named(client.application, "Essai") is None


def test_a_deployment_is_opened_through_the_form(web, app):
    client = web("coordinator")
    fields = {
        "name": "Lyon centre (arrondissements)",
        "started_on": "2026-09-01",
        "territories": ["69381", "69382"],
        "action": "save",
    }
    response = post_form(client, "/deploiements/nouveau", fields)
    assert response.status_code == 302
    deployment_id, codes = deployment_named(app, "Lyon centre (arrondissements)")
    assert response.headers["Location"] == f"/deploiements/{deployment_id}"
    assert codes == ["69381", "69382"]
    assert audited(app, "deployment.create") == 1
    page = client.get(f"/deploiements/{deployment_id}").get_data(as_text=True)
    assert "Déploiement ouvert : Lyon centre (arrondissements)." in page
    assert "Lyon 1er Arrondissement" in page

    edit = f"/deploiements/{deployment_id}/modifier"
    form = client.get(edit).get_data(as_text=True)
    assert checked(form) == ["69381", "69382"]
    assert "déjà dans" not in form.split("Chercher des territoires")[0]
    response = post_form(
        client, edit, {"name": "Lyon centre", "started_on": "2026-09-02", "territories": "69383"}
    )
    assert response.status_code == 302
    assert deployment_named(app, "Lyon centre")[1] == ["69383"]
    assert audited(app, "deployment.update") == 1


@pytest.mark.parametrize(
    ("fields", "status", "field", "message"),
    [
        ({"territories": "69123"}, 409, "territories", "Déjà dans le déploiement « Métropole"),
        ({"territories": "99999"}, 422, "territories", "Territoire(s) inconnu(s) : 99999."),
        ({"territories": []}, 422, "territories", "Choisissez au moins un territoire."),
        ({"name": "métropole de LYON"}, 409, "name", "Un déploiement s&#39;appelle déjà"),
        ({"name": ""}, 422, "name", "Champ obligatoire."),
        ({"started_on": "31/02/2026"}, 422, "started_on", "Date invalide"),
        ({"name": "x" * 201}, 422, "name", "200 caractères au plus."),
    ],
)
def test_a_refused_form_says_why_beside_the_field_and_changes_nothing(
    web, app, fields, status, field, message
):
    client = web("coordinator")
    data = {"name": "Nouveau", "started_on": TODAY, "territories": "69381", **fields}
    response = post_form(client, "/deploiements/nouveau", data)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    error = re.search(rf'<p class="error-message" id="err-{field}">([^<]*)</p>', html)
    assert error and message in error.group(1)
    assert "pas été enregistré : corrigez les champs signalés." in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Deployment.id))) == 1
    assert audited(app, "deployment.create") == 0


def test_people_are_attached_and_detached_from_the_page(web, app, accounts):
    client = web("coordinator")
    url = f"/deploiements/{lyon_id(app)}"
    institution = accounts["institution"].user_id
    response = post_form(client, f"{url}/personnes", {"user_ids": str(institution)})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Rattaché(s) : institution@example.org." in page
    assert f"/personnes/{institution}/detacher" in page
    with app.app_context():
        assert [d.name for d in db.session.get(User, institution).deployments] == [
            DEFAULT_DEPLOYMENT
        ]

    agent = accounts["agent"].user_id
    refused = post_form(client, f"{url}/personnes", {"user_ids": str(agent)})
    assert refused.status_code == 422
    assert "Seuls les comptes sans structure" in refused.get_data(as_text=True)
    nonsense = post_form(client, f"{url}/personnes", {"user_ids": "abc"})
    assert nonsense.status_code == 422

    response = post_form(client, f"{url}/personnes/{institution}/detacher", {})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, institution).deployments == []
    assert audited(app, "deployment.attach") == 1
    assert audited(app, "deployment.detach") == 1
    again = post_form(client, f"{url}/personnes/{institution}/detacher", {})
    assert again.status_code == 404
    assert "n&#39;est pas rattaché" in again.get_data(as_text=True)


def test_an_attached_coordinator_sees_only_their_deployments(web, app, accounts):
    with app.app_context():
        other = Deployment(name="Ailleurs", started_on=dt.date(2026, 1, 1))
        coordinator = make_user("coord-lyon@example.org", "coordinator")
        lyon = db.session.scalar(sa.select(Deployment).where(Deployment.name == DEFAULT_DEPLOYMENT))
        coordinator.deployments = [lyon]
        db.session.add(other)
        db.session.commit()
        ids = coordinator.id, other.id, lyon.id
    client = signed_in_client(app, ids[0])
    listing = client.get("/deploiements").get_data(as_text=True)
    assert DEFAULT_DEPLOYMENT in listing and "Ailleurs" not in listing
    assert client.get(f"/deploiements/{ids[1]}").status_code == 404
    assert client.get(f"/deploiements/{ids[1]}/modifier").status_code == 404
    assert client.get(f"/deploiements/{ids[2]}").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Structure.id))) == 2
