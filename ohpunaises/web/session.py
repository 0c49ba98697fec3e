"""Signing in and out with a password; the session cookie then carries the account."""

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import Invalid, Throttled
from ..usecases import sessions
from . import bp
from .pages import home_for


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect. Control characters are a 400."""
    if not target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        abort(400, _("Adresse de retour invalide."))
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    back = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    error, status, headers = None, 200, {}
    if request.method == "POST":
        try:
            user = sessions.sign_in(
                request.form.get("email", ""),
                request.form.get("password", ""),
                request.remote_addr or "",
                remember=request.form.get("remember") == "1",
            )
        except Throttled as refused:
            error, status = refused.message(), 429
            headers["Retry-After"] = str(refused.retry_after)
        except Invalid as refused:
            error, status = refused.message(), 401
        else:
            session.pop("csrf_token", None)  # a token seen before signing in is not reused
            login_user(user, remember=request.form.get("remember") == "1")
            return redirect(back or home_for(user))
    email = request.form.get("email", "")
    page = render_template("web/login.html", error=error, email=email)
    return page, status, headers


@bp.post("/deconnexion")
@login_required
def logout():
    sessions.sign_out(current_user.id)
    logout_user()
    session.clear()
    flash(_("Vous êtes déconnecté."), "info")
    response = redirect(url_for("web.login", deconnecte=1))
    # The browser forgets what it kept of the signed-in pages; the outbox stays.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response
