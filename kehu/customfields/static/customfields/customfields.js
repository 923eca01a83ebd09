/* Custom field form: show only the option rows that the chosen type uses. Without JS every row shows. */
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector("[data-field-type]");
    if (!select) return;
    var type = select.value;
    form.querySelectorAll("[data-for-types]").forEach(function (input) {
      var row = input.closest(".field") || input.closest("div");
      var types = input.getAttribute("data-for-types").split(" ");
      // .field sets display itself, which beats the hidden attribute: set the style.
      if (row) row.style.display = types.indexOf(type) === -1 ? "none" : "";
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-field-type]")) sync(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form#custom-field-form").forEach(sync);
  });
})();
