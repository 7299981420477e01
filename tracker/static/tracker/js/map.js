/* Incident maps: every element with a data-map attribute becomes a Leaflet map
 * (leaflet/leaflet.js and leaflet.css from django-leaflet's static files; no CDN).
 *
 * To put a map on a page:
 *   1. In the view: config = tracker.workspace.maps.map_config(geojson=URL) for a GeoJSON
 *      FeatureCollection such as the export (incidents:export_geojson?<filters>), or
 *      map_config(features={"type": "FeatureCollection", "features": [...]}) whose
 *      properties are tracker.workspace.exports.record(incident) (code, title, date, killed_max,
 *      location_precision, target_types, url...).
 *   2. In the template: {{ config|json_script:"some-id" }} and <div data-map="some-id">
 *      (give it a height in CSS); load leaflet.css, leaflet.js and this file (defer).
 *   3. Optional attributes on the div: data-map-list="ID" fills element ID with the
 *      incidents in view and "Show" buttons (the keyboard's way to every marker);
 *      data-map-status-for="ID" writes progress into [data-map-status] inside ID;
 *      data-map-static makes the map fixed (no pan or zoom), e.g. for print.
 *
 * Drawing: an exact or within-100 m location is a marker (a disc sized by killed, coloured
 * by target type, focusable, Enter opens its label); anything coarser is a dashed circle
 * of that precision's radius, to scale, never a pin. Markers closer than CELL pixels at
 * the current zoom are clustered on a grid (a small algorithm here rather than a plugin
 * copied into the repository): a cluster zooms in, or lists its incidents when they share
 * one place. Without tiles (none configured, or offline) a latitude/longitude grid is
 * drawn instead. No inline styles or HTML from data: text goes in with textContent. */
(function () {
  "use strict";

  // Fallbacks for a config without them; tracker/workspace/maps.py is their source.
  const RADII = { neighbourhood: 500, town: 2000, district: 15000, governorate: 40000 };
  const SIZE = { unknown: 4, base: 5, scale: 2.2, max: 20 };
  const NO_TYPE = "#8a8f94";
  const HEX = /^#[0-9a-fA-F]{6}$/;
  const CELL = 44; // pixels: about the widest marker
  const MAX_ZOOM = 18;
  const LIST_LIMIT = 200;
  const CLUSTER_LIST_LIMIT = 40;

  window.trackerMaps = window.trackerMaps || [];

  // --- Small helpers ---------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(url, text) {
    // Only links inside the tracker: a property is data, never a javascript: URL.
    if (typeof url !== "string" || !url.startsWith("/") || url.startsWith("//")) {
      return el("span", "", text);
    }
    const a = el("a", "", text);
    a.href = url;
    return a;
  }

  function isolated(text) {
    const bdi = el("bdi", "", text || "");
    bdi.dir = "auto";
    return bdi;
  }

  // The rule of tracker/display.py's count_range, which writes the range on every page.
  function killed(p) {
    const none = function (v) { return v === null || v === undefined; };
    const low = p.killed_min, high = p.killed_max;
    if (none(low) && none(high)) return "unknown";
    if (none(high)) return "at least " + low;
    if (none(low)) return "up to " + high;
    return low === high ? String(low) : low + "–" + high;
  }

  // As tracker/responsibility/periods.py's format_partial writes a date to its precision.
  function when(p) {
    const iso = p.date || "";
    const precision = p.date_precision || "day";
    if (!iso) return "date not recorded";
    if (precision === "year") return iso.slice(0, 4) + " (year only)";
    if (precision === "month") return iso.slice(0, 7) + " (month only)";
    if (precision === "day") return iso.slice(0, 10);
    if (precision === "hour") return iso.slice(0, 10) + " " + iso.slice(11, 13) + " h";
    return iso.slice(0, 10) + " " + iso.slice(11, 16);
  }

  function colourOf(p, config) {
    const names = (p.target_types || "").split("; ");
    const noType = HEX.test(config.noType || "") ? config.noType : NO_TYPE;
    for (const type of config.types || []) {
      if (names.indexOf(type.name) !== -1) return HEX.test(type.colour) ? type.colour : noType;
    }
    return noType;
  }

  function radiusOf(killedMax, size) {
    if (killedMax === null || killedMax === undefined) return size.unknown;
    return Math.min(size.base + size.scale * Math.sqrt(killedMax), size.max);
  }

  function featuresOf(config) {
    if (!config.features) return [];
    return Array.isArray(config.features) ? config.features : config.features.features || [];
  }

  // --- Popups ---------------------------------------------------------------------------

  function popupOf(p, radius) {
    const box = el("div", "map-popup");
    const head = el("p", "map-popup-code");
    head.appendChild(link(p.url, p.code));
    box.appendChild(head);
    const title = el("p", "map-popup-title");
    title.appendChild(isolated(p.title));
    box.appendChild(title);
    box.appendChild(el("p", "", when(p)));
    if (p.place) {
      const place = el("p", "");
      place.appendChild(isolated(p.place));
      if (p.governorate) place.appendChild(document.createTextNode(", " + p.governorate));
      box.appendChild(place);
    }
    box.appendChild(el("p", "", "Killed: " + killed(p)));
    if (p.target_types) box.appendChild(el("p", "", "Target: " + p.target_types));
    const where = radius
      ? "Location known to the " + p.location_precision + ": somewhere in the circle (" +
        (radius >= 1000 ? radius / 1000 + " km" : radius + " m") + " radius)"
      : "Location: " + (p.location_precision === "100m" ? "within 100 m" : "exact site");
    box.appendChild(el("p", "map-popup-where", where));
    if (p.url) {
      const open = el("p", "map-popup-open");
      open.appendChild(link(p.url, "Open " + p.code));
      box.appendChild(open);
    }
    return box;
  }

  function clusterPopupOf(entries) {
    const box = el("div", "map-popup");
    box.appendChild(el("p", "map-popup-code", entries.length + " incidents at this place"));
    const list = el("ul", "map-popup-list");
    entries.slice(0, CLUSTER_LIST_LIMIT).forEach(function (entry) {
      const item = el("li");
      item.appendChild(link(entry.props.url, entry.props.code));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(isolated(entry.props.title));
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("span", "muted nowrap", when(entry.props)));
      list.appendChild(item);
    });
    box.appendChild(list);
    if (entries.length > CLUSTER_LIST_LIMIT) {
      box.appendChild(el("p", "muted", "and " + (entries.length - CLUSTER_LIST_LIMIT) + " more"));
    }
    return box;
  }

  function focusPopup(popup) {
    const target = popup && popup.getElement() && popup.getElement().querySelector("a");
    if (target) target.focus();
  }

  // --- Layers ---------------------------------------------------------------------------

  function entryOf(feature, config) {
    const g = feature.geometry;
    if (!g || g.type !== "Point" || !Array.isArray(g.coordinates)) return null;
    const lng = Number(g.coordinates[0]);
    const lat = Number(g.coordinates[1]);
    if (!isFinite(lat) || !isFinite(lng)) return null;
    const p = feature.properties || {};
    const colour = colourOf(p, config);
    const radius = (config.radii || RADII)[p.location_precision] || 0;
    const latlng = L.latLng(lat, lng);
    let layer;
    if (radius) {
      layer = L.circle(latlng, {
        radius: radius,
        color: colour,
        weight: 2,
        dashArray: "6 4",
        fillColor: colour,
        fillOpacity: 0.2,
        className: "map-area",
      });
    } else {
      const r = radiusOf(p.killed_max, config.size || SIZE);
      const side = Math.ceil(2 * r + 4);
      const c = side / 2;
      layer = L.marker(latlng, {
        icon: L.divIcon({
          className: "map-pin",
          html:
            '<svg width="' + side + '" height="' + side + '" aria-hidden="true">' +
            '<circle cx="' + c + '" cy="' + c + '" r="' + r.toFixed(1) + '" fill="' + colour +
            '" fill-opacity="0.85" stroke="#1d2327" stroke-width="1.5"/></svg>',
          iconSize: [side, side],
        }),
        title: p.code + " " + (p.title || ""),
        keyboard: true,
        riseOnHover: true,
      });
    }
    // Built when first opened: thousands of incidents need no popup until one is read.
    layer.bindPopup(function () { return popupOf(p, radius); }, { maxWidth: 320 });
    layer.on("add", function () {
      const node = layer.getElement();
      if (node) {
        node.setAttribute("data-code", p.code || "");
        node.setAttribute("data-precision", p.location_precision || "");
      }
    });
    return { props: p, latlng: latlng, layer: layer, radius: radius, colour: colour, cluster: null };
  }

  function clusterMarker(map, members) {
    let lat = 0;
    let lng = 0;
    members.forEach(function (m) {
      lat += m.latlng.lat;
      lng += m.latlng.lng;
    });
    // The disc grows with the log of its count: 2 -> 29 px, 8 -> 39, 100 -> 56.
    const size = Math.round(Math.min(24 + 5 * Math.log2(members.length), 60));
    const marker = L.marker([lat / members.length, lng / members.length], {
      icon: L.divIcon({
        className: "map-cluster map-cluster-" + (members.length < 10 ? "s" : members.length < 100 ? "m" : "l"),
        html: "<span>" + members.length + "</span>",
        iconSize: [size, size],
      }),
      title: members.length + " incidents close together: select to zoom in",
      keyboard: true,
      riseOnHover: true,
    });
    function open(event) {
      if (event.type === "keypress" && event.originalEvent.keyCode !== 13) return;
      const bounds = L.latLngBounds(members.map(function (m) { return m.latlng; }));
      const same = bounds.getNorthEast().equals(bounds.getSouthWest(), 1e-7);
      if (same || map.getZoom() >= map.getMaxZoom() || map.getBoundsZoom(bounds) <= map.getZoom()) {
        marker.bindPopup(clusterPopupOf(members), { maxWidth: 360 }).openPopup();
        focusPopup(marker.getPopup());
      } else {
        map.fitBounds(bounds.pad(0.3), { maxZoom: map.getMaxZoom() });
      }
    }
    marker.on("click keypress", open);
    // Incidents of one colour give their cluster a ring of that colour.
    const colours = new Set(members.map(function (m) { return m.colour; }));
    marker.on("add", function () {
      const node = marker.getElement();
      node.setAttribute("data-cluster", String(members.length));
      if (colours.size === 1) node.style.boxShadow = "0 0 0 3px " + members[0].colour;
    });
    return marker;
  }

  // Group markers on a grid of CELL pixels at the current zoom (absolute pixel coordinates,
  // so clusters do not change while panning) and draw only the cells in view. Layers that
  // stay are left alone: removing one would close its open popup and drop its focus.
  function drawClusters(map, group, entries, clustering, clusters) {
    const zoom = map.getZoom();
    const view = map.getBounds().pad(0.5);
    const cells = new Map();
    entries.forEach(function (entry) {
      entry.cluster = null;
      const point = map.project(entry.latlng, zoom);
      const key = clustering
        ? Math.floor(point.x / CELL) + ":" + Math.floor(point.y / CELL)
        : entry.props.code;
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push(entry);
    });
    const wanted = new Set();
    const kept = new Map();
    cells.forEach(function (members, cell) {
      if (members.length === 1) {
        const only = members[0];
        if (only.radius || view.contains(only.latlng)) wanted.add(only.layer);
        return;
      }
      const key = zoom + ":" + cell + ":" + members.length;
      const marker = clusters.get(key) || clusterMarker(map, members);
      kept.set(key, marker);
      members.forEach(function (m) { m.cluster = marker; });
      if (view.contains(marker.getLatLng())) wanted.add(marker);
    });
    group.eachLayer(function (layer) {
      if (!wanted.has(layer)) group.removeLayer(layer);
    });
    wanted.forEach(function (layer) {
      if (!group.hasLayer(layer)) group.addLayer(layer);
    });
    clusters.clear();
    kept.forEach(function (marker, key) { clusters.set(key, marker); });
  }

  // --- Background: tiles, or a grid of latitude and longitude -----------------------------

  function gridStep(zoom) {
    if (zoom < 5) return 10;
    if (zoom < 7) return 2;
    if (zoom < 9) return 0.5;
    if (zoom < 11) return 0.1;
    if (zoom < 14) return 0.02;
    return 0.005;
  }

  function addGrid(map, why) {
    const lines = L.layerGroup().addTo(map);
    const note = L.control({ position: "bottomright" });
    note.onAdd = function () {
      return el("div", "map-grid-note");
    };
    note.addTo(map);
    function redraw() {
      const step = gridStep(map.getZoom());
      const b = map.getBounds();
      lines.clearLayers();
      const style = { color: "#9aa5ae", weight: 1, opacity: 0.6, interactive: false };
      for (let lat = Math.floor(b.getSouth() / step) * step; lat <= b.getNorth(); lat += step) {
        L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style).addTo(lines);
      }
      for (let lng = Math.floor(b.getWest() / step) * step; lng <= b.getEast(); lng += step) {
        L.polyline([[b.getSouth(), lng], [b.getNorth(), lng]], style).addTo(lines);
      }
      note.getContainer().textContent =
        (why ? why + " " : "") + "Grid: " + step + "° of latitude and longitude";
    }
    map.on("moveend", redraw);
    redraw();
  }

  // --- The list of incidents in view (keyboard and screen-reader access) -----------------

  function drawList(map, entries, list, reveal) {
    const view = map.getBounds();
    const inView = entries.filter(function (e) { return view.contains(e.latlng); });
    list.textContent = "";
    list.appendChild(
      el(
        "p",
        "map-list-count",
        inView.length + " of " + entries.length + " incident" + (entries.length === 1 ? "" : "s") +
          " on the map are in view" +
          (inView.length > LIST_LIMIT ? "; the first " + LIST_LIMIT + " are listed." : ".")
      )
    );
    if (!inView.length) return;
    const table = el("table", "map-list-table");
    const head = el("tr");
    ["Code", "Date", "Place", "Title", "Killed", "Location", ""].forEach(function (name) {
      const th = el("th", "", name);
      th.scope = "col";
      head.appendChild(th);
    });
    table.appendChild(el("thead")).appendChild(head);
    const body = el("tbody");
    inView.slice(0, LIST_LIMIT).forEach(function (entry) {
      const p = entry.props;
      const row = el("tr");
      row.appendChild(el("td", "nowrap")).appendChild(link(p.url, p.code));
      row.appendChild(el("td", "nowrap", when(p)));
      row.appendChild(el("td")).appendChild(isolated(p.place || ""));
      row.appendChild(el("td")).appendChild(isolated(p.title));
      row.appendChild(el("td", "number nowrap", killed(p)));
      row.appendChild(el("td", "", entry.radius ? p.location_precision + " (circle)" : p.location_precision || ""));
      const button = el("button", "map-show", "Show");
      button.type = "button";
      button.setAttribute("aria-label", "Show " + p.code + " on the map");
      button.addEventListener("click", function () { reveal(entry); });
      row.appendChild(el("td")).appendChild(button);
      body.appendChild(row);
    });
    table.appendChild(body);
    list.appendChild(table);
  }

  // --- One map ---------------------------------------------------------------------------

  function status(element, text) {
    const box = element.dataset.mapStatusFor && document.getElementById(element.dataset.mapStatusFor);
    const target = box && box.querySelector("[data-map-status]");
    if (target) target.textContent = text;
  }

  function fit(map, entries) {
    if (!entries.length) {
      map.setView([35.5, 36.6], 7); // the case's region, when there is nothing to show
      return;
    }
    const bounds = L.latLngBounds([]);
    entries.forEach(function (e) {
      bounds.extend(e.radius ? e.latlng.toBounds(2 * e.radius) : e.latlng);
    });
    if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
      map.setView(entries[0].latlng, 14);
    } else {
      map.fitBounds(bounds, { maxZoom: 14, padding: [28, 28] });
    }
  }

  function draw(element, map, config, features) {
    const entries = features.map(function (f) { return entryOf(f, config); }).filter(Boolean);
    const group = L.layerGroup().addTo(map);
    const clusters = new Map();
    const clustering = config.cluster !== false;
    const list = element.dataset.mapList && document.getElementById(element.dataset.mapList);

    // Centre on one incident, zooming in until it stands alone (or lists with the others
    // at its place), and open its label.
    function reveal(entry) {
      let zoom = Math.min(Math.max(map.getZoom(), entry.radius ? 11 : 13), map.getMaxZoom());
      map.setView(entry.latlng, zoom, { animate: false });
      while (entry.cluster && zoom < map.getMaxZoom()) {
        zoom += 1;
        map.setView(entry.latlng, zoom, { animate: false });
      }
      if (entry.cluster) {
        entry.cluster.fire("click");
      } else {
        entry.layer.openPopup();
        focusPopup(entry.layer.getPopup());
      }
      element.scrollIntoView({ block: "nearest" });
    }

    function refresh() {
      drawClusters(map, group, entries, clustering, clusters);
      if (list) drawList(map, entries, list, reveal);
    }
    map.on("moveend", refresh);
    fit(map, entries);
    refresh();
    const unlocated = features.length - entries.length;
    status(
      element,
      entries.length + " incident" + (entries.length === 1 ? "" : "s") + " on the map" +
        (unlocated && !element.dataset.mapStatusFor ? " (" + unlocated + " without coordinates)" : "") +
        "."
    );
    element.setAttribute("data-map-ready", String(entries.length));
  }

  function setUp(element) {
    const script = document.getElementById(element.dataset.map);
    if (!script || element.dataset.mapStarted) return;
    element.dataset.mapStarted = "1";
    const config = JSON.parse(script.textContent);
    const fixed = element.hasAttribute("data-map-static");
    const map = L.map(element, {
      maxZoom: MAX_ZOOM,
      zoomSnap: 0.25, // fit the incidents snugly (whole zoom levels can leave half the map empty)
      zoomControl: !fixed,
      dragging: !fixed,
      scrollWheelZoom: false, // the page scrolls; zoom with the buttons, +/- or a double click
      doubleClickZoom: !fixed,
      boxZoom: !fixed,
      keyboard: !fixed,
      touchZoom: !fixed,
    });
    window.trackerMaps.push(map);
    L.control.scale({ imperial: false }).addTo(map);
    if (config.tiles) {
      const tiles = L.tileLayer(config.tiles, { attribution: config.attribution || "", maxZoom: MAX_ZOOM });
      tiles.once("tileerror", function () {
        element.classList.add("map-no-tiles");
        addGrid(map, "No background map (offline?).");
      });
      tiles.addTo(map);
    } else {
      element.classList.add("map-no-tiles");
    }
    if (config.geojson) {
      fetch(config.geojson, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          if (!response.ok) {
            return response.text().then(function (text) {
              throw new Error(text.trim() || "HTTP " + response.status);
            });
          }
          // An ended login answers with the login page instead of the data.
          if (response.redirected || (response.headers.get("Content-Type") || "").indexOf("json") === -1) {
            throw new Error("the server sent no map data; has your login ended? Reload the page.");
          }
          return response.json();
        })
        .then(function (collection) {
          draw(element, map, config, collection.features || []);
          if (!config.tiles) addGrid(map);
        })
        .catch(function (error) {
          map.setView([35.5, 36.6], 7);
          element.setAttribute("data-map-ready", "error");
          status(element, "The incidents could not be loaded: " + error.message);
        });
    } else {
      draw(element, map, config, featuresOf(config));
      if (!config.tiles) addGrid(map);
    }
  }

  function start() {
    if (typeof L === "undefined") return;
    document.querySelectorAll("[data-map]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
