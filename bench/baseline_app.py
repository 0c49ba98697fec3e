"""The bare stack the ingestion benchmark sets the product against: Flask and one INSERT.

    DATABASE_URL=postgresql://… gunicorn -c gunicorn.conf.py --pythonpath bench baseline_app:app

`POST /api/v1/reports` stores the JSON body as it came, with its `id`, in one plain table
(`bench/ingestion.py` creates it) and answers 201; no authentication, no validation, no
placement. Each gunicorn thread keeps its own PostgreSQL connection, in autocommit, so that a
request costs exactly one INSERT. `/healthz` answers without touching the database.
"""

import os
import threading

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb

TABLE = "bench_baseline_reports"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(id serial PRIMARY KEY, client_id uuid NOT NULL, body jsonb NOT NULL)"
)
INSERT = f"INSERT INTO {TABLE} (client_id, body) VALUES (%s, %s) RETURNING id"

app = Flask(__name__)
_local = threading.local()


def connection() -> psycopg.Connection:
    found = getattr(_local, "connection", None)
    if found is None or found.closed:
        found = _local.connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return found


@app.post("/api/v1/reports")
def create_report():
    body = request.get_json()
    (row_id,) = connection().execute(INSERT, (body["id"], Jsonb(body))).fetchone()
    return jsonify(id=body["id"], row=row_id), 201


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")
