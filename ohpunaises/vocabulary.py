"""Controlled vocabularies: the stable identifiers clients rely on, with their labels."""

from flask_babel import lazy_gettext as _l

ROLES = {
    "agent": _l("Agent de terrain"),
    "partner_admin": _l("Administrateur de structure"),
    "coordinator": _l("Coordination du programme"),
    "institution": _l("Institution"),
    "evaluator": _l("Évaluation"),
}

STRUCTURE_KINDS = {
    "social_landlord": _l("Bailleur social"),
    "association": _l("Association"),
    "social_services": _l("Service social / CCAS"),
    "pest_control": _l("Entreprise de désinsectisation"),
    "health_centre": _l("Centre de santé"),
    "local_authority": _l("Collectivité"),
    "other": _l("Autre"),
}

TERRITORY_LEVELS = {
    "commune": _l("Commune"),
    "arrondissement": _l("Arrondissement"),
    "qpv": _l("Quartier prioritaire (QPV)"),
}

HOUSING = {
    "social": _l("Logement social"),
    "private_rented": _l("Locatif privé"),
    "owner_occupied": _l("Propriétaire occupant"),
    "emergency_accommodation": _l("Hébergement d'urgence ou hôtel"),
    "other": _l("Autre"),
}

BUILDING_TYPES = {
    "collective": _l("Habitat collectif"),
    "individual": _l("Habitat individuel"),
}

VULNERABILITIES = {
    "minimum_benefits": _l("Minima sociaux"),
    "isolated_elderly": _l("Personne âgée isolée"),
    "disability": _l("Handicap"),
    "young_children": _l("Jeunes enfants"),
    "psychological_distress": _l("Détresse psychologique / accumulation"),
}

INFESTATION_LEVELS = {
    "suspected": _l("Suspicion"),
    "low": _l("Faible"),
    "moderate": _l("Modérée"),
    "severe": _l("Sévère"),
}

CONFIRMATIONS = {
    "visual": _l("Constat visuel"),
    "canine_detection": _l("Détection canine"),
    "professional": _l("Professionnel"),
}

ACTIONS = {
    "diagnosis": _l("Diagnostic"),
    "canine_detection": _l("Détection canine"),
    "chemical_treatment": _l("Traitement chimique"),
    "heat_treatment": _l("Traitement thermique (chaleur, vapeur)"),
    "freezing": _l("Congélation"),
    "vacuuming": _l("Aspiration"),
    "social_support": _l("Accompagnement social"),
    "decluttering": _l("Aide au désencombrement"),
    "furniture_removal": _l("Évacuation de mobilier"),
    "mattress_covers": _l("Housses de matelas"),
    "awareness": _l("Sensibilisation"),
    "referral": _l("Orientation"),
    "equipment_loan": _l("Prêt de matériel"),
}

COST_PAYERS = {
    "household": _l("Ménage"),
    "landlord": _l("Bailleur"),
    "structure": _l("Structure partenaire"),
    "public_funds": _l("Fonds publics"),
    "shared": _l("Partagé"),
    "other": _l("Autre"),
}

STATUSES = {
    "ongoing": _l("En cours"),
    "resolved": _l("Résolu"),
    "reinfested": _l("Réinfesté"),
    "lost": _l("Perdu de vue"),
}

SOURCES = {
    "form": _l("Formulaire"),
    "api": _l("API"),
    "import": _l("Import"),
}

TRAINING_KINDS = {
    "professional_training": _l("Formation de professionnels"),
    "resident_awareness": _l("Sensibilisation d'habitants"),
    "workshop": _l("Atelier"),
}

ACTIVITY_KINDS = {
    "prospection_meeting": _l("Réunion de prospection"),
    "call": _l("Appel"),
    "email": _l("Courriel"),
    "steering_committee": _l("Comité de pilotage"),
    "technical_committee": _l("Comité technique"),
    "training": _l("Formation"),
    "webinar": _l("Webinaire"),
    "event": _l("Événement"),
}

ACTIVITY_STATUSES = {
    "planned": _l("Prévue"),
    "done": _l("Faite"),
    "cancelled": _l("Annulée"),
}

# A partner's way through the programme (DESIGN §2, partner follow-up). The team records the
# stages before and after reporting; those the data can tell are derived, never typed.
STAGES = {
    "prospect": _l("Prospect"),
    "contacted": _l("Contacté"),
    "met": _l("Rencontré"),
    "agreement": _l("Convention signée"),
    "trained": _l("Formé"),
    "active": _l("Actif"),
    "silent": _l("Silencieux"),
    "paused": _l("En pause"),
    "left": _l("Sorti"),
}
RECORDED_STAGES = ("prospect", "contacted", "met", "agreement", "paused", "left")
DERIVED_STAGES = ("trained", "active", "silent")
BEFORE_AGREEMENT = ("prospect", "contacted", "met")
OUT_OF_PROGRAMME = ("paused", "left")

CADENCES = {
    "monthly": _l("Mensuelle"),
    "quarterly": _l("Trimestrielle"),
}
