/* The report builder's filter editor: the lists' filter builder rows (listviews fragments) inside the
   report form, whose every change redraws the preview. Choosing a field or a condition re-renders its
   row (the right lookups and value input), so that change is kept from the form and the preview is
   redrawn once the new row is in place — likewise after a row or group is added or removed. */
(function () {
  "use strict";

  function redraw() {
    var form = document.getElementById("builder-form");
    if (form && window.htmx) { window.htmx.trigger(form, "change"); }
  }

  function bind(root) {
    var editor = root && root.id === "filter-editor" ? root
      : (root && root.querySelector ? root.querySelector("#filter-editor") : null);
    if (!editor || editor.dataset.bound) { return; }
    editor.dataset.bound = "1";
    editor.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches && target.matches(".fb-field, .fb-lookup")) { event.stopPropagation(); }
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.closest && target.closest("#filter-editor")) {
      setTimeout(redraw, 0);  // after htmx has put the new row in (or taken the old one out)
    }
  });

  if (window.htmx) {
    window.htmx.onLoad(bind);
  } else {
    document.addEventListener("DOMContentLoaded", function () { bind(document); });
  }
})();
