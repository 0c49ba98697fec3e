"""The `ohpunaises` command line."""

import datetime as dt
import secrets
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from flask_babel import gettext as _

from . import bootstrap, demo, exports, retention
from .auth import hash_password, issue_token
from .config import ConfigError
from .extensions import db
from .models import Structure, Territory, User
from .reports import ReportError
from .schemas import storable
from .territories import (
    CODE_CANDIDATES,
    LEVELS,
    MAX_FILE_MEGABYTES,
    NAME_CANDIDATES,
    PARENT_CANDIDATES,
    POPULATION_CANDIDATES,
    TerritoryFileError,
    deployment_covering,
    parse_features,
    pick_property,
    read_geojson,
    read_population_csv,
    store_territories,
    territory_by_code,
)
from .vocabulary import ROLES, SOURCES, STATUSES, STRUCTURE_KINDS


class CommandError(click.ClickException):
    """A refusal printed as one clear line, without a traceback."""

    def show(self, file=None):
        click.echo(_("Erreur : %(message)s", message=self.format_message()), err=True)


def checked_text(value: str, option: str, maximum: int, minimum: int = 0) -> str:
    """An option's text as the database can store it, or a clear refusal."""
    if not storable(value) or not minimum <= len(value) <= maximum:
        raise CommandError(
            _(
                "%(option)s : texte de %(min)d à %(max)d caractères attendu, en UTF-8 et sans "
                "caractère nul.",
                option=option,
                min=minimum,
                max=maximum,
            )
        )
    return value


territories_cli = AppGroup("territories", help="Territoires : chargement et liste.")


@territories_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--level", type=click.Choice(LEVELS), required=True, help="Niveau des territoires.")
@click.option("--code-property", help="Propriété portant le code (INSEE ou QPV).")
@click.option("--name-property", help="Propriété portant le nom.")
@click.option("--population-property", help="Propriété portant la population.")
@click.option("--parent-property", help="Propriété portant le code de la commune parente.")
@click.option(
    "--population-csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV des populations par code.",
)
@click.option("--csv-code-column", default="code_insee", show_default=True)
@click.option("--csv-population-column", default="pop_municipale_insee_cog2026", show_default=True)
@click.option(
    "--max-size-mb",
    type=click.IntRange(1),
    default=MAX_FILE_MEGABYTES,
    show_default=True,
    help="Taille maximale du fichier GeoJSON, en Mo (il est lu en entier en mémoire).",
)
def load_territories(
    path,
    level,
    code_property,
    name_property,
    population_property,
    parent_property,
    population_csv,
    csv_code_column,
    csv_population_column,
    max_size_mb,
):
    """Charge ou met à jour les territoires d'un fichier GeoJSON (WGS84)."""
    try:
        features = read_geojson(path, max_size_mb)
        rows = parse_features(
            features,
            pick_property(features, code_property, CODE_CANDIDATES),
            pick_property(features, name_property, NAME_CANDIDATES),
            pick_property(features, population_property, POPULATION_CANDIDATES),
            pick_property(features, parent_property, PARENT_CANDIDATES),
        )
        populations = (
            read_population_csv(population_csv, csv_code_column, csv_population_column)
            if population_csv
            else None
        )
        with click.progressbar(length=len(rows), label=_("Chargement"), file=sys.stderr) as bar:
            result = store_territories(rows, level, populations, bar.update)
        db.session.commit()
    except TerritoryFileError as error:
        db.session.rollback()
        raise CommandError(_("%(error)s Rien n'a été chargé.", error=error)) from error
    click.echo(
        _(
            "%(created)d territoire(s) créé(s), %(updated)d mis à jour (niveau %(level)s).",
            created=result.created,
            updated=result.updated,
            level=level,
        )
    )
    if result.without_population:
        click.echo(
            _("Sans population : %(codes)s", codes=", ".join(result.without_population[:20]))
        )


@territories_cli.command("list")
@click.option("--level", type=click.Choice(LEVELS), help="Seulement ce niveau.")
def list_territories(level):
    """Liste les territoires chargés : code, nom, niveau, population."""
    query = sa.select(Territory).order_by(Territory.level, Territory.code)
    if level:
        query = query.where(Territory.level == level)
    territories = db.session.scalars(query).all()
    click.echo(f"{'code':<10} {'nom':<40} {'niveau':<15} {'population':>10}")
    for territory in territories:
        population = "" if territory.population is None else territory.population
        click.echo(
            f"{territory.code:<10} {territory.name[:40]:<40} {territory.level:<15} {population:>10}"
        )
    click.echo(_("%(n)d territoire(s).", n=len(territories)))


@click.command("init")
@with_appcontext
def init_command():
    """Prépare la base : schéma, territoires par défaut, comptes de démonstration."""
    from flask import current_app

    click.echo(_("Mise à jour du schéma de la base…"))
    bootstrap.upgrade_schema()
    for level, count in bootstrap.load_default_territories().items():
        click.echo(_("Territoires chargés : %(n)d (%(level)s).", n=count, level=level))
    if bootstrap.ensure_default_deployment():
        click.echo(_("Déploiement créé : %(name)s.", name=bootstrap.DEFAULT_DEPLOYMENT))
    if current_app.config["DEMO"]:
        logins = bootstrap.create_demo_accounts()
        if logins:  # only on the first start, so that a newcomer sees living data
            demo.create_with_progress(demo.INIT_REPORTS)
        _print_demo_logins(logins)
    click.echo(_("Base prête."))


def _print_demo_logins(logins):
    if not logins:
        return
    click.echo("")
    click.echo(_("Comptes de DÉMONSTRATION créés (mots de passe affichés une seule fois) :"))
    for role, email, password in logins:
        click.echo(f"  {role:<14} {email:<40} {password}")
    click.echo("")


structures_cli = AppGroup("structures", help="Structures partenaires.")
users_cli = AppGroup("users", help="Comptes.")
tokens_cli = AppGroup("tokens", help="Jetons d'API.")


@structures_cli.command("create")
@click.option("--name", required=True, help="Nom de la structure.")
@click.option("--kind", type=click.Choice(list(STRUCTURE_KINDS)), required=True)
@click.option("--commune", required=True, help="Code INSEE de la commune d'implantation.")
@click.option("--onboarded", type=click.DateTime(["%Y-%m-%d"]), help="Date d'entrée au programme.")
def create_structure(name, kind, commune, onboarded):
    """Crée une structure ; son numéro est seul sur la dernière ligne."""
    name = checked_text(name.strip(), "--name", 200, minimum=1)
    territory = territory_by_code(checked_text(commune, "--commune", 20), "commune")
    if territory is None:
        raise CommandError(_("Commune inconnue : %(code)s.", code=commune))
    structure = Structure(
        name=name,
        kind=kind,
        commune=territory,
        deployment=deployment_covering(territory),
        onboarded_on=onboarded.date() if onboarded else dt.date.today(),
    )
    db.session.add(structure)
    db.session.commit()
    click.echo(_("Structure créée : %(name)s.", name=structure.name))
    click.echo(structure.id)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--structure", "structure_id", type=int, help="Numéro de la structure.")
@click.option("--password", help="Mot de passe ; sans lui, un mot de passe est tiré au hasard.")
@click.option("--name", "display_name", default="", help="Nom affiché.")
def create_user(email, role, structure_id, password, display_name):
    """Crée un compte."""
    email = checked_text(email.strip().lower(), "--email", 254)
    display_name = checked_text(display_name, "--name", 120)
    if "@" not in email or db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise CommandError(_("Adresse invalide ou déjà utilisée : %(email)s.", email=email))
    structure = db.session.get(Structure, structure_id) if structure_id else None
    if role in ("agent", "partner_admin") and structure is None:
        raise CommandError(_("Ce rôle demande une structure existante (--structure)."))
    if password is not None:
        checked_text(password, "--password", 1000, minimum=1)
    shown = password is None
    password = password or secrets.token_urlsafe(12)
    user = User(
        email=email,
        role=role,
        structure=structure,
        display_name=display_name,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.commit()
    click.echo(_("Compte créé : %(email)s (%(role)s).", email=email, role=role))
    if shown:
        click.echo(_("Mot de passe (affiché une seule fois) : %(password)s", password=password))


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="", help="À quoi sert ce jeton.")
@click.option("--days", type=click.IntRange(1, 730), default=365, show_default=True)
def create_token(email, name, days):
    """Crée un jeton d'API, affiché une seule fois, seul sur la dernière ligne."""
    name = checked_text(name, "--name", 100)
    email = checked_text(email.strip().lower(), "--email", 254)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        raise CommandError(_("Compte inconnu : %(email)s.", email=email))
    token, record = issue_token(user, name, days)
    db.session.commit()
    click.echo(
        _(
            "Jeton créé pour %(email)s, valable jusqu'au %(date)s :",
            email=user.email,
            date=record.expires_at.date().isoformat(),
        )
    )
    click.echo(token)


export_cli = AppGroup("export", help="Exports CSV.")
retention_cli = AppGroup("retention", help="Durée de conservation des signalements.")


@export_cli.command("reports")
@click.option("--out", "out", type=click.File("wb"), required=True, help="Fichier (- : sortie).")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Intervention ≥.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Intervention ≤.")
@click.option("--territory", help="Code de commune, arrondissement ou QPV.")
@click.option("--status", type=click.Choice(list(STATUSES)))
@click.option("--structure", type=int, help="Numéro de la structure.")
@click.option("--source", type=click.Choice(list(SOURCES)))
@click.option("--sep", type=click.Choice(["semicolon", "comma"]), default="semicolon")
@click.option("--dates", type=click.Choice(["day", "month"]), default="day")
@click.option("--location", type=click.Choice(["point", "rounded", "commune"]), default="point")
@click.option(
    "--role",
    type=click.Choice(["coordinator", "evaluator"]),
    default="coordinator",
    show_default=True,
    help="Point de vue, sans compte.",
)
@click.option("--as", "email", help="Point de vue d'un compte (son rôle et son périmètre).")
def export_reports(out, email, role, sep, dates, location, **filters):
    """Exporte les signalements en CSV, comme GET /api/v1/exports/reports.csv."""
    viewer = _export_viewer(email, role)
    filters = {k: v.date() if isinstance(v, dt.datetime) else v for k, v in filters.items() if v}
    options = exports.Options(sep, dates, location)
    try:
        total = exports.count_rows(viewer, filters)
    except ReportError as error:
        raise CommandError(" ".join(error.errors.values()) or error.title) from error
    progress = exports.Progress()
    try:
        with click.progressbar(length=total, label=_("Export"), file=sys.stderr) as bar:
            for chunk in exports.csv_stream(viewer, filters, options, progress):
                out.write(chunk)
                bar.update(progress.rows - bar.pos)
    finally:
        exports.record_export(viewer, filters, options, progress, "cli")
    click.echo(_("%(n)d signalement(s) exporté(s).", n=progress.rows), err=True)


def _export_viewer(email, role):
    if email:
        email = checked_text(email.strip().lower(), "--as", 254)
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            raise CommandError(_("Compte inconnu : %(email)s.", email=email))
        if user.role not in exports.ROW_EXPORTERS:
            raise CommandError(_("Ce rôle n'exporte pas de lignes : %(role)s.", role=user.role))
        return exports.Viewer.of(user)
    return exports.Viewer(None, "cli", role)


@retention_cli.command("apply")
@click.option("--older-than", help="Âge : 5y, 18m ou 90d (défaut : OHPUNAISES_RETENTION).")
@click.option("--dry-run", is_flag=True, help="Compte sans rien changer.")
def apply_retention(older_than, dry_run):
    """Anonymise les signalements plus anciens que la durée de conservation."""
    from flask import current_app

    age = (older_than or current_app.config["RETENTION"]).strip().lower()
    try:
        cutoff, count = retention.apply(age, dry_run)
    except ValueError as error:
        raise CommandError(
            _("Durée invalide : %(age)s (exemples : 5y, 18m, 90d).", age=age)
        ) from error
    message = (
        _(
            "%(n)d signalement(s) antérieur(s) au %(date)s seraient anonymisé(s) (essai, rien "
            "n'a changé).",
            n=count,
            date=cutoff.isoformat(),
        )
        if dry_run
        else _(
            "%(n)d signalement(s) antérieur(s) au %(date)s anonymisé(s).",
            n=count,
            date=cutoff.isoformat(),
        )
    )
    click.echo(message)


def register_commands(app):
    app.cli.add_command(territories_cli)
    app.cli.add_command(init_command)
    app.cli.add_command(demo.demo_command)
    app.cli.add_command(structures_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(retention_cli)


def main():
    """Entry point of the `ohpunaises` console script."""
    from .app import create_app

    group = FlaskGroup(create_app=create_app, help="Plateforme Oh Punaises!")
    try:
        group.main(prog_name="ohpunaises")
    except ConfigError as error:
        click.echo(_("Configuration invalide : %(error)s", error=error), err=True)
        sys.exit(2)
    except sa.exc.OperationalError as error:
        click.echo(_("Base de données injoignable : %(error)s", error=error.orig), err=True)
        sys.exit(1)
