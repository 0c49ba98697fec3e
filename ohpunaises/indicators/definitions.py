"""The indicators of DESIGN §4: identifiers, French labels, definitions, units, bases."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..territories import LEVELS

# National references, shown beside the programme's own figures.
NATIONAL_MEAN_COST_EUR = 866
NATIONAL_INFESTED_HOUSEHOLDS_PERCENT = 11
NATIONAL_SOURCE = _l(
    "ANSES (2023), expertise collective sur les punaises de lit : 11 % des ménages français "
    "infestés entre 2017 et 2022, pour un coût moyen de 866 € par ménage."
)

ACTIVE_DAYS = 90
REINFESTATION_DAYS = 365
TREATMENTS = ("chemical_treatment", "heat_treatment", "freezing", "vacuuming")
CLOSED_STATUSES = ("resolved", "reinfested", "lost")

THEMES = {
    "activity": _l("Activité"),
    "vulnerability": _l("Vulnérabilité"),
    "outcome": _l("Résultats"),
    "cost": _l("Coûts"),
    "essaimage": _l("Essaimage"),
    "advocacy": _l("Plaidoyer"),
}


@dataclass(frozen=True)
class Reference:
    """A national figure to read an indicator against."""

    value: float
    unit: object
    source: object


@dataclass(frozen=True)
class Indicator:
    """One indicator: what it means, and which computed figures it is made of.

    `counts` names the counts it rests on (those suppression protects), in the order its
    shape expects: count (the count, then those it rests on), share (numerator,
    denominator), mean, median and date (how many values), breakdown (the parts, their
    total), rate (the numerator), ratio (inside QPV, all). `value` names a computed figure
    that is not a count. `levels` are those at which it has a value per territory
    (structures only have a home commune).
    """

    id: str
    theme: str
    label: object
    definition: object
    unit: object
    basis: object
    shape: str
    counts: tuple[str, ...] = ()
    value: str | None = None
    reference: Reference | None = None
    levels: tuple[str, ...] = LEVELS

    def describe(self) -> dict:
        """The definition as JSON, for the API and the documentation pages."""
        described = {
            "id": self.id,
            "theme": self.theme,
            "theme_label": str(THEMES[self.theme]),
            "label": str(self.label),
            "definition": str(self.definition),
            "unit": str(self.unit),
            "basis": str(self.basis),
            "shape": self.shape,
            "levels": list(self.levels),
            "protection": str(PROTECTIONS[self.shape]),
        }
        if self.reference:
            described["reference"] = reference_dict(self.reference)
        return described


# How each shape of figure is protected for readers other than the coordination
# (docs/privacy.md); the coordination reads every figure as it is.
_PERTURBED = _l(
    "Pour les lecteurs autres que la coordination : effectif décalé d'un petit écart aléatoire, "
    "toujours le même pour les mêmes signalements (2 au plus dans 19 cas sur 20, 8 au plus), "
    "masqué (« < K ») de 1 à K-1."
)
_FROM_PERTURBED = _l(
    "Pour les lecteurs autres que la coordination : calculé à partir des effectifs décalés (2 au "
    "plus dans 19 cas sur 20, 8 au plus), masqué (« s ») quand l'un d'eux l'est."
)
_EXACT_WITH_BASIS = _l(
    "Exact ; pour les lecteurs autres que la coordination, masqué (« s ») quand l'effectif sur "
    "lequel il repose l'est."
)
PROTECTIONS = {
    "count": _PERTURBED,
    "breakdown": _PERTURBED,
    "share": _FROM_PERTURBED,
    "rate": _FROM_PERTURBED,
    "ratio": _FROM_PERTURBED,
    "mean": _EXACT_WITH_BASIS,
    "median": _EXACT_WITH_BASIS,
    "date": _EXACT_WITH_BASIS,
    "coverage": _l("Exact : qu'une commune soit couverte ne dit rien d'un ménage."),
}


def reference_dict(reference: Reference) -> dict:
    """A national reference as JSON."""
    return {
        "value": reference.value,
        "unit": str(reference.unit),
        "source": str(reference.source),
    }


COMMUNE_ONLY = ("commune",)

REPORTS_BASIS = _l(
    "Signalements : date d'intervention, et commune, arrondissement et QPV attribués par le "
    "serveur à partir du point ou de la commune saisis."
)
STRUCTURES_BASIS = _l(
    "Structures partenaires : date d'entrée, type, commune d'implantation (pour un arrondissement "
    "ou un QPV : la commune qui le contient) ; et la date de leurs signalements."
)
TRAININGS_BASIS = _l(
    "Sessions de formation et de sensibilisation : date, participants, territoire de la session "
    "ou, à défaut, commune de la structure qui l'a tenue."
)
REPORTING_BASIS = _l(
    "Structures partenaires : rythme de déclaration (mensuel ou trimestriel), date d'entrée, "
    "pauses et sorties, commune d'implantation ; date d'intervention et date d'arrivée de leurs "
    "signalements, déclarations « rien à signaler »."
)

_DEFINITIONS = (
    Indicator(
        "reports",
        "activity",
        _l("Signalements"),
        _l("Nombre d'interventions signalées dont la date d'intervention tombe dans la période."),
        _l("signalements"),
        REPORTS_BASIS,
        "count",
        ("reports",),
    ),
    Indicator(
        "distinct_dwellings",
        "activity",
        _l("Logements distincts"),
        _l(
            "Nombre de logements différents : les signalements d'une même structure portant la "
            "même clé de logement comptent pour un, un signalement sans clé pour un logement."
        ),
        _l("logements"),
        _l("Signalements : clé pseudonyme du logement et structure."),
        "count",
        ("dwellings",),
    ),
    Indicator(
        "people_reached",
        "activity",
        _l("Personnes touchées"),
        _l(
            "Somme des tailles de ménage déclarées, chaque logement comptant une fois, avec la "
            "plus grande taille déclarée dans la période."
        ),
        _l("personnes"),
        _l("Signalements : taille du ménage, clé du logement."),
        "count",
        ("people_reached", "dwellings"),
    ),
    Indicator(
        "reports_by_action",
        "activity",
        _l("Signalements par action"),
        _l(
            "Nombre de signalements ayant comporté chaque action ; un signalement peut en "
            "compter plusieurs, les parts ne s'additionnent donc pas."
        ),
        _l("signalements"),
        _l("Signalements : actions menées."),
        "breakdown",
        ("action", "reports"),
    ),
    Indicator(
        "reports_by_structure_kind",
        "activity",
        _l("Signalements par type de structure"),
        _l("Nombre de signalements selon le type de la structure partenaire qui les a faits."),
        _l("signalements"),
        _l("Signalements et type de leur structure."),
        "breakdown",
        ("structure_kind", "reports"),
    ),
    Indicator(
        "share_vulnerable",
        "vulnerability",
        _l("Part des ménages vulnérables"),
        _l(
            "Part des signalements où le ménage présente au moins une vulnérabilité : minima "
            "sociaux, personne âgée isolée, handicap, jeunes enfants, détresse psychologique ou "
            "accumulation."
        ),
        _l("%"),
        _l("Signalements : indicateurs de vulnérabilité du ménage."),
        "share",
        ("vulnerable", "reports"),
    ),
    Indicator(
        "share_social_housing",
        "vulnerability",
        _l("Part en logement social"),
        _l("Part des signalements dont le logement est un logement social."),
        _l("%"),
        _l("Signalements : type de logement."),
        "share",
        ("social_housing", "reports"),
    ),
    Indicator(
        "share_in_qpv",
        "vulnerability",
        _l("Part en quartier prioritaire"),
        _l(
            "Part des signalements situés dans un quartier prioritaire de la politique de la "
            "ville (QPV) chargé dans la plateforme."
        ),
        _l("%"),
        _l("Signalements : QPV attribué par le serveur ; contours des QPV (ANCT)."),
        "share",
        ("in_qpv", "reports"),
    ),
    Indicator(
        "resolution_rate",
        "outcome",
        _l("Taux de résolution"),
        _l(
            "Parmi les cas clos (résolus, réinfestés ou perdus de vue), part des cas résolus ; "
            "les cas en cours ne comptent pas, et un cas réinfesté n'est pas une résolution."
        ),
        _l("%"),
        _l("Signalements : statut actuel."),
        "share",
        ("resolved", "closed"),
    ),
    Indicator(
        "median_days_to_resolution",
        "outcome",
        _l("Délai médian de résolution"),
        _l(
            "Médiane du nombre de jours entre l'intervention et la date de résolution, parmi "
            "les signalements qui ont une date de résolution."
        ),
        _l("jours"),
        _l("Signalements : date d'intervention et date de résolution."),
        "median",
        ("resolution_timed",),
        "median_days_to_resolution",
    ),
    Indicator(
        "reinfestation_rate_12m",
        "outcome",
        _l("Réinfestation à 12 mois"),
        _l(
            "Parmi les signalements de la période résolus depuis au moins 365 jours, part "
            "suivie dans les 365 jours d'une réinfestation : passage au statut « réinfesté », "
            "ou nouveau signalement du même logement par la même structure."
        ),
        _l("%"),
        _l(
            "Signalements : date de résolution, historique des statuts, clé du logement et "
            "signalements ultérieurs du même logement."
        ),
        "share",
        ("reinfested_12m", "followed_12m"),
    ),
    Indicator(
        "mean_cost_total",
        "cost",
        _l("Coût moyen d'une intervention"),
        _l("Moyenne du coût total, parmi les signalements où il est renseigné."),
        _l("€"),
        _l("Signalements : coût total."),
        "mean",
        ("cost_total_n",),
        "cost_total_cents",
        Reference(NATIONAL_MEAN_COST_EUR, _l("€ par ménage"), NATIONAL_SOURCE),
    ),
    Indicator(
        "mean_cost_household",
        "cost",
        _l("Reste à charge moyen des ménages"),
        _l(
            "Moyenne de la part du coût payée par le ménage, parmi les signalements où elle est "
            "renseignée."
        ),
        _l("€"),
        _l("Signalements : part payée par le ménage."),
        "mean",
        ("cost_household_n",),
        "cost_household_cents",
    ),
    Indicator(
        "share_non_chemical",
        "cost",
        _l("Part des traitements non chimiques"),
        _l(
            "Parmi les signalements ayant comporté un traitement (chimique, thermique, "
            "congélation ou aspiration), part de ceux traités sans produit chimique."
        ),
        _l("%"),
        _l("Signalements : actions menées."),
        "share",
        ("treated_non_chemical", "treated"),
    ),
    Indicator(
        "active_structures",
        "essaimage",
        _l("Structures actives"),
        _l(
            "Structures ayant signalé au moins une intervention dans le territoire au cours des "
            "90 jours qui précèdent la date de référence."
        ),
        _l("structures"),
        _l("Signalements : structure et date d'intervention."),
        "count",
        ("active_structures",),
    ),
    Indicator(
        "silent_structures",
        "essaimage",
        _l("Structures silencieuses"),
        _l(
            "Structures partenaires actives, entrées dans le programme depuis au moins 90 jours, "
            "sans aucun signalement dans les 90 jours qui précèdent la date de référence : les "
            "partenaires à relancer."
        ),
        _l("structures"),
        STRUCTURES_BASIS,
        "count",
        ("silent_structures",),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "structures_onboarded_by_quarter",
        "essaimage",
        _l("Structures entrées par trimestre"),
        _l(
            "Nombre de structures entrées dans le programme pendant la période, par trimestre "
            "civil de leur date d'entrée et par type de structure."
        ),
        _l("structures"),
        STRUCTURES_BASIS,
        "breakdown",
        ("onboarded_by_quarter", "onboarded"),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "communes_covered",
        "essaimage",
        _l("Communes couvertes"),
        _l(
            "Communes du périmètre où a eu lieu au moins un signalement pendant la période, ou "
            "où est implantée une structure active (ayant signalé dans les 90 derniers jours)."
        ),
        _l("communes"),
        _l("Signalements, structures et communes chargées dans la plateforme."),
        "coverage",
        (),
        "communes_covered",
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "population_share_covered",
        "essaimage",
        _l("Population couverte"),
        _l("Part de la population des communes du périmètre qui habite une commune couverte."),
        _l("%"),
        _l("Communes couvertes et population municipale (INSEE)."),
        "coverage",
        (),
        "population_share_covered",
        levels=(),
    ),
    Indicator(
        "training_sessions",
        "essaimage",
        _l("Sessions de formation et de sensibilisation"),
        _l(
            "Nombre de sessions tenues pendant la période : formations de professionnels, "
            "sensibilisations d'habitants et ateliers."
        ),
        _l("sessions"),
        TRAININGS_BASIS,
        "count",
        ("training_sessions",),
    ),
    Indicator(
        "people_trained",
        "essaimage",
        _l("Personnes formées ou sensibilisées"),
        _l("Somme des participants aux sessions tenues pendant la période."),
        _l("personnes"),
        TRAININGS_BASIS,
        "count",
        ("people_trained", "training_sessions"),
    ),
    Indicator(
        "median_days_to_first_report",
        "essaimage",
        _l("Délai médian avant le premier signalement"),
        _l(
            "Parmi les structures entrées dans le programme pendant la période et qui ont signalé "
            "depuis, médiane du nombre de jours entre l'entrée et le premier signalement."
        ),
        _l("jours"),
        STRUCTURES_BASIS,
        "median",
        ("first_reported_structures",),
        "median_days_to_first_report",
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "expected_reports",
        "essaimage",
        _l("Périodes de déclaration attendues"),
        _l(
            "Nombre de périodes (mois ou trimestres, selon le rythme de chaque structure) pour "
            "lesquelles une déclaration était attendue, dont le dernier jour tombe dans la "
            "période et dont l'échéance (10 jours après la fin) est passée à la date du "
            "calcul : une structure doit chaque période qui commence alors qu'elle est entrée "
            "dans le programme, ni en pause ni sortie."
        ),
        _l("périodes"),
        REPORTING_BASIS,
        "count",
        ("expected_reports",),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "received_reports",
        "essaimage",
        _l("Périodes renseignées"),
        _l(
            "Parmi les périodes attendues, celles où la structure a fait au moins un "
            "signalement (date d'intervention dans la période) ou déclaré n'avoir rien à "
            "signaler."
        ),
        _l("périodes"),
        REPORTING_BASIS,
        "count",
        ("received_reports", "expected_reports"),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "completeness_rate",
        "essaimage",
        _l("Complétude des déclarations"),
        _l("Part des périodes attendues qui ont été renseignées, à la date du calcul."),
        _l("%"),
        REPORTING_BASIS,
        "share",
        ("received_reports", "expected_reports"),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "timeliness_rate",
        "essaimage",
        _l("Ponctualité des déclarations"),
        _l(
            "Part des périodes attendues renseignées à temps : le premier signalement ou la "
            "déclaration « rien à signaler » de la période est arrivé au plus tard 10 jours "
            "après sa fin."
        ),
        _l("%"),
        REPORTING_BASIS,
        "share",
        ("on_time_reports", "expected_reports"),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "first_report_by_territory",
        "essaimage",
        _l("Date du premier signalement"),
        _l(
            "Date d'intervention du premier signalement du territoire, depuis le début du "
            "programme jusqu'à la fin de la période : la chronologie de l'essaimage."
        ),
        _l("date"),
        REPORTS_BASIS,
        "date",
        ("reports_to_end",),
        "first_report",
    ),
    Indicator(
        "reports_per_10000",
        "advocacy",
        _l("Signalements pour 10 000 habitants"),
        _l(
            "Nombre de signalements de la période rapporté à la population municipale du "
            "territoire, pour 10 000 habitants."
        ),
        _l("signalements pour 10 000 habitants"),
        _l("Signalements ; population municipale (INSEE) des territoires."),
        "rate",
        ("reports",),
    ),
    Indicator(
        "qpv_rate_ratio",
        "advocacy",
        _l("Surreprésentation en quartier prioritaire"),
        _l(
            "Taux de signalements pour 10 000 habitants dans les QPV, divisé par le même taux "
            "hors QPV, dans les communes du périmètre ; 2 signifie deux fois plus fréquent en QPV."
        ),
        _l("rapport"),
        _l("Signalements ; population des QPV (ANCT) et des communes (INSEE)."),
        "ratio",
        ("in_qpv", "reports"),
        levels=COMMUNE_ONLY,
    ),
    Indicator(
        "reports_by_quarter",
        "advocacy",
        _l("Signalements par trimestre"),
        _l("Nombre de signalements par trimestre civil de la date d'intervention : la tendance."),
        _l("signalements"),
        REPORTS_BASIS,
        "breakdown",
        ("quarter", "reports"),
    ),
)

INDICATORS: dict[str, Indicator] = {indicator.id: indicator for indicator in _DEFINITIONS}


def describe_all() -> list[dict]:
    """Every indicator definition, in the order of DESIGN §4."""
    return [indicator.describe() for indicator in INDICATORS.values()]
