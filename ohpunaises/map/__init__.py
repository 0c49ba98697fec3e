"""Territorial maps: a choropleth of an indicator by territory, and its embeddable view.

Builders (`builders`, `shapes`) make the folium map; `routes` serves it as our own pages.
"""

from flask import Blueprint

bp = Blueprint("map", __name__)

from . import routes  # noqa: E402, F401  (routes register on import)
