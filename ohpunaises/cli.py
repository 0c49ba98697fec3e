"""The `ohpunaises` command line."""

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from flask_babel import gettext as _

from . import bootstrap
from .config import ConfigError
from .extensions import db
from .models import Territory
from .territories import (
    CODE_CANDIDATES,
    LEVELS,
    NAME_CANDIDATES,
    PARENT_CANDIDATES,
    POPULATION_CANDIDATES,
    TerritoryFileError,
    parse_features,
    pick_property,
    read_geojson,
    read_population_csv,
    store_territories,
)


class CommandError(click.ClickException):
    """A refusal printed as one clear line, without a traceback."""

    def show(self, file=None):
        click.echo(_("Erreur : %(message)s", message=self.format_message()), err=True)


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
):
    """Charge ou met à jour les territoires d'un fichier GeoJSON (WGS84)."""
    try:
        features = read_geojson(path)
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
        _print_demo_logins(bootstrap.create_demo_accounts())
    click.echo(_("Base prête."))


def _print_demo_logins(logins):
    if not logins:
        return
    click.echo("")
    click.echo(_("Comptes de DÉMONSTRATION créés (mots de passe affichés une seule fois) :"))
    for role, email, password in logins:
        click.echo(f"  {role:<14} {email:<40} {password}")
    click.echo("")


def register_commands(app):
    app.cli.add_command(territories_cli)
    app.cli.add_command(init_command)


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
