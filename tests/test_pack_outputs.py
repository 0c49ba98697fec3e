"""A frozen pack rendered as PDF, XLSX, CSV and JSON, from its content alone."""

import csv
import hashlib
import io
import json
import shlex
import shutil
import subprocess
import sys

import openpyxl
import pytest
from flask_babel import force_locale

from ohpunaises import packs
from ohpunaises.packs import outlines, pdf, svg

HASH = "3f7a9c2e1b0d4e6f8a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef"
# Communes of the Métropole de Lyon, loaded in every test database, with the map's values;
# Saint-Priest is hidden (a small count), Rillieux-la-Pape has no value.
MAP_VALUES = {
    "69123": ("Lyon", 14.2),
    "69266": ("Villeurbanne", 9.8),
    "69259": ("Vénissieux", 21.5),
    "69256": ("Vaulx-en-Velin", 17.0),
    "69029": ("Bron", 6.1),
    "69290": ("Saint-Priest", "hidden"),
    "69286": ("Rillieux-la-Pape", None),
}
PAGES = 7  # cover, summary, targets, map, charts, all indicators, definitions


def cell(value, display=None, suppressed=False) -> dict:
    """A figure as the pack freezes it."""
    return {"value": value, "display": display or str(value), "suppressed": suppressed}


HIDDEN = {"value": None, "display": "< 5", "suppressed": True}


def indicator(id_, label, theme, unit, shape, value, previous, change, parts=()) -> dict:
    """One indicator of the content, as the pack use case writes it."""
    themes = {"activity": "Activité", "outcome": "Résultats", "advocacy": "Plaidoyer"}
    return {
        "id": id_,
        "label": label,
        "theme": theme,
        "theme_label": themes[theme],
        "unit": unit,
        "definition": f"Définition de l'indicateur {label.lower()} : ce qu'il compte.",
        "basis": "Signalements : date d'intervention.",
        "protection": "Effectif décalé, masqué (« < K ») de 1 à K-1.",
        "shape": shape,
        **value,
        "parts": list(parts),
        "previous": previous,
        "change": change,
    }


def part(category, label, value, display=None) -> dict:
    figure = HIDDEN if value is None else cell(value, display)
    return {"category": category, "label": label, "subcategory": None, **figure}


def target(id_, indicator_id, label, status, status_label, share, actual, expected) -> dict:
    return {
        "id": id_,
        "indicator": indicator_id,
        "indicator_label": label,
        "unit": "signalements",
        "deployment_id": 1,
        "deployment": "Métropole de Lyon",
        "territory": None,
        "territory_name": None,
        "agreement": "Convention Métropole 2026",
        "baseline": {"value": 0.0, "date": "2026-01-01", "source": "Début de la convention"},
        "milestones": [
            {"date": "2026-06-30", "value": 400.0},
            {"date": "2026-12-31", "value": 1000.0},
        ],
        "thresholds": {"on_track": 100, "at_risk": 80},
        "as_of": "2026-09-30",
        "counted_from": "2026-01-01",
        "expected": expected,
        "actual": actual,
        "actual_display": str(int(actual)),
        "share": share,
        "status": status,
        "status_label": status_label,
    }


def pack_content(targets=True, map_=True) -> dict:
    """A realistic frozen content: a quarter of the Métropole de Lyon."""
    up = {"percent": 12.2, "direction": "up", "display": "+12,2 %"}
    down = {"percent": -4.0, "direction": "down", "display": "−4 %"}
    none = {"percent": None, "direction": "none", "display": ""}
    indicators = [
        indicator(
            "reports",
            "Signalements",
            "activity",
            "signalements",
            "count",
            cell(1234, "1\u202f234"),
            cell(1100, "1\u202f100"),
            up,
        ),
        indicator(
            "distinct_dwellings",
            "Logements distincts",
            "activity",
            "logements",
            "count",
            cell(1010, "1\u202f010"),
            cell(1052, "1\u202f052"),
            down,
        ),
        indicator(
            "reports_by_action",
            "Signalements par action",
            "activity",
            "signalements",
            "breakdown",
            cell(1234, "1\u202f234"),
            cell(1100, "1\u202f100"),
            up,
            parts=[
                part("diagnosis", "Diagnostic", 820),
                part("heat_treatment", "Traitement thermique", 310),
                part("freezing", "Congélation", None),
                part("social_support", "Accompagnement social", 96),
            ],
        ),
        indicator(
            "resolution_rate",
            "Taux de résolution",
            "outcome",
            "%",
            "share",
            cell(71.5, "71,5"),
            HIDDEN,
            none,
        ),
        indicator(
            "reports_per_10000",
            "Signalements pour 10 000 habitants",
            "advocacy",
            "signalements pour 10 000 habitants",
            "rate",
            cell(9.4, "9,4"),
            cell(8.1, "8,1"),
            up,
        ),
    ]
    territories = []
    for code, (name, value) in MAP_VALUES.items():
        if value == "hidden":
            territories.append({"code": code, "name": name, **HIDDEN})
        elif value is None:
            territories.append({"code": code, "name": name, **cell(None, "n.d.")})
        else:
            territories.append(
                {"code": code, "name": name, **cell(value, f"{value}".replace(".", ","))}
            )
    return {
        "format": 1,
        "title": "Métropole de Lyon — 3e trimestre 2026",
        "deployment": {"id": 1, "name": "Métropole de Lyon"},
        "period": {"start": "2026-07-01", "end": "2026-09-30", "label": "3e trimestre 2026"},
        "previous_period": {
            "start": "2026-04-01",
            "end": "2026-06-30",
            "label": "2e trimestre 2026",
        },
        "frozen_at": "2026-12-03T07:00:00+00:00",
        "author": "coordination@demo.ohpunaises.org",
        "data_version": 42,
        "suppression": {
            "applied": True,
            "k": 5,
            "perturbation": 8,
            "note": "Effectifs de 1 à 4 masqués (« < 5 ») ; les autres légèrement décalés.",
        },
        "indicators": indicators,
        "targets": [
            target(3, "reports", "Signalements", "on_track", "en bonne voie", 104.2, 731.0, 701.6),
            target(
                4,
                "distinct_dwellings",
                "Logements distincts",
                "off_track",
                "en retard",
                61.0,
                428.0,
                701.6,
            ),
        ]
        if targets
        else [],
        "map": {
            "indicator": "reports_per_10000",
            "label": "Signalements pour 10 000 habitants",
            "unit": "pour 10 000 habitants",
            "level": "commune",
            "territories": territories,
        }
        if map_
        else None,
        "previous_pack": None,
        "sources": [
            "Signalements saisis par les structures partenaires (Oh Punaises!)",
            "Population : INSEE, populations légales 2021",
        ],
    }


def pack_meta(status="approved") -> dict:
    approved = status == "approved"
    return {
        "id": 7,
        "status": status,
        "content_hash": HASH,
        "created_by": "coordination@demo.ohpunaises.org",
        "approved_by": "direction@demo.ohpunaises.org" if approved else None,
        "approved_at": "2026-12-03T08:00:00+00:00" if approved else None,
    }


def pdf_text(body: bytes, tmp_path, first=None) -> str:
    """The PDF's text layer, spaces made plain; pdftotext must be installed."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail("pdftotext is missing: install poppler-utils (make install-test).")
    path = tmp_path / "pack.pdf"
    path.write_bytes(body)
    pages = ["-f", str(first), "-l", str(first)] if first else []
    text = subprocess.run([tool, *pages, str(path), "-"], capture_output=True, check=True).stdout
    return " ".join(text.decode("utf-8").replace("\u00a0", " ").replace("\u202f", " ").split())


def page_images(body: bytes, tmp_path) -> list:
    tool = shutil.which("pdftoppm")
    if tool is None:
        pytest.fail("pdftoppm is missing: install poppler-utils (make install-test).")
    path = tmp_path / "pack.pdf"
    path.write_bytes(body)
    subprocess.run([tool, "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    return sorted(tmp_path.glob("page*.png"))


# PDF ------------------------------------------------------------------------------------------


def test_approved_pdf_holds_the_period_targets_indicators_and_map(app_context, tmp_path):
    steps = []
    body = packs.render(pack_content(), pack_meta(), "pdf", steps.append)

    assert body.startswith(b"%PDF")
    assert steps == [10, 60, 85, 100]
    text = pdf_text(body, tmp_path)
    assert "du 1er juillet au 30 septembre 2026" in text
    assert "Approuvé par direction@demo.ohpunaises.org le 3 décembre 2026" in text
    assert "PROJET" not in text
    for label in ("Signalements", "Logements distincts", "Taux de résolution", "Diagnostic"):
        assert label in text
    assert "en bonne voie" in text and "en retard" in text
    summary = pdf_text(body, tmp_path, first=2)
    for words in ("en bonne voie", "à surveiller", "en retard", "non disponible"):
        assert words in summary
    assert HASH in text and HASH[:12] in text
    definitions = pdf_text(body, tmp_path, first=PAGES)
    assert "Règle A Effectif décalé, masqué (« < 5 ») de 1 à 4." in definitions
    assert "Protection : règle A." in definitions
    assert len(page_images(body, tmp_path)) == PAGES


def test_pdf_map_page_has_its_legend_in_the_text_layer(app_context, tmp_path):
    body = packs.render(pack_content(), pack_meta(), "pdf")

    text = pdf_text(body, tmp_path, first=4)
    assert "Carte : Signalements pour 10 000 habitants" in text
    assert "masqué (petit effectif) (1 commune)" in text
    assert "sans donnée (1 commune)" in text
    # Five readable values: one class each, printed as the value itself.
    assert "6,1 (1 commune)" in text and "21,5 (1 commune)" in text
    for words in ("Vénissieux", "21,5", "Saint-Priest", "< 5", "2 km"):
        assert words in text


def test_draft_pdf_says_projet_on_every_page(app_context, tmp_path):
    body = packs.render(pack_content(), pack_meta("draft"), "pdf")

    text = pdf_text(body, tmp_path)
    assert "PROJET — non approuvé : ce dossier ne doit pas être diffusé." in text
    assert "Approuvé par" not in text
    for page in range(1, PAGES + 1):
        assert "PROJET — non approuvé" in pdf_text(body, tmp_path, first=page)


def test_withdrawn_pdf_says_so(app_context, tmp_path):
    body = packs.render(pack_content(), pack_meta("withdrawn"), "pdf")

    text = pdf_text(body, tmp_path)
    assert "Retiré : ce dossier ne doit plus être diffusé." in text
    assert "RETIRÉ" in pdf_text(body, tmp_path, first=PAGES)


def test_pdf_without_targets_or_map_says_so(app_context, tmp_path):
    content = pack_content(targets=False, map_=False)
    content["deployment"] = None

    text = pdf_text(packs.render(content, pack_meta(), "pdf"), tmp_path)
    assert "Ensemble du programme" in text
    assert "Aucune cible" in text
    assert "Aucune carte dans ce dossier." in text


def test_pdf_rendering_fetches_nothing_remote(app_context):
    fetcher = pdf.local_fetcher()

    for url in ("https://example.org/style.css", "http://127.0.0.1/x.png", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="fetches nothing"):
            fetcher.fetch(url)


def test_outlines_are_read_for_the_map_codes_only(app_context):
    drawing = outlines.load([*MAP_VALUES, "99999"])

    assert [outline.code for outline in drawing.outlines] == sorted(MAP_VALUES)
    assert drawing.width == outlines.WIDTH and drawing.height > 0
    for outline in drawing.outlines:
        assert outline.path.startswith("M") and outline.path.endswith("Z")
    assert outlines.load([]).outlines == ()


def test_choropleth_hatches_hidden_territories_and_dots_missing_ones(app_context):
    content = pack_content()
    territories = content["map"]["territories"]
    drawing = outlines.load(row["code"] for row in territories)

    drawn = svg.choropleth(drawing, territories, "Carte", (300, 400))
    assert str(drawn.svg).count('fill-rule="evenodd"') == len(MAP_VALUES)
    assert str(drawn.svg).count('-hatch)" fill-rule') == 1
    assert str(drawn.svg).count('-dots)" fill-rule') == 1
    assert [entry.label for entry in drawn.legend][-2:] == [
        "masqué (petit effectif)",
        "sans donnée",
    ]


def test_targets_are_counted_by_status_in_words(app_context):
    targets = pack_content()["targets"]
    targets.append({**targets[0], "status": "off_track"})
    targets.append({**targets[0], "status": "unavailable"})

    counts = {item["status"]: (item["count"], item["label"]) for item in pdf.status_counts(targets)}
    assert counts == {
        "on_track": (1, "en bonne voie"),
        "at_risk": (0, "à surveiller"),
        "off_track": (2, "en retard"),
        "unavailable": (1, "cible non disponible"),
    }


def test_classes_are_quantiles_with_printed_bounds(app_context):
    few = svg.Classes.of([3.0, 3.0, 7.5])
    assert few.labels() == ["3", "7,5"]

    values = [0.4, 1.2, 2.5, 3.3, 4.8, 6.0, 7.7, 9.1, 12.6, 15.0, 22.4, 30.9]
    classes = svg.Classes.of(values)
    assert len(classes.uppers) == 5
    assert classes.labels()[0].startswith("de 0,4 à")
    assert classes.labels()[-1].endswith("à 30,9")
    assert [classes.index(value) for value in values] == sorted(classes.index(v) for v in values)
    assert {classes.index(value) for value in values} == set(range(5))


# XLSX, CSV, JSON -----------------------------------------------------------------------------


def test_xlsx_has_french_sheets_numbers_and_hidden_cells(app_context):
    body = packs.render(pack_content(), pack_meta(), "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(body))

    assert book.sheetnames == [
        "Synthèse",
        "Indicateurs",
        "Ventilations",
        "Cibles",
        "Territoires",
        "Définitions",
    ]
    sheet = book["Indicateurs"]
    assert sheet.freeze_panes == "A2"
    assert [cell.value for cell in sheet[1]] == [
        "Thème",
        "Indicateur",
        "Identifiant",
        "Valeur",
        "Affiché",
        "Période précédente",
        "Évolution (%)",
        "Sens",
        "Unité",
        "Définition",
    ]
    rows = {row[2]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["reports"][3] == 1234 and rows["reports"][5] == 1100
    assert rows["reports"][6] == pytest.approx(12.2) and rows["reports"][7] == "en hausse"
    assert rows["resolution_rate"][3] == pytest.approx(71.5)
    assert rows["resolution_rate"][5] == "< 5"
    parts = {row[2]: row for row in book["Ventilations"].iter_rows(min_row=2, values_only=True)}
    assert parts["freezing"][5] is None and parts["freezing"][6] == "< 5"
    assert parts["diagnosis"][5] == 820
    places = {row[0]: row for row in book["Territoires"].iter_rows(min_row=2, values_only=True)}
    assert places["69290"] == ("69290", "Saint-Priest", None, "< 5")
    assert places["69259"][2] == pytest.approx(21.5)
    targets = list(book["Cibles"].iter_rows(min_row=2, values_only=True))
    headers = [cell.value for cell in book["Cibles"][1]]
    assert [row[headers.index("Statut")] for row in targets] == ["en bonne voie", "en retard"]
    summary = {row[0]: row[1] for row in book["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert summary["Empreinte (SHA-256)"] == HASH
    assert summary["Approbation"].startswith("Approuvé par direction@")
    assert book["Indicateurs"].column_dimensions["J"].width > 30


def test_csv_is_french_excel_csv_with_every_section(app_context):
    body = packs.render(pack_content(), pack_meta(), "csv")

    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:9] == [
        "Section",
        "Indicateur",
        "Identifiant",
        "Catégorie",
        "Valeur",
        "Affiché",
        "Période précédente",
        "Évolution (%)",
        "Unité",
    ]
    assert {row[0] for row in rows[1:]} == {"Indicateur", "Ventilation", "Cible", "Territoire"}
    by_key = {(row[0], row[2], row[3]): row for row in rows[1:]}
    assert by_key[("Indicateur", "reports", "")][4:8] == ["1234", "1\u202f234", "1100", "12,2"]
    assert by_key[("Ventilation", "reports_by_action", "freezing")][4:6] == ["", "< 5"]
    assert by_key[("Territoire", "reports_per_10000", "69259")][4] == "21,5"
    assert by_key[("Territoire", "reports_per_10000", "69290")][4:6] == ["", "< 5"]
    header = rows[0]
    targets = [row for row in rows if row[0] == "Cible"]
    assert [row[header.index("Statut")] for row in targets] == ["en bonne voie", "en retard"]
    assert targets[0][header.index("Attendu")] == "701,6"


def test_free_text_never_becomes_a_spreadsheet_formula(app_context):
    content = pack_content()
    content["targets"][0]["agreement"] = '=HYPERLINK("http://example.org","Convention")'

    book = openpyxl.load_workbook(io.BytesIO(packs.render(content, pack_meta(), "xlsx")))
    agreement = book["Cibles"]["C2"]
    assert agreement.data_type == "s" and agreement.value.startswith("=HYPERLINK")
    text = packs.render(content, pack_meta(), "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    target = next(row for row in rows if row[0] == "Cible")
    assert target[rows[0].index("Convention")].startswith("'=HYPERLINK(")


def test_french_spacing_keeps_punctuation_with_its_word():
    assert packs.french_spacing("Source : INSEE ; « < 5 » ?") == (
        "Source\u00a0: INSEE\u202f; «\u00a0<\u00a05\u00a0»\u202f?"
    )


def test_hash_recipe_printed_in_the_pdf_recomputes_the_hash_from_the_json(app_context, tmp_path):
    content = pack_content()
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    meta = {**pack_meta(), "content_hash": hashlib.sha256(canonical.encode()).hexdigest()}
    name = packs.filename(content, "json")
    (tmp_path / name).write_bytes(packs.render(content, meta, "json"))

    command = pdf.verify_command(name)
    assert "python3 -c" in pdf_text(packs.render(content, meta, "pdf"), tmp_path, first=1)
    python = shlex.quote(sys.executable)
    run = subprocess.run(
        command.replace("python3", python, 1), shell=True, cwd=tmp_path, capture_output=True
    )
    assert run.stdout.decode().strip() == meta["content_hash"], run.stderr


def test_json_round_trips_content_and_meta(app_context):
    content, meta = pack_content(), pack_meta()

    body = packs.render(content, meta, "json")
    assert json.loads(body.decode("utf-8")) == {"content": content, "meta": meta}
    assert "Métropole" in body.decode("utf-8")  # not escaped


def test_filenames_are_ascii_slugs_of_place_and_period(app_context):
    content = pack_content()
    assert packs.filename(content, "pdf") == "pack-metropole-de-lyon-2026-t3.pdf"
    content["deployment"] = None
    content["period"] = {"start": "2026-07-01", "end": "2026-07-31", "label": "juillet 2026"}
    assert packs.filename(content, "csv") == "pack-ensemble-du-programme-2026-07.csv"
    content["period"] = {"start": "2026-01-01", "end": "2026-12-31", "label": "2026"}
    assert packs.filename(content, "xlsx") == "pack-ensemble-du-programme-2026.xlsx"


def test_periods_and_days_read_as_french_writes_them(app_context):
    with force_locale("fr"):
        assert packs.period_words({"start": "2026-07-01", "end": "2026-07-31"}) == (
            "du 1er au 31\u00a0juillet 2026"
        )
        assert packs.period_words({"start": "2025-12-01", "end": "2026-02-28"}) == (
            "du 1er\u00a0décembre 2025 au 28\u00a0février 2026"
        )


def test_unknown_format_is_refused(app_context):
    with pytest.raises(ValueError, match="Unknown pack format"):
        packs.render(pack_content(), pack_meta(), "docx")
