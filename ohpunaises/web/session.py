"""Signing in and out with a password; the session cookie then carries the user."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..auth import authenticate
from ..extensions import db, limiter
from . import bp
from .pages import home_for


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def login_limit():
    return current_app.config["RATELIMIT_LOGIN"]


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    error = None
    if request.method == "POST":
        user = authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is not None:
            db.session.commit()
            login_user(user, remember=True)
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        error = _("Adresse ou mot de passe incorrect.")
    status = 401 if error else 200
    email = request.form.get("email", "")
    return render_template("web/login.html", error=error, email=email), status


@bp.post("/deconnexion")
@login_required
def logout():
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("web.login"))
