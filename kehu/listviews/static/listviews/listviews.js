// Bulk bar: show only the value input the chosen action needs (owner or tag).
(function () {
  function sync(form) {
    var select = form.querySelector("#bulk-action");
    if (!select) return;
    var kind = select.options[select.selectedIndex].dataset.valueKind || "";
    form.querySelectorAll("[data-value-kind]").forEach(function (el) {
      if (el.tagName === "OPTION") return;
      el.hidden = el.dataset.valueKind !== kind;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "bulk-action") sync(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("bulk-form");
    if (form) sync(form);
  });
})();
