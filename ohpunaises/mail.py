"""Outgoing e-mail: messages rendered from templates, sent by SMTP or written to a file.

`compose` renders `templates/mail/<name>.txt` and `<name>.html` in the recipient's language.
The subject is the text template's own: a `{% set subject = _("…") %}` at its top, which the
HTML template receives as `subject`. Mail templates see their context and the app's Jinja
globals only: no request, no session, so that a message reads the same wherever it is sent.

`send` delivers through OHPUNAISES_SMTP_URL (`config._smtp_server`) or, when it is unset,
writes the message as an `.eml` file into `<instance>/mail/` (readable by its owner only: it
holds a link). Over SMTP:

- `smtps://` is TLS from the first byte; `smtp://` moves to TLS with STARTTLS whenever the
  server offers it, and requires it before sending an identifier and a password — except on
  the loopback (127.0.0.1, ::1, localhost), where the conversation never leaves the machine
  and STARTTLS is not used (local relays often offer it with a self-signed certificate).
- Certificates are verified against the system's authorities (`SSL_CERT_FILE` adds others).
- Each step of the conversation waits at most `SMTP_TIMEOUT` seconds.

Every failure becomes a `MailError` saying in plain French why the message did not leave.
The logs name the template, the delivery and an error class: never an address or a link.
"""

import datetime as dt
import email.utils
import logging
import os
import re
import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default as email_policy
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import logs
from .errors import Busy

LANGUAGES = ("fr", "en")
PROGRAMME = "Oh Punaises!"
FOLDER = "mail"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Message:
    """A message ready to leave: its recipient, subject and both bodies, in one language."""

    to: str
    subject: str
    text: str  # plain-text body
    html: str  # HTML alternative
    language: str  # "fr" or "en"
    template: str = ""  # the template it was rendered from: what the logs name
    # "<…@domain>" kept across retries (a reminder's, from its key); None: a random one.
    message_id: str | None = None


class MailError(Busy):
    """A message that could not be sent, and why, in words; it may be sent again later."""

    title = _l("Message non envoyé")

    def __init__(self, reason: str, cause: str = "MailError"):
        detail = _("Le message n'a pas pu être envoyé : %(reason)s", reason=reason)
        super().__init__(detail, retry_after=60)
        self.cause = cause  # the class of the error behind it, for the logs


# Composing ------------------------------------------------------------------------------------


def compose(template: str, to: str, language: str, **context) -> Message:
    """The message of `templates/mail/<template>.txt` and `.html`, rendered in `language`
    (French when it is not one of LANGUAGES); `programme` defaults to "Oh Punaises!"."""
    language = language if language in LANGUAGES else LANGUAGES[0]
    context = {"programme": PROGRAMME, **context, "language": language}
    with force_locale(language):
        text = _template(f"mail/{template}.txt").make_module(context)
        subject = " ".join(str(getattr(text, "subject", "")).split())
        if not subject:
            raise ValueError(f"templates/mail/{template}.txt sets no subject")
        html = _template(f"mail/{template}.html").render({**context, "subject": subject})
    return Message(to, subject, _tidy(str(text)), html, language, template)


def _template(name: str):
    return current_app.jinja_env.get_template(name)


def _tidy(text: str) -> str:
    """A text body without trailing spaces, nor more than one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def as_email(message: Message, sender: str) -> EmailMessage:
    """The message as RFC 5322 knows it: text then HTML (multipart/alternative)."""
    mail = EmailMessage(policy=email_policy)
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    mail["Message-ID"] = message.message_id or email.utils.make_msgid(
        domain=mail["From"].addresses[0].domain
    )
    mail["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps the message 7-bit: any relay passes it unchanged.
    mail.set_content(message.text, subtype="plain", cte="quoted-printable")
    mail.add_alternative(message.html, subtype="html", cte="quoted-printable")
    mail["Content-Language"] = message.language  # after: set_content clears Content-* headers
    return mail


# Sending --------------------------------------------------------------------------------------


def send(message: Message) -> str:
    """Deliver the message; where it went, in a few French words. Raises MailError."""
    config = current_app.config
    server = config.get("SMTP_SERVER")
    delivery = "smtp" if server else "file"
    try:
        mail = as_email(message, config["MAIL_FROM"])
        if server:
            where = _send_smtp(mail, server, config["SMTP_TIMEOUT"])
        else:
            where = _write(mail, Path(current_app.instance_path) / FOLDER)
    except MailError as error:
        logs.event(
            "mail.failed",
            logging.WARNING,
            template=message.template,
            delivery=delivery,
            error=error.cause,
        )
        raise
    logs.event("mail.sent", template=message.template, delivery=delivery)
    return where


def _write(mail: EmailMessage, folder: Path) -> str:
    """Write the message into `folder`, named by the time and chance, never by its address."""
    now = dt.datetime.now(dt.UTC)
    path = folder / f"{now:%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(4)}.eml"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(mail.as_bytes(policy=SMTP_POLICY))
    except OSError as error:
        reason = _("il n'a pas pu être écrit dans %(folder)s", folder=str(folder))
        raise MailError(reason, type(error).__name__) from error
    return _("écrit dans %(path)s", path=str(path))


def _send_smtp(mail: EmailMessage, server: dict, timeout: float) -> str:
    """Hand the message to the SMTP server; every failure becomes a MailError."""
    host = server["host"]
    try:
        _converse(mail, server, timeout)
    except MailError:
        raise
    except (smtplib.SMTPException, OSError) as error:
        cause = _underlying(error)
        raise MailError(_smtp_reason(cause, host, timeout), type(cause).__name__) from error
    return _("envoyé par %(host)s", host=host)


def _converse(mail: EmailMessage, server: dict, timeout: float):
    """Connect, secure, authenticate and send; the connection is closed whatever happens."""
    context = ssl.create_default_context()  # read now: SSL_CERT_FILE may have changed
    host, port = server["host"], server["port"]
    if server["scheme"] == "smtps":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    try:
        client.ehlo()
        if server["scheme"] == "smtp" and host not in LOOPBACK:
            _start_tls(client, context, host, bool(server["username"]))
        if server["username"]:
            _log_in(client, server)
        client.send_message(mail)
        client.quit()
    finally:
        client.close()


def _start_tls(client: smtplib.SMTP, context: ssl.SSLContext, host: str, required: bool):
    """STARTTLS when offered; without it, an identifier and a password are not sent."""
    if client.has_extn("starttls"):
        client.starttls(context=context)
        client.ehlo()
    elif required:
        reason = _(
            "le serveur %(host)s ne propose pas STARTTLS : l'identifiant et le mot de passe ne "
            "sont pas envoyés en clair",
            host=host,
        )
        raise MailError(reason, "StartTLSMissing")


def _log_in(client: smtplib.SMTP, server: dict):
    """Authenticate, when the server says it can."""
    if not client.has_extn("auth"):
        reason = _("le serveur %(host)s ne propose pas d'authentification", host=server["host"])
        raise MailError(reason, "AuthMissing")
    client.login(server["username"], server["password"])


def _underlying(error: Exception) -> Exception:
    """The network error smtplib reports as a disconnection (a timeout, a reset), if any."""
    context = error.__context__
    if isinstance(error, smtplib.SMTPServerDisconnected) and isinstance(context, OSError):
        return context
    return error


def _smtp_reason(error: Exception, host: str, timeout: float) -> str:
    """Why an SMTP conversation failed, in plain French."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return _("le serveur %(host)s a refusé l'identifiant ou le mot de passe", host=host)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return _("le serveur %(host)s a refusé l'adresse du destinataire", host=host)
    if isinstance(error, smtplib.SMTPSenderRefused):
        return _(
            "le serveur %(host)s a refusé l'adresse d'expéditeur (OHPUNAISES_MAIL_FROM)", host=host
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return _("le serveur %(host)s n'accepte pas les adresses accentuées", host=host)
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        return _("le serveur %(host)s a refusé le message (code %(code)s)", host=host, code=code)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return _("le serveur %(host)s a coupé la connexion", host=host)
    if isinstance(error, smtplib.SMTPException):
        return _("l'échange avec le serveur %(host)s a échoué", host=host)
    return _network_reason(error, host, timeout)


def _network_reason(error: Exception, host: str, timeout: float) -> str:
    """Why the server could not be reached or heard, in plain French."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return _("le certificat du serveur %(host)s n'a pas été reconnu", host=host)
    if isinstance(error, ssl.SSLError):
        return _("la connexion chiffrée avec le serveur %(host)s a échoué", host=host)
    if isinstance(error, TimeoutError):
        return _(
            "le serveur %(host)s n'a pas répondu dans les %(seconds)s secondes",
            host=host,
            seconds=timeout,
        )
    if isinstance(error, socket.gaierror):
        return _("le serveur %(host)s est introuvable (nom inconnu)", host=host)
    return _("le serveur %(host)s est injoignable", host=host)
