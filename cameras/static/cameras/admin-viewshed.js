// The read-only map on a camera's admin page: the camera, its bare field-of-view sector
// (dashed) and its stored viewshed (filled). Leaflet comes with the admin's map widget, loaded
// after this script: wait for the page. The basemap script draws the district underneath
// (it listens to the same "map:init" event as on django-leaflet's own maps).
(function () {
  "use strict";
  window.addEventListener("load", function () {
    document.querySelectorAll(".viewshed-map").forEach(function (box) {
      var data = JSON.parse(document.getElementById(box.dataset.source).textContent);
      var map = L.map(box, { attributionControl: false, zoomControl: true });
      var drawn = L.featureGroup().addTo(map);
      if (data.sector) {
        L.geoJSON(data.sector, {
          style: { color: "#d08a00", weight: 2, dashArray: "6 4", fill: false },
        }).bindTooltip(data.labels.sector).addTo(drawn);
      }
      if (data.viewshed) {
        L.geoJSON(data.viewshed, {
          style: { color: "#1f6fd1", weight: 1, fillColor: "#3d8bfd", fillOpacity: 0.35 },
          className: "viewshed-polygon",
        }).bindTooltip(data.labels.viewshed).addTo(drawn);
      } else {
        var note = L.control({ position: "topright" });
        note.onAdd = function () {
          var div = L.DomUtil.create("div", "viewshed-note");
          div.textContent = data.labels.none;
          return div;
        };
        note.addTo(map);
      }
      if (data.camera) {
        var ll = [data.camera.coordinates[1], data.camera.coordinates[0]];
        L.circleMarker(ll, { radius: 5, color: "#b00020", fillOpacity: 1 }).addTo(drawn);
      }
      map.fitBounds(drawn.getBounds(), { padding: [20, 20] });
      box.viewshedLayers = drawn;
      window.dispatchEvent(new CustomEvent("map:init", { detail: { map: map } }));
    });
  });
})();
