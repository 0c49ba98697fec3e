"""The audit log: recorded by exports and retention, read by coordinators on /journal."""

import pytest

from ohpunaises import audit
from ohpunaises.extensions import db

from .conftest import make_user
from .test_web_session import sign_in


def add_events(app, count):
    with app.app_context():
        user = make_user("coord@example.org", "coordinator")
        for number in range(count):
            audit.record(user, "export.reports", f"export-{number:03d}", {"rows": number})
        db.session.commit()


def test_record_keeps_who_what_and_the_details(app):
    with app.app_context():
        user = make_user("coord@example.org", "coordinator")
        event = audit.record(user, "report.update", "abc", {"fields": ["status"]})
        db.session.commit()
        assert (event.actor, event.user_id, event.action) == (user.email, user.id, "report.update")
        assert event.details == {"fields": ["status"]}
        assert event.at is not None


def test_the_log_reads_newest_first_by_pages(app):
    add_events(app, audit.PAGE_SIZE + 3)
    with app.app_context():
        first, pages = audit.page(1)
        second, _ = audit.page(2)
    assert pages == 2
    assert first[0].target == f"export-{audit.PAGE_SIZE + 2:03d}"
    assert len(second) == 3
    assert second[-1].target == "export-000"


def test_coordinators_read_the_log_on_a_page(app, client):
    add_events(app, audit.PAGE_SIZE + 1)
    sign_in(client, "coord@example.org")
    page = client.get("/journal").get_data(as_text=True)
    assert "export-050" in page
    assert "export-000" not in page
    assert "Plus anciens" in page
    assert "export-000" in client.get("/journal?page=2").get_data(as_text=True)
    assert client.get("/journal?page=abc").status_code == 200


@pytest.mark.parametrize("role", ["agent", "partner_admin", "institution", "evaluator"])
def test_other_roles_may_not_read_the_log(app, client, role):
    with app.app_context():
        make_user("someone@example.org", role)
        db.session.commit()
    sign_in(client, "someone@example.org")
    assert client.get("/journal").status_code == 403
