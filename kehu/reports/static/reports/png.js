/* Download a report's inline SVG chart as PNG: no library, no inline script (CSP nonce-free).
   The SVG is cloned with the page's computed colours and fonts written onto each element (an SVG
   drawn into a canvas sees no stylesheet), drawn on a canvas at 2x, then saved with toBlob. */
(function () {
  "use strict";
  var PROPS = ["fill", "stroke", "stroke-width", "font-size", "font-family", "font-weight", "text-anchor", "opacity"];

  function inlineStyles(source, clone) {
    var from = source.querySelectorAll("*"), to = clone.querySelectorAll("*");
    for (var i = 0; i < from.length; i++) {
      var style = window.getComputedStyle(from[i]), parts = [];
      for (var j = 0; j < PROPS.length; j++) {
        var value = style.getPropertyValue(PROPS[j]);
        if (value) { parts.push(PROPS[j] + ":" + value); }
      }
      to[i].setAttribute("style", parts.join(";"));
    }
  }

  function download(svg, name) {
    var box = svg.viewBox.baseVal, width = box && box.width ? box.width : svg.clientWidth;
    var height = box && box.height ? box.height : svg.clientHeight, scale = 2;
    var clone = svg.cloneNode(true);
    inlineStyles(svg, clone);
    clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
    clone.setAttribute("width", width);
    clone.setAttribute("height", height);
    var xml = new XMLSerializer().serializeToString(clone);
    var image = new Image();
    image.onload = function () {
      var canvas = document.createElement("canvas");
      canvas.width = width * scale;
      canvas.height = height * scale;
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name || "chart.png";
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
      }, "image/png");
    };
    // A data: URL (the CSP allows data: images; a blob: image would need another source).
    image.src = "data:image/svg+xml;base64," + window.btoa(unescape(encodeURIComponent(xml)));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-png]") : null;
    if (!button) { return; }
    var svg = document.getElementById(button.getAttribute("data-png"));
    if (svg && svg.tagName.toLowerCase() === "svg") { download(svg, button.getAttribute("data-png-name")); }
  });
})();
