// Territories drawn from tiles (ohpunaises/map/tiles.py): each tile is a canvas filled with
// the outlines of the territories it shows, in their colours, fetched as the view moves.
// Hovering (or tapping) a territory shows its name and figures as the server wrote them:
// "< K" and "s" for hidden cells, whose values never reach the browser.

(function () {
  "use strict";

  // The fields of a territory in a tile, in their order.
  const CODE = 0, NAME = 1, VALUE = 2, COUNT = 3, FILL = 4, HIDDEN = 5, POLYGONS = 6;
  const FILL_OPACITY = 0.75;
  const OUTLINE = "#5b5b66";

  // A territory's outline as a path: MultiPolygon coordinates (polygons, their rings,
  // their [x, y] points), filled even-odd so that holes stay holes.
  function trace(context, polygons, scale) {
    context.beginPath();
    for (const polygon of polygons) {
      for (const ring of polygon) {
        context.moveTo(ring[0][0] * scale, ring[0][1] * scale);
        for (let i = 1; i < ring.length; i++) {
          context.lineTo(ring[i][0] * scale, ring[i][1] * scale);
        }
        context.closePath();
      }
    }
  }

  // Even-odd rule over every ring: a point in a hole is outside.
  function inside(polygons, x, y) {
    let within = false;
    for (const polygon of polygons) {
      for (const ring of polygon) {
        for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
          const [xi, yi] = ring[i], [xj, yj] = ring[j];
          if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) {
            within = !within;
          }
        }
      }
    }
    return within;
  }

  L.OhpTerritoryTiles = L.GridLayer.extend({
    options: { labels: {}, className: "ohp-territory-tiles", zIndex: 2 },

    initialize: function (url, options) {
      this._url = url;
      this._tiles_data = new Map();
      L.setOptions(this, options);
    },

    onAdd: function (map) {
      L.GridLayer.prototype.onAdd.call(this, map);
      this._tooltip = L.tooltip({ sticky: true, className: "ohp-tile-tooltip", opacity: 0.95 });
      map.on("mousemove click", this._hover, this);
      map.on("mouseout zoomstart", this._leave, this);
    },

    onRemove: function (map) {
      map.off("mousemove click", this._hover, this);
      map.off("mouseout zoomstart", this._leave, this);
      this._leave();
      L.GridLayer.prototype.onRemove.call(this, map);
    },

    createTile: function (coords, done) {
      const tile = L.DomUtil.create("canvas", "ohp-tile");
      const size = this.getTileSize();
      const ratio = window.devicePixelRatio || 1;
      tile.width = size.x * ratio;
      tile.height = size.y * ratio;
      const key = this._tileCoordsToKey(coords);
      const url = L.Util.template(this._url, coords);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => {
          if (!response.ok) throw new Error(response.status + " " + url);
          return response.json();
        })
        .then((data) => {
          this._tiles_data.set(key, data);
          this._draw(tile, data, (size.x * ratio) / data.extent, coords.z, ratio);
          tile.dataset.territories = data.territories.length;
          done(null, tile);
        })
        .catch((error) => done(error, tile));
      return tile;
    },

    _removeTile: function (key) {
      this._tiles_data.delete(key);
      L.GridLayer.prototype._removeTile.call(this, key);
    },

    // Each territory filled alone: a software canvas fills thousands of small paths far
    // faster than one path holding them all (74 against 5 µs a territory, measured).
    _draw: function (canvas, data, scale, zoom, ratio) {
      const context = canvas.getContext("2d");
      // Outlines only where territories are wide enough to see them; hidden ones dashed.
      const stroke = zoom >= 7 ? (zoom >= 10 ? 1 : 0.5) * ratio : 0;
      context.lineJoin = "round";
      context.lineWidth = stroke;
      context.strokeStyle = OUTLINE;
      for (const territory of data.territories) {
        trace(context, territory[POLYGONS], scale);
        context.globalAlpha = FILL_OPACITY;
        context.fillStyle = territory[FILL];
        context.fill("evenodd");
        if (stroke) {
          context.globalAlpha = 1;
          context.setLineDash(territory[HIDDEN] ? [4 * ratio, 3 * ratio] : []);
          context.stroke();
        }
      }
    },

    // The territory under a point of the map, from the tile that holds it.
    territoryAt: function (latlng) {
      const zoom = this._tileZoom;
      if (zoom === undefined) return null;
      const size = this.getTileSize();
      const point = this._map.project(latlng, zoom);
      const coords = point.unscaleBy(size).floor();
      coords.z = zoom;
      const data = this._tiles_data.get(this._tileCoordsToKey(coords));
      if (!data) return null;
      const x = ((point.x - coords.x * size.x) * data.extent) / size.x;
      const y = ((point.y - coords.y * size.y) * data.extent) / size.y;
      for (let i = data.territories.length - 1; i >= 0; i--) {
        if (inside(data.territories[i][POLYGONS], x, y)) return data.territories[i];
      }
      return null;
    },

    _hover: function (event) {
      const territory = this.territoryAt(event.latlng);
      if (!territory) return this._leave();
      this._tooltip.setContent(this._describe(territory)).setLatLng(event.latlng);
      if (!this._map.hasLayer(this._tooltip)) this._map.openTooltip(this._tooltip);
    },

    _leave: function () {
      if (this._map && this._tooltip) this._map.closeTooltip(this._tooltip);
    },

    // Built as elements, not HTML: names come from territory files.
    _describe: function (territory) {
      const labels = this.options.labels;
      const table = L.DomUtil.create("table", "ohp-tile-figures");
      table.dataset.code = territory[CODE];
      const row = (label, value) => {
        const line = table.insertRow();
        const head = document.createElement("th");
        head.scope = "row";
        head.textContent = label;
        line.appendChild(head);
        line.insertCell().textContent = value;
      };
      row(labels.territory, territory[NAME]);
      row(labels.value, territory[VALUE]);
      if (labels.count && territory[COUNT] !== null) row(labels.count, territory[COUNT]);
      return table;
    },
  });

  L.ohpTerritoryTiles = (url, options) => new L.OhpTerritoryTiles(url, options);
})();
