"""The pages the links sent by e-mail open: choosing a first password from an invitation,
asking for a reset link ("mot de passe oublié") and choosing a new password with it.

The link's secret is in the path: these views are flagged `secret_path`, so that the logs
name their route, never the secret; their answers are never cached.
"""

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..errors import DomainError, NotFound, Throttled
from ..usecases import people
from . import bp
from .forms import errors_of
from .pages import home_for

NO_STORE = {"Cache-Control": "no-store"}


def secret_path(view):
    """A view whose path holds a secret: logged by its route, never by its path."""
    view.secret_path = True
    return view


def _link_gone(error: NotFound):
    page = render_template("web/link_gone.html", message=error.message())
    return page, 404, NO_STORE


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@secret_path
def accept_invitation(token):
    return _choose_password(token, "invitation")


def _choose_password(token: str, purpose: str):
    """The page of a link: who it is for, and the form choosing their password. Once chosen,
    an invitation signs the person in; a reset sends them to sign in with the new one."""
    try:
        user = people.link_user(token, purpose)
    except NotFound as error:
        return _link_gone(error)
    errors = {}
    if request.method == "POST":
        errors = _confirmation_errors()
        if not errors:
            password = request.form.get("password", "")
            remember = request.form.get("remember") == "1"
            try:
                if purpose == "invitation":
                    user = people.accept_invitation(token, password, remember)
                else:
                    people.reset_password(token, password)
            except NotFound as error:
                return _link_gone(error)
            except DomainError as error:
                errors = errors_of(error)
            else:
                return _chosen(user, purpose, remember)
    invitation = purpose == "invitation"
    page = render_template(
        "web/choose_password.html", user=user, errors=errors, invitation=invitation
    )
    return page, 422 if errors else 200, NO_STORE


def _chosen(user, purpose: str, remember: bool):
    if current_user.is_authenticated:
        logout_user()
    if purpose != "invitation":
        flash(_("Mot de passe changé : connectez-vous avec le nouveau."), "success")
        return redirect(url_for("web.login"))
    session.pop("csrf_token", None)
    login_user(user, remember=remember)
    flash(_("Bienvenue ! Votre mot de passe est enregistré."), "success")
    return redirect(home_for(user))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgotten_password():
    email, error, status = request.form.get("email", ""), None, 200
    if request.method == "POST":
        try:
            people.request_reset(
                email, request.remote_addr or "", people.public_address(request.url_root)
            )
        except Throttled as refused:
            error, status = refused.message(), 429
        except DomainError as refused:
            error, status = refused.message(), 503
        else:
            flash(
                _(
                    "Si un compte existe pour %(email)s, un lien pour choisir un nouveau mot "
                    "de passe vient de lui être envoyé ; il est valable une heure.",
                    email=email.strip(),
                ),
                "info",
            )
            return redirect(url_for("web.login"))
    page = render_template("web/forgotten_password.html", email=email, error=error)
    return page, status, NO_STORE


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@secret_path
def reset_password(token):
    return _choose_password(token, "reset")


def _confirmation_errors() -> dict[str, list[str]]:
    password = request.form.get("password", "")
    if password != request.form.get("confirmation", ""):
        return {"confirmation": [_("Les deux mots de passe ne sont pas identiques.")]}
    return {}
