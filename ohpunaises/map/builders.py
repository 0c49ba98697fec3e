"""Folium maps of an indicator by territory, drawn as the actor may see them.

Every figure comes from `indicators.compute`, so a map hides exactly the cells the indicator
tables hide. Leaflet and its plugins come from the app's static files: folium's defaults
(CDN links to Leaflet, jQuery, Bootstrap, Font Awesome…) are replaced, and what the map does
not use is dropped. Text from the database is escaped before folium inserts it as HTML.
"""

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import folium
import numpy as np
import sqlalchemy as sa
from branca.element import Element
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import FastMarkerCluster
from folium.template import Template
from markupsafe import Markup, escape

from .. import privacy
from ..extensions import db
from ..indicators import INDICATORS, Period
from ..indicators.definitions import Indicator
from ..indicators.results import Figure, IndicatorResult, Result
from ..models import Report, Structure
from ..permissions import Actor, restrict, structures_within
from ..usecases.indicators import read_indicators
from .shapes import Shape, bounds, commune_points, shapes
from .tiles import EXTENT, level_bounds, outlines, territory_count

MAP_INDICATORS = ("reports_per_10000", "reports")
LEVELS = {"commune": _l("Communes"), "arrondissement": _l("Arrondissements de Lyon")}
POINT_LIMIT = 5000
PALETTE = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")  # ColorBrewer OrRd
ZERO_COLOUR = "#ffffff"
HIDDEN_COLOUR = "#9e9e9e"
NONE_COLOUR = "#e0e0e0"
LYON = (45.76, 4.84)
KEPT_MAPS = 32  # readers × indicators × periods whose territory figures stay made

_made: OrderedDict = OrderedDict()
_made_lock = threading.Lock()

# The only assets a map loads, from the app itself (see static/vendor/README.md).
LEAFLET_JS = [("leaflet", "vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "vendor/leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", "vendor/leaflet.markercluster/leaflet.markercluster.js")]
TILES_JS = [("ohp_territory_tiles", "js/territory-tiles.js")]
CLUSTER_CSS = [
    ("markerclustercss", "vendor/leaflet.markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", "vendor/leaflet.markercluster/MarkerCluster.Default.css"),
]

STRUCTURE_CALLBACK = """function (row) {
    var icon = L.divIcon({html: '<span class="ohp-structure-pin"></span>',
        className: "ohp-structure", iconSize: [14, 14], iconAnchor: [7, 7]});
    return L.marker(new L.LatLng(row[0], row[1]), {icon: icon}).bindTooltip(row[2]);
}"""
# A light circle per report: thousands of them stay fast, and no icon font is needed.
POINT_CALLBACK = """function (row) {
    return L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: 5, weight: 1, color: "#7a1f2b", fillColor: "#c2185b", fillOpacity: 0.8});
}"""


@dataclass(frozen=True)
class MapQuery:
    """What to draw: an indicator, a level of territories, a period."""

    indicator: str = "reports_per_10000"
    level: str = "commune"
    period: Period = field(default_factory=Period)


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    label: str
    css_class: str = ""


@dataclass
class RenderedMap:
    """The parts of a folium page, for our own template, and what to print beside the map."""

    header: Markup
    html: Markup
    script: Markup
    title: str
    legend: list[LegendEntry]
    notes: list[str]
    whole: str


class LocalMap(folium.Map):
    """A folium map that loads Leaflet, and only Leaflet, from the app's static files."""

    default_js: list = []
    default_css: list = []


def build_map(query: MapQuery, actor: Actor, tile_endpoint: str = "map.map_tile") -> RenderedMap:
    """The map of `query` as `actor` may see it.

    A level with more territories than `MAP_TILES_ABOVE` is drawn from tiles
    (`tile_endpoint`, see `tiles`), loaded as the view moves; a smaller one is written into
    the page whole.
    """
    figures = map_figures(query, actor)
    raw = privacy.reads_raw(actor.role)
    tiled = territory_count(query.level) > current_app.config["MAP_TILES_ABOVE"]
    if tiled:
        folium_map = _base_map(level_bounds(query.level))
        TerritoryTiles(tile_url(query, tile_endpoint), _tile_labels(figures.indicator)).add_to(
            folium_map
        )
    else:
        territory_shapes = shapes(query.level)
        folium_map = _base_map(bounds(territory_shapes))
        _territory_layer(query, territory_shapes, figures).add_to(folium_map)
    _qpv_layer(folium_map)
    _structure_layer(folium_map, actor, tiled)
    # The coordination reads the points' limit; everyone else, what "< K" and "s" mean.
    k = figures.result.suppression.k
    notes = [] if raw else [privacy.legend(k)]
    if actor.may("report.points"):
        notes.append(_report_layer(folium_map, query, actor))
    folium.LayerControl(collapsed=True).add_to(folium_map)
    return RenderedMap(
        *render_parts(folium_map),
        title=str(figures.indicator.label),
        legend=figures.classes.legend(k, raw),
        notes=notes,
        whole=figures.shown.whole.display,
    )


@dataclass(frozen=True)
class MapFigures:
    """The figures a map shows, per territory id, and the classes that colour them."""

    indicator: Indicator
    result: Result
    shown: IndicatorResult  # the indicator drawn
    reports: IndicatorResult  # the count of reports, in every tooltip
    chosen: dict  # territory id → Figure of the indicator
    counts: dict  # territory id → Figure of the reports
    territories: dict  # territory id → TerritoryRef
    classes: "Classes"
    heads: dict = field(default_factory=dict)  # territory id → its properties in a tile

    def tile_head(self, territory_id: int) -> str | None:
        """'[code,name,value,count,fill,hidden' as a tile writes it: made once per territory;
        None for a territory the figures do not know."""
        head = self.heads.get(territory_id)
        if head is None and territory_id in self.territories:
            territory = self.territories[territory_id]
            style = _territory_properties(
                self.chosen.get(territory_id), self.counts.get(territory_id), self.classes
            )
            properties = [
                territory.code,
                territory.name,
                style["value"],
                style["count"] if self.indicator.id != "reports" else None,
                style["fill"],
                style["hidden"],
            ]
            head = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))[:-1]
            self.heads[territory_id] = head
        return head


def map_figures(query: MapQuery, actor: Actor) -> MapFigures:
    """What the map of `query` shows `actor`: the page and each of its tiles read it alike.

    The indicators' results are shared while the data stay the same (`indicators.compute`),
    so what is made from them here is kept beside them: a view's dozen tiles look up the
    territories' figures and classes once.
    """
    indicator = INDICATORS[query.indicator]
    ids = list(dict.fromkeys([indicator.id, "reports"]))
    result = read_indicators(actor, query.period, None, query.level, ids, action="map.read")
    shown, reports = result.indicator(indicator.id), result.indicator("reports")
    key = (id(shown), id(reports))
    with _made_lock:
        made = _made.get(key)
    if made is not None and made.shown is shown and made.reports is reports:
        return replace(made, result=result)
    chosen = {row.territory.id: row.figure for row in shown.territories}
    counts = {row.territory.id: row.figure for row in reports.territories}
    classes = Classes.for_values(
        [figure.value for figure in chosen.values() if not figure.suppressed],
        integers=indicator.shape == "count",
    )
    territories = {row.territory.id: row.territory for row in shown.territories}
    made = MapFigures(indicator, result, shown, reports, chosen, counts, territories, classes)
    with _made_lock:
        _made[key] = made  # holds `shown` and `reports`: their ids stay theirs while kept
        while len(_made) > KEPT_MAPS:
            _made.popitem(last=False)
    return made


def territory_tile(query: MapQuery, actor: Actor, z: int, x: int, y: int) -> str:
    """Tile z/x/y of the map of `query`, as JSON text: each territory's outline in tile units,
    with its figures as `actor` may read them and its colour.

    `{"extent": EXTENT, "territories": [[code, name, value, count, fill, hidden, polygons],
    …]}`:
    the texts as the page prints them ("< K" and "s" for hidden cells, never their value),
    `count` null when the indicator is the count of reports itself, `polygons` MultiPolygon
    coordinates in tile units (`tiles`).
    """
    figures = map_figures(query, actor)
    found = [
        f"{head},{outline.polygons}]"
        for outline in outlines(query.level, z, x, y)
        if (head := figures.tile_head(outline.territory_id)) is not None
    ]
    return f'{{"extent":{EXTENT},"territories":[{",".join(found)}]}}'


def query_args(query: MapQuery) -> dict:
    """The query string that asks for `query` again."""
    args = {"indicator": query.indicator, "level": query.level}
    if query.period.start:
        args["from"] = query.period.start.isoformat()
    if query.period.end:
        args["to"] = query.period.end.isoformat()
    return args


def tile_url(query: MapQuery, endpoint: str) -> str:
    """The address of the tiles of `query`, with {z}, {x} and {y} for Leaflet to fill in."""
    url = url_for(endpoint, z=0, x=0, y=0, **query_args(query))
    return url.replace("/0/0/0.json", "/{z}/{x}/{y}.json", 1)


def _tile_labels(indicator: Indicator) -> dict:
    labels = {"territory": _("Territoire"), "value": str(indicator.label)}
    if indicator.id != "reports":
        labels["count"] = _("Signalements")
    return labels


class TerritoryTiles(JSCSSMixin, Layer):
    """The territories drawn from tiles (static/js/territory-tiles.js)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.ohpTerritoryTiles(
                {{ this.url|tojson }}, {labels: {{ this.labels|tojson }}}
            );
        {% endmacro %}
        """
    )

    def __init__(self, url: str, labels: dict):
        super().__init__(name=_("Territoires"), overlay=True, control=False)
        self._name = "TerritoryTiles"
        self.url = url
        self.labels = labels
        self.default_js = _static(TILES_JS)


# The territories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Classes:
    """Up to five classes of values by quantiles, above a class of its own for zero."""

    uppers: tuple = ()
    integers: bool = False

    @classmethod
    def for_values(cls, values, integers=False) -> "Classes":
        positive = np.array([value for value in values if value], dtype=float)
        if not positive.size:
            return cls((), integers)
        quantiles = np.quantile(positive, np.linspace(0.2, 1, 5))
        digits = 0 if integers else 1
        uppers = sorted({_round_up(value, digits) for value in quantiles})
        return cls(tuple(uppers), integers)

    def colours(self) -> list[str]:
        picks = np.linspace(0, len(PALETTE) - 1, len(self.uppers)).round().astype(int)
        return [PALETTE[index] for index in picks]

    def colour(self, value) -> str:
        if value is None:
            return NONE_COLOUR
        if not value:
            return ZERO_COLOUR
        for upper, colour in zip(self.uppers, self.colours(), strict=True):
            if value <= upper:
                return colour
        return self.colours()[-1]

    def legend(self, k: int, raw: bool) -> list[LegendEntry]:
        entries = [LegendEntry(ZERO_COLOUR, "0")]
        lower = None
        for upper, colour in zip(self.uppers, self.colours(), strict=True):
            if lower is None:
                label = _("jusqu'à %(upper)s", upper=privacy.format_value(upper))
            else:
                label = _(
                    "de %(lower)s à %(upper)s",
                    lower=privacy.format_value(lower),
                    upper=privacy.format_value(upper),
                )
            entries.append(LegendEntry(colour, label))
            lower = upper
        if not raw:
            label = _("< %(k)d ou s : masqué (secret statistique)", k=k)
            entries.append(LegendEntry(HIDDEN_COLOUR, label, "hidden"))
        entries.append(LegendEntry(NONE_COLOUR, _("non disponible"), "none"))
        return entries


def _round_up(value: float, digits: int) -> float | int:
    factor = 10**digits
    rounded = float(np.ceil(value * factor) / factor)
    return int(rounded) if digits == 0 else rounded


def _territory_layer(query, territory_shapes, figures: MapFigures):
    indicator = figures.indicator
    features = [
        _territory_feature(
            shape, figures.chosen.get(shape.id), figures.counts.get(shape.id), figures.classes
        )
        for shape in territory_shapes
    ]
    fields, aliases = ["name", "value"], [_("Territoire"), str(indicator.label)]
    if indicator.id != "reports":
        fields.append("count")
        aliases.append(_("Signalements"))
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=str(LEVELS[query.level]),
        style_function=_territory_style,
        highlight_function=lambda _feature: {"weight": 3, "color": "#1b1b1f"},
        zoom_on_click=False,
        control=False,
        tooltip=folium.GeoJsonTooltip(
            fields=fields, aliases=[str(escape(alias)) for alias in aliases], sticky=True
        ),
    )


def _territory_feature(shape: Shape, figure: Figure | None, count: Figure | None, classes) -> dict:
    properties = _territory_properties(figure, count, classes)
    for key in ("value", "count"):  # folium's tooltip inserts them as HTML
        properties[key] = str(escape(properties[key]))
    return {
        "type": "Feature",
        "id": shape.code,
        "geometry": shape.geometry,
        "properties": {"name": str(escape(shape.name)), **properties},
    }


def _territory_properties(figure: Figure | None, count: Figure | None, classes) -> dict:
    """A territory's texts and colour, as the reader may see them."""
    figure = figure or Figure(None, False, privacy.NOT_AVAILABLE)
    hidden = figure.suppressed
    return {
        "value": figure.display,
        "count": count.display if count else privacy.NOT_AVAILABLE,
        "fill": HIDDEN_COLOUR if hidden else classes.colour(figure.value),
        "hidden": hidden,
    }


def _territory_style(feature) -> dict:
    properties = feature["properties"]
    hidden = properties["hidden"]
    return {
        "fillColor": properties["fill"],
        "fillOpacity": 0.75,
        "color": "#5b5b66",
        "weight": 1,
        "dashArray": "4 3" if hidden else None,
        "className": "ohp-territory ohp-hidden" if hidden else "ohp-territory",
    }


def _qpv_layer(folium_map):
    qpvs = shapes("qpv")
    if not qpvs:
        return
    features = [
        {
            "type": "Feature",
            "id": shape.code,
            "geometry": shape.geometry,
            "properties": {"name": str(escape(shape.name))},
        }
        for shape in qpvs
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=_("Quartiers prioritaires (QPV)"),
        style_function=lambda _feature: {
            "fill": False,
            "color": "#1d4e89",
            "weight": 2,
            "dashArray": "6 4",
            "className": "ohp-qpv",
        },
        zoom_on_click=False,
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=[_("QPV")], sticky=True),
    ).add_to(folium_map)


# Structures and reports -----------------------------------------------------------------------


def _structure_layer(folium_map, actor: Actor, tiled: bool):
    points = commune_points() if tiled else {shape.id: shape for shape in shapes("commune")}
    if privacy.reads_raw(actor.role):
        _named_structures(points, actor).add_to(folium_map)
    else:
        _structure_counts(points, actor).add_to(folium_map)


def _named_structures(points: dict, actor: Actor):
    """Each structure at its home commune, with its name: for the coordination."""
    query = sa.select(Structure.name, Structure.commune_id).where(
        Structure.active, structures_within(actor, "structure.read")
    )
    query = query.order_by(Structure.name)
    rows = [
        [*points[commune_id].point, str(escape(name))]
        for name, commune_id in db.session.execute(query)
        if commune_id in points
    ]
    return local_cluster(
        FastMarkerCluster(rows, callback=STRUCTURE_CALLBACK, name=_("Structures partenaires"))
    )


def _structure_counts(points: dict, actor: Actor):
    """How many active structures each commune holds, as protected readers read counts."""
    query = (
        sa.select(Structure.commune_id, sa.func.count(), sa.func.sum(Structure.record_key))
        .where(Structure.active)
        .group_by(Structure.commune_id)
    )
    if actor.deployment_ids is not None:
        query = query.where(Structure.deployment_id.in_(actor.deployment_ids))
    policy = privacy.Policy.for_role(actor.role)
    cells = {
        commune_id: privacy.perturbed_cell(count, key, policy)
        for commune_id, count, key in db.session.execute(query)
    }
    rows = []
    for commune_id, cell in cells.items():
        if commune_id in points:
            display = str(escape(cell.display))
            text = _(
                "%(commune)s : %(count)s structure(s) partenaire(s)",
                commune=escape(points[commune_id].name),
                count=display,
            )
            rows.append([*points[commune_id].point, display, text])
    # Off at first: the labels would hide the choropleth they sit on.
    return CountLabels(rows, _("Structures partenaires (nombre par commune)"), show=False)


class CountLabels(Layer):
    """A label and a tooltip at each point, in one script whatever their number.

    Rows are [lat, lon, label, tooltip], already escaped: Leaflet inserts them as HTML.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.layerGroup();
            {{ this.rows|tojson }}.forEach(function (row) {
                var icon = L.divIcon({
                    html: '<span class="ohp-count">' + row[2] + '</span>',
                    className: "ohp-structure-count", iconSize: [34, 20], iconAnchor: [17, 10]
                });
                L.marker([row[0], row[1]], {icon: icon}).bindTooltip(row[3])
                    .addTo({{ this.get_name() }});
            });
        {% endmacro %}
        """
    )

    def __init__(self, rows: list, name: str, show: bool = True):
        super().__init__(name=name, overlay=True, show=show)
        self._name = "CountLabels"
        self.rows = rows


def _report_layer(folium_map, query: MapQuery, actor: Actor) -> str:
    """The latest reports of the period as clustered points, for who may see them."""
    points = latest_points(query.period, actor)
    local_cluster(
        FastMarkerCluster(points, callback=POINT_CALLBACK, name=_("Signalements (points précis)"))
    ).add_to(folium_map)
    return _(
        "Points précis : les %(limit)s signalements localisés les plus récents de la période "
        "au plus (%(shown)s affichés).",
        limit=privacy.format_value(POINT_LIMIT),
        shown=privacy.format_value(len(points)),
    )


def latest_points(period: Period, actor: Actor) -> list[list[float]]:
    """[lat, lon] of the latest located reports of the period the actor may see, bounded."""
    query = sa.select(sa.func.ST_Y(Report.location), sa.func.ST_X(Report.location)).where(
        Report.location.is_not(None)
    )
    if period.start:
        query = query.where(Report.intervention_date >= period.start)
    if period.end:
        query = query.where(Report.intervention_date <= period.end)
    query = restrict(query, actor, "report.points", Report.structure_id)
    query = query.order_by(Report.intervention_date.desc(), Report.id).limit(POINT_LIMIT)
    return [[round(lat, 5), round(lon, 5)] for lat, lon in db.session.execute(query)]


def classes_map(
    classes: dict[int, str], colours: dict, labels: dict, title: str, tooltip: str
) -> RenderedMap | None:
    """Communes coloured by a class each (`classes`: territory id → key of `colours` and
    `labels`), with a legend; None when no commune is to be drawn."""
    drawn = [shape for shape in shapes("commune") if shape.id in classes]
    if not drawn:
        return None
    folium_map = _base_map(bounds(drawn))
    features = [
        {
            "type": "Feature",
            "id": shape.code,
            "geometry": shape.geometry,
            "properties": {
                "name": str(escape(shape.name)),
                "class": str(escape(labels[classes[shape.id]])),
                "fill": colours[classes[shape.id]],
            },
        }
        for shape in drawn
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=_("Communes"),
        style_function=_class_style,
        highlight_function=lambda _feature: {"weight": 3, "color": "#1b1b1f"},
        zoom_on_click=False,
        control=False,
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "class"],
            aliases=[str(escape(_("Commune"))), str(escape(tooltip))],
            sticky=True,
        ),
    ).add_to(folium_map)
    legend = [LegendEntry(colour, str(labels[key])) for key, colour in colours.items()]
    return RenderedMap(*render_parts(folium_map), title=title, legend=legend, notes=[], whole="")


def _class_style(feature) -> dict:
    return {
        "fillColor": feature["properties"]["fill"],
        "fillOpacity": 0.75,
        "color": "#5b5b66",
        "weight": 1,
        "className": "ohp-territory",
    }


# Folium, made ours ----------------------------------------------------------------------------


def _base_map(area: list | None) -> LocalMap:
    folium_map = LocalMap(
        location=LYON, zoom_start=11, tiles=None, control_scale=True, zoom_snap=0.25
    )
    folium_map.default_js = _static(LEAFLET_JS)
    folium_map.default_css = _static(LEAFLET_CSS)
    folium.TileLayer(
        tiles=current_app.config["TILE_URL"],
        attr=current_app.config["TILE_ATTRIBUTION"],
        name=_("Fond de carte"),
        control=False,
    ).add_to(folium_map)
    if area:
        folium_map.fit_bounds(area)
    return folium_map


def local_cluster(cluster):
    """A marker cluster loading Leaflet.markercluster from the app instead of a CDN."""
    cluster.default_js = _static(CLUSTER_JS)
    cluster.default_css = _static(CLUSTER_CSS)
    return cluster


def _static(assets) -> list[tuple[str, str]]:
    return [(name, url_for("static", filename=path)) for name, path in assets]


def render_parts(folium_map: folium.Map) -> tuple[Markup, Markup, Markup]:
    """The header, body and script of the folium page, to place in our own template.

    Figure.render would render each piece folium wrote a second time, as a jinja2 template:
    text from the database ("{{ … }}" in a structure's name) would run as template code. So
    the elements render once, and the pieces they wrote are joined as written.
    """
    root = folium_map.get_root()
    for element in root._children.values():
        element.render()
    # folium's own header for the map sizes <html> and <body> to the window and sets the
    # viewport: the page's layout is ours, so only the map's size stays.
    sizing = f"<style>#{folium_map.get_name()} {{ width: 100%; height: 100%; }}</style>"
    root.header.add_child(Element(sizing), name=folium_map.get_name())
    root.header._children.pop("meta_http", None)  # base.html declares the charset
    return tuple(Markup(as_written(part)) for part in (root.header, root.html, root.script))


def as_written(part: Element) -> str:
    """A part of the page: the pieces written by the first rendering, and the asset links."""
    return "\n".join(
        piece._template_str
        if type(piece) is Element and piece._template_str is not None
        else piece.render()
        for piece in part._children.values()
    )
