/* Kehu's few sprinkles of JS: the phone drawer, auto-submitting selects, dropdown closing,
   copy buttons and toasts. Everything works without it (forms keep a submit button). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setDrawer(open) {
    document.body.classList.toggle("drawer-open", open);
    var toggle = document.getElementById("drawer-toggle");
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function dismiss(toast) {
    toast.classList.add("leaving");
    setTimeout(function () { toast.remove(); }, 200);
  }

  function armToasts(root) {
    root.querySelectorAll(".toast:not([data-armed])").forEach(function (toast) {
      toast.setAttribute("data-armed", "");
      if (!toast.classList.contains("toast-error")) setTimeout(function () { dismiss(toast); }, 6000);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("#drawer-toggle")) { setDrawer(!document.body.classList.contains("drawer-open")); return; }
    if (target.closest("[data-drawer-close]")) { setDrawer(false); return; }
    var dismissButton = target.closest("[data-dismiss]");
    if (dismissButton) { dismiss(dismissButton.closest(".toast")); return; }
    var copy = target.closest("[data-copy]");
    if (copy) {
      var field = document.getElementById(copy.getAttribute("data-copy"));
      if (field) {
        field.select();
        (navigator.clipboard ? navigator.clipboard.writeText(field.value) : Promise.reject())
          .catch(function () { document.execCommand("copy"); });
        copy.textContent = copy.getAttribute("data-copied") || copy.textContent;
      }
      return;
    }
    // Close open dropdowns when clicking elsewhere.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      setDrawer(false);
      document.querySelectorAll("details.menu[open]").forEach(function (m) { m.removeAttribute("open"); });
    }
  });

  document.addEventListener("DOMContentLoaded", function () { armToasts(document); });
  document.addEventListener("htmx:afterSettle", function () { armToasts(document); });
})();
