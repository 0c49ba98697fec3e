"""Outgoing mail: rendered in the recipient's language, sent through a real SMTP server (plain,
authenticated, implicit TLS) or written to instance/mail/, failing in plain French."""

import datetime as dt
import email.policy
import re
import socket
import ssl
import subprocess
import threading
import time
from email.parser import BytesParser
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from ohpunaises import mail
from ohpunaises.config import ConfigError, load_settings
from ohpunaises.errors import DomainError

from . import smtp
from .smtp import free_port

smtp_server = smtp.smtp_server  # the fixture, used by name

SENDER = "Oh Punaises! <ne-pas-repondre@ohpunaises.example.org>"
RECIPIENT = "personne@example.org"
LINK = "https://ohpunaises.example.org/invitation/jeton-secret-0123456789?a=1&b=2"
# 13:30 UTC on a December day: 14:30 in Paris.
EXPIRES = dt.datetime(2026, 12, 9, 13, 30, tzinfo=dt.UTC)
INVITATION = {
    "inviter": "Jeanne Martin",
    "role": "Agent de terrain",
    "structure": "Association Habitat",
    "link": LINK,
    "expires": EXPIRES,
}


def invitation(language="fr", **context) -> mail.Message:
    return mail.compose("invitation", RECIPIENT, language, **{**INVITATION, **context})


def flat(body: str) -> str:
    """The body on one line: the text part is wrapped at 72 columns."""
    return " ".join(body.split())


def parts(message):
    """The text and HTML bodies of a received message, in their order."""
    return list(message.iter_parts())


# Composing ------------------------------------------------------------------------------------


def test_an_invitation_is_french_by_default_and_says_who_invites_as_what(make_app):
    with make_app().app_context():
        message = invitation()
    assert message.subject == "Invitation à rejoindre Oh Punaises!"
    assert message.language == "fr" and message.template == "invitation"
    for body in (flat(message.text), flat(message.html)):
        assert "Jeanne Martin vous invite" in body
        assert "Agent de terrain, pour Association Habitat" in body
        assert "9 décembre 2026 à 14:30 (heure de Paris)" in body
        assert "Si vous n'attendiez pas cette invitation" in body
        assert "a cooperative programme" not in body
    assert LINK in message.text
    assert f'href="{LINK.replace("&", "&amp;")}"' in message.html


def test_english_is_rendered_under_the_english_locale(make_app):
    with make_app().app_context():
        message = invitation("en")
    assert message.language == "en"
    assert '<html lang="en">' in message.html
    for body in (flat(message.text), flat(message.html)):
        assert "a cooperative programme against bedbugs." in body
        assert "December 9, 2026" in body


def test_an_unknown_language_falls_back_to_french(make_app):
    with make_app().app_context():
        message = invitation("de")
    assert message.language == "fr"
    assert "9 décembre 2026" in message.text


def test_an_invitation_without_inviter_or_structure_still_reads(make_app):
    with make_app().app_context():
        message = invitation(inviter=None, structure=None)
    assert "Vous êtes invité·e à rejoindre la plateforme Oh Punaises!" in flat(message.text)
    assert "Votre rôle : Agent de terrain." in message.text
    assert "None" not in message.text + message.html


def test_a_password_reset_is_valid_one_hour_and_changes_nothing_if_ignored(make_app):
    link = "https://ohpunaises.example.org/mot-de-passe/jeton"
    with make_app().app_context():
        message = mail.compose("password_reset", RECIPIENT, "fr", link=link, expires=EXPIRES)
    assert message.subject == "Nouveau mot de passe pour Oh Punaises!"
    for body in (flat(message.text), flat(message.html)):
        assert link in body
        assert "valable une heure, jusqu'au 9 décembre 2026 à 14:30" in body
        assert "votre mot de passe reste inchangé" in body


def test_the_html_escapes_what_the_context_brings(make_app):
    with make_app().app_context():
        message = invitation(inviter="<script>alert(1)</script>", structure="A & B")
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "A &amp; B" in message.html
    assert "<script>alert(1)</script> vous invite" in flat(message.text)


def test_a_message_tracks_nothing_and_links_nowhere_but_its_action(make_app):
    with make_app().app_context():
        message = invitation()
    assert not re.search(r"<img|src=|url\(|<link|<script", message.html, re.IGNORECASE)
    assert re.findall(r'href="([^"]*)"', message.html) == [LINK.replace("&", "&amp;")]
    for body in (message.text, message.html.replace("&amp;", "&")):
        assert set(re.findall(r"https?://[^\s<\"]+", body)) == {LINK}


# Through a real SMTP server ---------------------------------------------------------------


def test_a_message_sent_through_smtp_arrives_with_both_parts(make_app, smtp_server):
    app = make_app(OHPUNAISES_SMTP_URL=smtp_server.url, OHPUNAISES_MAIL_FROM=SENDER)
    with app.app_context():
        where = mail.send(invitation())
    assert where == "envoyé par 127.0.0.1"
    [received] = smtp_server.wait_for(1)
    assert received["From"] == SENDER
    assert received["To"] == RECIPIENT
    assert received["Subject"] == "Invitation à rejoindre Oh Punaises!"
    assert received["Content-Language"] == "fr"
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["Message-ID"].endswith("@ohpunaises.example.org>")
    assert received["Date"].datetime.tzinfo is not None
    assert received["X-MailFrom"] == "ne-pas-repondre@ohpunaises.example.org"
    assert received["X-RcptTo"] == RECIPIENT
    assert received.get_content_type() == "multipart/alternative"
    text, html = parts(received)
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert LINK in text.get_content() and LINK.replace("&", "&amp;") in html.get_content()
    for part in (text, html):
        assert "Ce lien ne sert qu'une fois" in flat(part.get_content())


def test_an_english_message_arrives_in_english(make_app, smtp_server):
    app = make_app(OHPUNAISES_SMTP_URL=smtp_server.url)
    with app.app_context():
        mail.send(invitation("en"))
    [received] = smtp_server.wait_for(1)
    assert received["Content-Language"] == "en"
    assert received["From"] == "Oh Punaises! <ne-pas-repondre@localhost>"
    for part in parts(received):
        assert "a cooperative programme against bedbugs" in flat(part.get_content())


def test_sending_logs_the_template_and_never_the_address_or_the_link(make_app, smtp_server, capsys):
    app = make_app(OHPUNAISES_SMTP_URL=smtp_server.url, OHPUNAISES_LOG_FORMAT="json")
    with app.app_context():
        mail.send(invitation())
    logged = capsys.readouterr().err
    assert '"event": "mail.sent"' in logged
    assert '"template": "invitation"' in logged and '"delivery": "smtp"' in logged
    for secret in (RECIPIENT, "personne", "jeton-secret", "ne-pas-repondre", "Jeanne"):
        assert secret not in logged


class Recorder:
    """An aiosmtpd handler keeping what it is given, and an authenticator keeping the
    credentials it is sent (only USER / PASSWORD succeed)."""

    def __init__(self, user="facteur", password="p@ss:w/rd%+ "):
        self.user, self.password = user, password
        self.credentials, self.contents = [], []

    async def handle_DATA(self, server, session, envelope):
        self.contents.append(envelope.content)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.credentials.append((login, password))
        accepted = (login, password) == (self.user, self.password)
        return AuthResult(success=accepted, handled=False)  # handled: the server answers 535

    def received(self):
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(content) for content in self.contents]


@pytest.fixture
def authenticating_server():
    """An in-process SMTP server on the loopback offering AUTH (in clear: the loopback)."""
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=recorder.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield recorder, controller.port
    controller.stop()


def test_credentials_are_sent_url_decoded(make_app, authenticating_server):
    recorder, port = authenticating_server
    url = f"smtp://{quote(recorder.user)}:{quote(recorder.password, safe='')}@127.0.0.1:{port}"
    with make_app(OHPUNAISES_SMTP_URL=url).app_context():
        mail.send(invitation())
    assert recorder.credentials[-1] == ("facteur", "p@ss:w/rd%+ ")
    [received] = recorder.received()
    assert received["To"] == RECIPIENT


def test_a_wrong_password_is_a_clear_mail_error(make_app, authenticating_server, capsys):
    recorder, port = authenticating_server
    url = f"smtp://facteur:mauvais@127.0.0.1:{port}"
    with make_app(OHPUNAISES_SMTP_URL=url).app_context():
        with pytest.raises(mail.MailError) as raised:
            mail.send(invitation())
        said = raised.value.message()
    assert isinstance(raised.value, DomainError)
    assert said == (
        "Le message n'a pas pu être envoyé : le serveur 127.0.0.1 a refusé l'identifiant "
        "ou le mot de passe"
    )
    assert "mauvais" not in said and "Traceback" not in said
    assert recorder.contents == []
    logged = capsys.readouterr().err
    assert "mail.failed" in logged and "SMTPAuthenticationError" in logged
    assert "mauvais" not in logged and RECIPIENT not in logged


class PlainClient:
    """An SMTP client whose server offers no extension (no STARTTLS)."""

    def has_extn(self, name):
        return False


def test_credentials_are_never_sent_in_clear_to_a_distant_server(make_app):
    """The loopback is spared STARTTLS; any other host without it gets no password."""
    with make_app().app_context():
        with pytest.raises(mail.MailError, match="ne propose pas STARTTLS"):
            mail._start_tls(PlainClient(), None, "smtp.example.org", required=True)
        mail._start_tls(PlainClient(), None, "smtp.example.org", required=False)


# Implicit TLS --------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path):
    """An in-process SMTP server speaking TLS from the first byte, with a self-signed
    certificate for 127.0.0.1; yields (recorder, port, certificate file)."""
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    yield recorder, controller.port, certificate
    controller.stop()


def test_smtps_verifies_the_server_certificate_and_delivers(make_app, tls_server, monkeypatch):
    recorder, port, certificate = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    with make_app(OHPUNAISES_SMTP_URL=f"smtps://127.0.0.1:{port}").app_context():
        assert mail.send(invitation()) == "envoyé par 127.0.0.1"
    [received] = recorder.received()
    assert received["Subject"] == "Invitation à rejoindre Oh Punaises!"


def test_smtps_refuses_a_certificate_it_does_not_trust(make_app, tls_server, monkeypatch):
    _recorder, port, _certificate = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    app = make_app(OHPUNAISES_SMTP_URL=f"smtps://127.0.0.1:{port}")
    with app.app_context(), pytest.raises(mail.MailError, match="certificat du serveur"):
        mail.send(invitation())


# Failures ---------------------------------------------------------------------------------------


def test_an_unreachable_server_is_a_mail_error(make_app):
    app = make_app(OHPUNAISES_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    with app.app_context(), pytest.raises(mail.MailError) as raised:
        mail.send(invitation())
    assert raised.value.message() == (
        "Le message n'a pas pu être envoyé : le serveur 127.0.0.1 est injoignable"
    )
    assert raised.value.retry_after == 60


def test_a_server_that_never_answers_fails_within_the_timeout(make_app):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete, and nothing is ever said on them
        app = make_app(OHPUNAISES_SMTP_URL=f"smtp://127.0.0.1:{silent.getsockname()[1]}")
        app.config["SMTP_TIMEOUT"] = 1
        started = time.monotonic()
        with app.app_context(), pytest.raises(mail.MailError, match="n'a pas répondu dans les 1"):
            mail.send(invitation())
    assert time.monotonic() - started < 5


def test_a_refused_recipient_is_a_mail_error(make_app):
    class Refusing(Recorder):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 unknown user"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app = make_app(OHPUNAISES_SMTP_URL=f"smtp://127.0.0.1:{controller.port}")
        with app.app_context(), pytest.raises(mail.MailError, match="adresse du destinataire"):
            mail.send(invitation())
    finally:
        controller.stop()


# Without a server: a file -----------------------------------------------------------------------


def test_without_smtp_the_message_is_written_to_the_instance_folder(make_app, tmp_path, capsys):
    app = make_app()
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        where = mail.send(invitation())
    [written] = (tmp_path / "instance" / "mail").iterdir()
    assert where == f"écrit dans {written}"
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}\.eml", written.name)
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    raw = written.read_bytes()
    assert b"\r\n" in raw and raw.isascii()
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert message["To"] == RECIPIENT and message["Content-Language"] == "fr"
    text, html = parts(message)
    assert LINK in text.get_content() and "Jeanne Martin" in html.get_content()
    logged = capsys.readouterr().err
    assert "mail.sent" in logged and "delivery=file" in logged
    assert RECIPIENT not in logged and "jeton" not in logged


def test_a_folder_that_cannot_be_written_is_a_mail_error(make_app, tmp_path):
    app = make_app()
    blocking = tmp_path / "instance"
    blocking.write_text("a file where the folder should be")
    app.instance_path = str(blocking)
    with app.app_context(), pytest.raises(mail.MailError, match="n'a pas pu être écrit dans"):
        mail.send(invitation())


def test_messages_written_at_once_never_overwrite_each_other(make_app, tmp_path):
    app = make_app()
    app.instance_path = str(tmp_path)

    def send():
        with app.app_context():
            mail.send(invitation())

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list((tmp_path / "mail").iterdir())) == 8


# Settings ---------------------------------------------------------------------------------------


def settings(tmp_path, **env):
    return load_settings(str(tmp_path), {"OHPUNAISES_ENV": "test", **env})


def test_mail_settings_default_to_no_server_and_a_local_sender(tmp_path):
    config = settings(tmp_path)
    assert config["SMTP_SERVER"] is None and config["SMTP_URL"] is None
    assert config["MAIL_FROM"] == "Oh Punaises! <ne-pas-repondre@localhost>"
    assert config["SMTP_TIMEOUT"] == 10


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://mail.example.org", ("smtp", "mail.example.org", 25, None, None)),
        ("smtps://mail.example.org", ("smtps", "mail.example.org", 465, None, None)),
        (
            "smtp://ma%40il:p%3Aw%2Fd@Mail.Example.org:587/",
            ("smtp", "mail.example.org", 587, "ma@il", "p:w/d"),
        ),
        ("smtp://u@127.0.0.1:2525", ("smtp", "127.0.0.1", 2525, "u", "")),
    ],
)
def test_smtp_urls_are_read_with_their_defaults(tmp_path, url, server):
    found = settings(tmp_path, OHPUNAISES_SMTP_URL=url)["SMTP_SERVER"]
    keys = ("scheme", "host", "port", "username", "password")
    assert tuple(found[key] for key in keys) == server


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OHPUNAISES_SMTP_URL": "http://x"}, "OHPUNAISES_SMTP_URL doit être smtp://"),
        ({"OHPUNAISES_SMTP_URL": "smtp://"}, "OHPUNAISES_SMTP_URL doit être smtp://"),
        ({"OHPUNAISES_SMTP_URL": "smtp://h:port"}, "OHPUNAISES_SMTP_URL doit être smtp://"),
        ({"OHPUNAISES_SMTP_URL": "smtp://h:99999"}, "OHPUNAISES_SMTP_URL doit être smtp://"),
        ({"OHPUNAISES_SMTP_URL": "smtp://h/chemin"}, "OHPUNAISES_SMTP_URL doit être smtp://"),
        ({"OHPUNAISES_SMTP_URL": "smtp://u:%C3%A9@h"}, "doivent être en ASCII"),
        ({"OHPUNAISES_MAIL_FROM": "pas une adresse"}, "OHPUNAISES_MAIL_FROM doit être une"),
        ({"OHPUNAISES_MAIL_FROM": "Jean <jean@>"}, "OHPUNAISES_MAIL_FROM doit être une"),
        ({"OHPUNAISES_MAIL_FROM": "a@b.fr, c@d.fr"}, "OHPUNAISES_MAIL_FROM doit être une"),
        ({"OHPUNAISES_MAIL_FROM": "a@b.fr\nBcc: c@d.fr"}, "OHPUNAISES_MAIL_FROM doit être une"),
    ],
)
def test_bad_mail_settings_are_refused_with_a_clear_message(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message) as raised:
        settings(tmp_path, **env)
    assert "\n" not in str(raised.value)


def test_a_refused_smtp_url_never_shows_its_password(tmp_path):
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, OHPUNAISES_SMTP_URL="smtp://facteur:tres-secret@h/chemin")
    assert "tres-secret" not in str(raised.value)
    assert "smtp://facteur:***@h/chemin" in str(raised.value)
