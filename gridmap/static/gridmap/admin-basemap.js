// Draw the district's own roads and water under every admin map (no online tiles are used).
(function () {
  "use strict";
  var styles = {
    water: { color: "#6aa7d8", weight: 1, fillColor: "#a9cdf0", fillOpacity: 0.8 },
    roads: { color: "#9a9a9a", weight: 2 },
    communities: { color: "#7a4bbf", weight: 2, fill: false, dashArray: "6 4" },
  };
  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    Object.keys(styles).forEach(function (name) {
      fetch("/api/v1/layers/" + name, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          var layer = L.geoJSON(data, { style: styles[name], interactive: false }).addTo(map);
          layer.bringToBack();
        });
    });
  });
})();
