"""The health probe says whether the database answers."""


def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(database_kind, make_app, tmp_path):
    unreachable = {
        "spatialite": f"sqlite:///{tmp_path}/missing/folder/db.sqlite",
        "postgis": "postgresql://postgres@127.0.0.1:1/nowhere",
    }[database_kind]
    app = make_app(unreachable)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}
