"""The catalogues: English complete, faithful to its placeholders, and served to the pages;
French, the source, with its plural forms."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from .conftest import signed_in_client

CATALOGUE = (
    Path(__file__).resolve().parent.parent
    / "ohpunaises"
    / "translations"
    / "en"
    / "LC_MESSAGES"
    / "messages.po"
)
NAMED_PERCENT = re.compile(r"%\((\w+)\)([-#0 +]?\d*(?:\.\d+)?[diouxXeEfFgGcrs])")
BRACES = re.compile(r"\{(\w+)\}")


def read_catalogue():
    with CATALOGUE.open("rb") as file:
        return read_po(file, locale="en")


def messages():
    """Every entry but the header, as (msgid, [msgstr, ...])."""
    for message in read_catalogue():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        yield message, ids, strings


def placeholders(text: str) -> set[str]:
    named = {f"%({name}){spec}" for name, spec in NAMED_PERCENT.findall(text)}
    return named | {f"{{{name}}}" for name in BRACES.findall(text)}


def test_every_entry_is_translated():
    untranslated = [ids[0] for _message, ids, strings in messages() if not all(strings)]
    assert untranslated == [], f"{len(untranslated)} entries have an empty msgstr"


def test_no_entry_is_fuzzy():
    fuzzy = [ids[0] for message, ids, _strings in messages() if message.fuzzy]
    assert fuzzy == []


def test_translations_keep_the_placeholders_of_their_source():
    mismatched = []
    for _message, ids, strings in messages():
        expected = set().union(*(placeholders(msgid) for msgid in ids))
        for string in strings:
            if string and placeholders(string) != expected:
                mismatched.append((ids[0], string))
    assert mismatched == []


def test_units_compared_by_the_pages_keep_their_symbol():
    """indicators.html tests `unit == '%'`: the unit must read the same in every language."""
    by_id = {message.id: message.string for message in read_catalogue() if message.id}
    assert by_id["%"] == "%"
    assert by_id["€"] == "€"


@pytest.mark.parametrize(
    ("headers", "lang", "expected", "absent"),
    [
        ({}, "fr", ["<h1>Connexion</h1>", "Adresse électronique", "Se connecter"], "Log in"),
        (
            {"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"},
            "en",
            ["<h1>Log in</h1>", "Email address", "Password", "Skip to content"],
            "Adresse électronique",
        ),
        ({"Accept-Language": "de-DE,de;q=0.9"}, "fr", ["<h1>Connexion</h1>"], "Log in"),
    ],
    ids=["default", "english", "unsupported"],
)
def test_the_login_page_answers_in_the_language_asked(client, headers, lang, expected, absent):
    response = client.get("/connexion", headers=headers)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    for text in expected:
        assert text in page
    assert absent not in page


def test_the_catalogue_compiles_without_a_format_error():
    """pybabel compile refuses a catalogue whose placeholders differ (make install runs it):
    a '%' followed by a space and a letter in a French sentence reads as a placeholder."""
    problems = [(message.id, errors) for message, errors in read_catalogue().check()]
    assert problems == []


def test_french_counts_follow_french_rules(client, accounts):
    """French, the source, has a catalogue of its plural forms only: none is left empty,
    none differs from its source, and a page counting nothing reads "0 personne"."""
    path = CATALOGUE.parent.parent.parent / "fr" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        french = read_po(file, locale="fr")
    plurals = [message for message in french if isinstance(message.id, tuple)]
    assert plurals
    for message in plurals:
        singular, plural = message.id
        assert message.string == (singular,) + (plural,) * (french.num_plurals - 1), singular
    assert [m.id for m in french if m.id and not isinstance(m.id, tuple) and m.string] == []

    coordinator = signed_in_client(client.application, accounts["coordinator"].user_id)
    page = coordinator.get("/utilisateurs?q=personne-inconnue").get_data(as_text=True)
    assert "0 personne<" in page and "0 personnes" not in page
