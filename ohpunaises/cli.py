"""The `ohpunaises` command line: an adapter around the use cases, acting as the operator.

Every command prints what it did in one or a few French lines; a refusal is one line
("Erreur : …") and exit status 1, a bad setting one line and exit status 2. `--help` works
everywhere, even with an empty environment: the application is only built when a command
runs.
"""

import datetime as dt
import os
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup, ScriptInfo, with_appcontext
from flask_babel import gettext as _
from flask_migrate.cli import db as db_cli

from . import bootstrap, cadence, demo, exports, opendata, permissions
from .config import ConfigError
from .errors import DomainError
from .permissions import Actor
from .schemas import storable
from .territories import LEVELS, MAX_FILE_MEGABYTES
from .usecases import accounts, partners, people, retention, structures, territories
from .usecases import deployments as deployment_cases
from .usecases import exports as export_cases
from .usecases import imports as import_cases
from .usecases import reminders as reminder_cases
from .vocabulary import ROLES, SOURCES, STATUSES, STRUCTURE_KINDS


class CommandError(click.ClickException):
    """A refusal printed as one clear line, without a traceback."""

    def show(self, file=None):
        click.echo(_("Erreur : %(message)s", message=self.format_message()), err=True)


class Command(click.Command):
    """A command whose refusals and failures end as one French line, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DomainError as error:
            raise CommandError(error.message()) from error
        except ConfigError as error:
            click.echo(_("Configuration invalide : %(error)s", error=error), err=True)
            ctx.exit(2)
        except sa.exc.OperationalError as error:
            click.echo(_("Base de données injoignable : %(error)s", error=error.orig), err=True)
            ctx.exit(1)


class CommandGroup(AppGroup):
    """A group of commands that build the application when they run (`AppGroup`), each one
    a `Command`."""

    command_class = Command


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


territories_cli = CommandGroup("territories", help="Territoires : chargement et liste.")


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
def load_territories(path, **options):
    """Charge ou met à jour les territoires d'un fichier GeoJSON (WGS84)."""
    source = territories.TerritoryFile(path, **options)
    try:
        result = territories.load_territories(Actor.operator(), source, _progress_bar)
    except DomainError as error:
        raise CommandError(_("%(error)s Rien n'a été chargé.", error=error.message())) from error
    click.echo(
        _(
            "%(created)d territoire(s) créé(s), %(updated)d mis à jour (niveau %(level)s).",
            created=result.created,
            updated=result.updated,
            level=source.level,
        )
    )
    if result.without_population:
        click.echo(
            _("Sans population : %(codes)s", codes=", ".join(result.without_population[:20]))
        )


def _progress_bar(total: int):
    return click.progressbar(length=total, label=_("Chargement"), file=sys.stderr)


@territories_cli.command("list")
@click.option("--level", type=click.Choice(LEVELS), help="Seulement ce niveau.")
def list_territories(level):
    """Liste les territoires chargés : code, nom, niveau, population."""
    found = territories.list_territories(Actor.operator(), level)
    click.echo(f"{'code':<10} {'nom':<40} {'niveau':<15} {'population':>10}")
    for territory in found:
        population = "" if territory.population is None else territory.population
        click.echo(
            f"{territory.code:<10} {territory.name[:40]:<40} {territory.level:<15} {population:>10}"
        )
    click.echo(_("%(n)d territoire(s).", n=len(found)))


@click.command("init", cls=Command)
@click.option(
    "--no-default-territories",
    "no_default",
    is_flag=True,
    help="Ne charge pas les territoires de Lyon livrés et n'ouvre pas le déploiement par défaut "
    "(programme ouvert ailleurs).",
)
@with_appcontext
def init_command(no_default):
    """Prépare la base : schéma, territoires par défaut, comptes de démonstration."""
    from flask import current_app

    click.echo(_("Mise à jour du schéma de la base…"))
    bootstrap.upgrade_schema()
    if not no_default:
        _load_default_territories()
    if current_app.config["DEMO"]:
        logins = bootstrap.create_demo_accounts()
        # Only on the first start, and where the demo structures are: a newcomer sees living
        # data, and a programme opened elsewhere gets no synthetic reports.
        if logins and bootstrap.demo_communes_loaded():
            demo.create_with_progress(demo.INIT_REPORTS)
        _print_demo_logins(logins)
    click.echo(_("Base prête."))


def _load_default_territories():
    loaded = bootstrap.load_default_territories()
    if loaded is None:
        click.echo(
            _(
                "Territoires déjà chargés (%(n)d) : les territoires de Lyon livrés ne sont pas "
                "chargés.",
                n=bootstrap.territories_loaded(),
            )
        )
    for level, count in (loaded or {}).items():
        click.echo(_("Territoires chargés : %(n)d (%(level)s).", n=count, level=level))
    if bootstrap.ensure_default_deployment():
        click.echo(_("Déploiement créé : %(name)s.", name=bootstrap.DEFAULT_DEPLOYMENT))


def _print_demo_logins(logins):
    if not logins:
        return
    click.echo("")
    click.echo(_("Comptes de DÉMONSTRATION créés (mots de passe affichés une seule fois) :"))
    for role, email, password in logins:
        click.echo(f"  {role:<14} {email:<40} {password}")
    click.echo("")


structures_cli = CommandGroup("structures", help="Structures partenaires.")
users_cli = CommandGroup("users", help="Comptes.")
tokens_cli = CommandGroup("tokens", help="Jetons d'API.")


@structures_cli.command("create")
@click.option("--name", required=True, help="Nom de la structure.")
@click.option("--kind", type=click.Choice(list(STRUCTURE_KINDS)), required=True)
@click.option("--commune", required=True, help="Code INSEE de la commune d'implantation.")
@click.option("--onboarded", type=click.DateTime(["%Y-%m-%d"]), help="Date d'entrée au programme.")
def create_structure(name, kind, commune, onboarded):
    """Crée une structure ; son numéro est seul sur la dernière ligne."""
    data = {
        "name": checked_text(name.strip(), "--name", 200, minimum=1),
        "kind": kind,
        "commune": checked_text(commune, "--commune", 20),
    }
    if onboarded:
        data["onboarded_on"] = onboarded.date()
    structure = structures.create_structure(Actor.operator(), data)
    click.echo(_("Structure créée : %(name)s.", name=structure.name))
    click.echo(structure.id)


@structures_cli.command("list")
@click.option(
    "--deployment",
    "deployment_id",
    type=click.IntRange(1, 2**31 - 1),
    help="Numéro du déploiement.",
)
@click.option("--active/--inactive", default=None, help="Seulement les actives, ou les inactives.")
def list_structures(deployment_id, active):
    """Liste les structures : type, commune, déploiement, comptes actifs, dernier signalement."""
    filters = {"deployment_id": deployment_id, "active": active}
    found = partners.list_partners(Actor.operator(), filters)
    click.echo(
        f"{'id':>5} {'nom':<30} {'type':<15} {'commune':<22} {'déploiement':<20} {'active':<6} "
        f"{'entrée':<10} {'personnes':>9} {'dernier signalement'}"
    )
    for partner in found:
        click.echo(_structure_line(partner))
    click.echo(_("%(n)d structure(s).", n=len(found)))


def _structure_line(partner) -> str:
    structure = partner.structure
    commune = f"{structure.commune.code} {structure.commune.name}"
    deployment = structure.deployment
    deployment = f"{deployment.id} {deployment.name}" if deployment is not None else "—"
    active = _("oui") if structure.active else _("non")
    last = partner.last_report.isoformat() if partner.last_report else "—"
    return (
        f"{structure.id:>5} {structure.name[:30]:<30} {structure.kind:<15} {commune[:22]:<22} "
        f"{deployment[:20]:<20} {active:<6} {structure.onboarded_on.isoformat():<10} "
        f"{partner.people:>9} {last}"
    )


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
    if password is not None:
        checked_text(password, "--password", 1000, minimum=1)
    user, drawn = accounts.create_user(
        Actor.operator(), email, role, structure_id, password, display_name
    )
    click.echo(_("Compte créé : %(email)s (%(role)s).", email=user.email, role=role))
    if drawn:
        click.echo(_("Mot de passe (affiché une seule fois) : %(password)s", password=drawn))


@users_cli.command("list")
@click.option("--role", type=click.Choice(list(ROLES)), help="Seulement ce rôle.")
@click.option("--structure", "structure_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--status", type=click.Choice(people.STATUSES), help="active, pending ou inactive.")
def list_users(role, structure_id, status):
    """Liste les comptes : numéro, adresse, rôle, structure, état, dernière connexion."""
    filters = {"role": role, "structure_id": structure_id, "status": status}
    found = people.list_people(Actor.operator(), filters)
    click.echo(f"{'id':>6} {'adresse':<40} {'rôle':<14} {'structure':>9} {'état':<9} connexion")
    for user in found:
        status = "inactive" if not user.active else "pending" if user.pending else "active"
        login = user.last_login_at.date().isoformat() if user.last_login_at else "-"
        structure = user.structure_id or "-"
        click.echo(
            f"{user.id:>6} {user.email[:40]:<40} {user.role:<14} {structure:>9} {status:<9} {login}"
        )
    click.echo(_("%(n)d compte(s).", n=len(found)))


@users_cli.command("deactivate")
@click.option("--email", required=True)
def deactivate_user(email):
    """Désactive un compte : ses sessions et ses jetons s'arrêtent aussitôt."""
    user = accounts.find_user(checked_text(email.strip().lower(), "--email", 254))
    people.set_active(Actor.operator(), user.id, False)
    click.echo(_("Compte désactivé : %(email)s.", email=user.email))


@users_cli.command("invite")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--structure", "structure_id", type=click.IntRange(1, 2**31 - 1))
@click.option(
    "--deployment",
    "deployment_ids",
    type=click.IntRange(1, 2**31 - 1),
    multiple=True,
    help="Déploiement vu par le compte (coordination, institution, évaluation) ; répétable.",
)
@click.option("--name", "display_name", default="", help="Nom affiché.")
@click.option("--language", type=click.Choice(people.LANGUAGES), default="fr", show_default=True)
def invite_user(email, role, structure_id, deployment_ids, display_name, language):
    """Invite une personne par courriel ; sans serveur de messagerie, affiche le lien."""
    data = {
        "email": checked_text(email, "--email", 254),
        "role": role,
        "structure_id": structure_id,
        "deployment_ids": list(deployment_ids),
        "display_name": checked_text(display_name, "--name", 120),
        "language": language,
    }
    sent = people.invite(Actor.operator(), data, people.public_address())
    click.echo(_("Compte invité : %(email)s (%(role)s).", email=sent.user.email, role=role))
    if sent.error:
        click.echo(_("Envoi échoué : %(error)s", error=sent.error), err=True)
    else:
        click.echo(_("Message : %(where)s", where=sent.delivered))
    if sent.show_link:
        click.echo(_("Lien d'invitation (à ne transmettre qu'à la personne) :"))
        click.echo(sent.url)


@tokens_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="", help="À quoi sert ce jeton.")
@click.option("--days", type=click.IntRange(1, 730), default=365, show_default=True)
def create_token(email, name, days):
    """Crée un jeton d'API, affiché une seule fois, seul sur la dernière ligne."""
    name = checked_text(name, "--name", 100)
    user = accounts.find_user(checked_text(email.strip().lower(), "--email", 254))
    token, record = accounts.create_token(Actor.operator(), name, days, user.id)
    click.echo(
        _(
            "Jeton créé pour %(email)s, valable jusqu'au %(date)s :",
            email=user.email,
            date=record.expires_at.date().isoformat(),
        )
    )
    click.echo(token)


deployments_cli = CommandGroup("deployments", help="Déploiements : villes et territoires.")


@deployments_cli.command("create")
@click.option("--name", required=True, help="Nom du déploiement.")
@click.option(
    "--territory",
    "codes",
    multiple=True,
    required=True,
    help="Code d'un territoire chargé (répétable : --territory 69123 --territory 69266).",
)
@click.option("--started", type=click.DateTime(["%Y-%m-%d"]), help="Date de début (AAAA-MM-JJ).")
def create_deployment(name, codes, started):
    """Ouvre un déploiement ; son numéro est seul sur la dernière ligne."""
    name = checked_text(name.strip(), "--name", 200, minimum=1)
    codes = [checked_text(code.strip(), "--territory", 20, minimum=1) for code in codes]
    started_on = started.date() if started else None
    deployment = deployment_cases.create_deployment(Actor.operator(), name, codes, started_on)
    click.echo(
        _(
            "Déploiement ouvert : %(name)s (%(territories)d territoire(s), "
            "%(structures)d structure(s)).",
            name=deployment.name,
            territories=len(deployment.territories),
            structures=deployment_cases.structures_count(deployment),
        )
    )
    click.echo(deployment.id)


@deployments_cli.command("list")
def list_deployments():
    """Liste les déploiements : numéro, nom, début, territoires, structures, personnes."""
    found = deployment_cases.list_deployments(Actor.operator())
    click.echo(
        f"{'id':>5} {'nom':<30} {'début':<10} {'territoires':>11} {'structures':>10} "
        f"{'personnes':>9}"
    )
    for row in found:
        click.echo(
            f"{row.id:>5} {row.name[:30]:<30} {row.started_on.isoformat():<10} "
            f"{row.territories:>11} {row.structures:>10} {row.people:>9}"
        )
    click.echo(_("%(n)d déploiement(s).", n=len(found)))


export_cli = CommandGroup("export", help="Exports CSV.")
retention_cli = CommandGroup("retention", help="Durée de conservation des signalements.")


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
    actor = _export_actor(email, role)
    filters = {k: v.date() if isinstance(v, dt.datetime) else v for k, v in filters.items() if v}
    export = export_cases.export_reports(actor, filters, exports.Options(sep, dates, location))
    with click.progressbar(length=export.rows(), label=_("Export"), file=sys.stderr) as bar:
        for chunk in export.chunks("cli"):
            out.write(chunk)
            bar.update(export.progress.rows - bar.pos)
    click.echo(_("%(n)d signalement(s) exporté(s).", n=export.progress.rows), err=True)


def _export_actor(email, role) -> Actor:
    if not email:
        return Actor.operator(role)
    user = accounts.find_user(checked_text(email.strip().lower(), "--as", 254))
    if not permissions.allows(user.role, "export.rows"):
        raise CommandError(_("Ce rôle n'exporte pas de lignes : %(role)s.", role=user.role))
    return Actor.of(user)


@retention_cli.command("apply")
@click.option("--older-than", help="Âge : 5y, 18m ou 90d (défaut : OHPUNAISES_RETENTION).")
@click.option("--dry-run", is_flag=True, help="Compte sans rien changer.")
def apply_retention(older_than, dry_run):
    """Anonymise les signalements plus anciens que la durée de conservation."""
    from flask import current_app

    age = (older_than or current_app.config["RETENTION"]).strip().lower()
    try:
        cutoff, count = retention.apply(Actor.operator(), age, dry_run)
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


import_cli = CommandGroup("import", help="Import de tableurs de partenaires (CSV, XLSX).")


@import_cli.command("reports")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--structure", type=int, required=True, help="Numéro de la structure.")
@click.option("--mapping", help="Correspondance enregistrée par la structure.")
@click.option("--sheet", help="Feuille à lire (XLSX ; défaut : la première).")
@click.option("--dry-run", is_flag=True, help="Vérifie sans rien enregistrer.")
@click.option("--valid-only", is_flag=True, help="Importe les lignes valides, laisse les autres.")
def import_reports(path, structure, mapping, sheet, dry_run, valid_only):
    """Importe des signalements d'un tableur, comme la page d'import : vérifié d'abord."""
    actor = Actor.operator("coordinator")
    size = os.path.getsize(path)
    if size > import_cases.max_bytes():
        raise CommandError(import_cases.too_large(size).message())
    with open(path, "rb") as file:
        data = file.read()
    name = os.path.basename(path)
    if dry_run:
        job = import_cases.start_import(actor, structure, name, data, sheet, mapping, False)
    else:
        job = import_cases.import_at_once(actor, structure, name, data, sheet, mapping, valid_only)
    click.echo(_("Fichier lu : %(what)s.", what=job.description), err=True)
    _print_check(job)
    if job.status == "imported":
        stored = job.counts.get("stored", 0)
        if not stored:
            click.echo(_("Aucune ligne nouvelle à importer."), err=True)
            return
        click.echo(_("%(n)d signalement(s) importé(s).", n=stored), err=True)
    elif not dry_run:
        raise CommandError(
            _(
                "%(n)s ligne(s) en erreur : corrigez le fichier, ou choisissez « importer les "
                "lignes valides ».",
                n=job.counts.get("invalid", 0) + job.counts.get("conflicts", 0),
            )
        )


def _print_check(job):
    counts = job.counts
    click.echo(
        _(
            "%(rows)d ligne(s) : %(valid)d à importer, %(invalid)d en erreur, %(already)d déjà "
            "importée(s), %(conflicts)d en conflit.",
            rows=counts.get("rows", 0),
            valid=counts.get("valid", 0),
            invalid=counts.get("invalid", 0),
            already=counts.get("already", 0),
            conflicts=counts.get("conflicts", 0),
        ),
        err=True,
    )
    for line, column, message in job.errors[:50]:
        where = _("ligne %(n)d", n=line) + (f", {column}" if column else "")
        click.echo(f"  {where} : {message}", err=True)
    if len(job.errors) > 50:
        more = _("… et %(n)d autre(s) erreur(s).", n=len(job.errors) - 50)
        click.echo(f"  {more}", err=True)
    if job.status == "failed":
        raise CommandError(job.failure or _("Échec de la vérification."))


relances_cli = CommandGroup("relances", help="Relances des partenaires qui n'envoient rien.")


@relances_cli.command("send")
@click.option(
    "--dry-run", is_flag=True, help="Affiche ce qui partirait, sans rien envoyer ni écrire."
)
@click.option("--date", "day", help="Agit comme si nous étions ce jour (AAAA-MM-JJ).")
@click.pass_context
def send_relances(ctx, dry_run, day):
    """Envoie les relances dues ce jour ; code de sortie 1 si un envoi a échoué."""
    today = _run_date(ctx, day)
    summary = reminder_cases.send_reminders(Actor.operator(), today, dry_run)
    day = summary.today.isoformat()
    if dry_run:
        click.echo(_("Essai au %(date)s : rien n'est envoyé ni écrit.", date=day))
    else:
        click.echo(_("Relances du %(date)s.", date=day))
    for level, count in summary.counts.items():
        _print_level(summary, level, count)
    for failure in summary.failures:
        what, error = _whom(failure.planned), failure.error
        click.echo(_("Échec : %(what)s : %(error)s", what=what, error=error), err=True)
    if summary.failed:
        ctx.exit(1)


def _run_date(ctx, day) -> dt.date | None:
    """The date of `--date`, or None for today; a bad one ends the command (status 2)."""
    if day is None:
        return None
    try:
        parsed = dt.date.fromisoformat(day.strip())
    except ValueError:
        parsed = None
    if parsed is None or len(day.strip()) != 10 or not 2000 <= parsed.year <= 2100:
        click.echo(
            _(
                "Date invalide pour --date : %(value)s (attendu : AAAA-MM-JJ, entre 2000 et 2100).",
                value=day,
            ),
            err=True,
        )
        ctx.exit(2)
    return parsed


def _print_level(summary, level: int, count):
    name = reminder_cases.LEVEL_LABELS[level]
    if summary.dry_run:
        line = _(
            "%(level)s : %(due)d à envoyer, %(already)d déjà envoyée(s).",
            level=name,
            due=count.due,
            already=count.already,
        )
    else:
        line = _(
            "%(level)s : %(sent)d envoyée(s), %(failed)d en échec, %(already)d déjà envoyée(s).",
            level=name,
            sent=count.sent,
            failed=count.failed,
            already=count.already,
        )
    click.echo(line)
    if summary.dry_run:
        for planned in summary.planned:
            if planned.level == level and not planned.done:
                to = ", ".join(r.email for r in planned.recipients) or _("aucune adresse")
                again = " " + _("(nouvel essai)") if planned.status else ""
                click.echo(f"  {_whom(planned)}{again} → {to}")


def _whom(planned) -> str:
    """A reminder in a few words: its structure and period, or its coordinator and week."""
    if planned.level == 3:
        return _(
            "compte n° %(id)d, semaine du %(monday)s",
            id=planned.user_id,
            monday=planned.period_start.isoformat(),
        )
    return _(
        "%(structure)s, niveau %(level)d, %(period)s",
        structure=planned.structure_name,
        level=planned.level,
        period=cadence.period_words(planned.period),
    )


opendata_cli = CommandGroup("opendata", help="Données ouvertes : indicateurs publics par commune.")


@opendata_cli.command("package")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    required=True,
    help="Dossier où écrire le paquet (créé au besoin ; ses fichiers du même nom remplacés).",
)
@click.option("--date", "day", help="Agit comme si nous étions ce jour (AAAA-MM-JJ).")
@click.pass_context
def opendata_package(ctx, out, day):
    """Écrit le paquet pour data.gouv.fr : indicateurs par commune et par trimestre complet,
    masqués comme sur les pages publiques, avec leur schéma, README et licence."""
    today = _run_date(ctx, day)
    try:
        package = opendata.write_package(out, today, _quarter_written)
    except OSError as error:
        raise CommandError(_("Écriture impossible : %(error)s", error=error)) from error
    click.echo(
        _(
            "Paquet écrit dans %(directory)s : %(rows)d ligne(s), trimestres %(first)s à "
            "%(last)s, %(files)d fichier(s).",
            directory=package.directory,
            rows=package.rows,
            first=package.quarters[0],
            last=package.quarters[-1],
            files=len(package.files),
        )
    )


def _quarter_written(quarter: str, rows: int):
    click.echo(_("Trimestre %(quarter)s : %(n)d commune(s).", quarter=quarter, n=rows), err=True)


@click.command("roles", cls=Command)
@click.option("--markdown", is_flag=True, help="En tableau Markdown (pour la documentation).")
def roles_command(markdown):
    """Affiche la table des permissions : chaque action, et la portée de chaque rôle."""
    actors = [str(label) for label in permissions.ACTORS.values()]
    rows = permissions.rows()
    if markdown:
        click.echo("| action | " + " | ".join(actors) + " |")
        click.echo("|---" * (len(actors) + 1) + "|")
        for name, label, scopes in rows:
            cells = " | ".join(scope or "—" for scope in scopes)
            click.echo(f"| `{name}` {label} | {cells} |")
        return
    width = max(len(name) for name, _label, _scopes in rows)
    for name, label, scopes in rows:
        click.echo(f"{name:<{width}}  {label}")
        for actor, scope in zip(actors, scopes, strict=True):
            if scope:
                click.echo(f"{'':<{width}}    {actor} : {scope}")


COMMANDS = (
    territories_cli,
    init_command,
    demo.demo_command,
    structures_cli,
    deployments_cli,
    users_cli,
    tokens_cli,
    export_cli,
    import_cli,
    retention_cli,
    relances_cli,
    opendata_cli,
    roles_command,
)


def register_commands(app):
    """The commands, on the application's own `flask` command group too."""
    for command in COMMANDS:
        app.cli.add_command(command)


class CommandLine(click.Group):
    """The `ohpunaises` group: it lists its commands without building the application, which
    each command builds when it runs (so that `--help` needs no setting)."""

    def make_context(self, info_name, args, parent=None, **extra):
        extra.setdefault("obj", ScriptInfo(create_app=operator_app, set_debug_flag=False))
        return super().make_context(info_name, args, parent, **extra)


def operator_app():
    """The application as the command line runs it: an operator's work (a migration, a
    large export, demo data) may take longer than a page's statements are allowed."""
    from .app import create_app

    return create_app({"OHPUNAISES_STATEMENT_TIMEOUT": "0"})


def main():
    """Entry point of the `ohpunaises` console script."""
    group = CommandLine(help=_("Plateforme Oh Punaises! : base, territoires, comptes, exports."))
    for command in (db_cli, *COMMANDS):
        group.add_command(command)
    try:
        group.main(prog_name="ohpunaises")
    except ConfigError as error:  # from a command that is not ours (db upgrade)
        click.echo(_("Configuration invalide : %(error)s", error=error), err=True)
        sys.exit(2)
    except sa.exc.OperationalError as error:
        click.echo(_("Base de données injoignable : %(error)s", error=error.orig), err=True)
        sys.exit(1)
