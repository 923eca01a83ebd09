/* Record picker (kehu/core/pickers.py): search as you type, pick with the mouse or the keyboard.

   Markup: .picker[data-picker][data-url] holding .picker-id (the posted id), .picker-search (a
   combobox) and .picker-list (its listbox). Listeners are on the document, so pickers added later
   by htmx (order lines) work without set-up. Searching waits for the end of an IME composition
   (pinyin → 汉字), so half-typed Chinese is never sent. */
(function () {
  "use strict";
  var DELAY = 180;
  var timers = new WeakMap();
  var requests = new WeakMap();

  function pickerOf(node) { return node && node.closest ? node.closest("[data-picker]") : null; }
  function parts(picker) {
    return {
      id: picker.querySelector(".picker-id"),
      search: picker.querySelector(".picker-search"),
      list: picker.querySelector(".picker-list")
    };
  }
  function options(picker) { return Array.prototype.slice.call(parts(picker).list.querySelectorAll("[role=option]")); }

  function close(picker) {
    var p = parts(picker);
    p.list.hidden = true;
    p.list.textContent = "";
    p.search.setAttribute("aria-expanded", "false");
    p.search.removeAttribute("aria-activedescendant");
  }

  function note(list, text) {
    var li = document.createElement("li");
    li.className = "picker-note";
    li.setAttribute("role", "presentation");
    li.textContent = text;
    list.appendChild(li);
  }

  function show(picker, data) {
    var p = parts(picker);
    p.list.textContent = "";
    (data.results || []).forEach(function (item, index) {
      var li = document.createElement("li");
      li.className = "picker-option";
      li.id = p.list.id + "-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.id = item.id;
      li.dataset.label = item.label;
      li.appendChild(document.createTextNode(item.label));
      if (item.detail) {
        var small = document.createElement("small");
        small.textContent = item.detail;
        li.appendChild(small);
      }
      p.list.appendChild(li);
    });
    if (!data.results || !data.results.length) note(p.list, picker.dataset.empty || p.search.dataset.empty || "—");
    else if (data.next) note(p.list, p.search.dataset.more || "…");
    p.list.hidden = false;
    p.search.setAttribute("aria-expanded", "true");
  }

  function search(picker) {
    var p = parts(picker);
    var url = new URL(picker.dataset.url, window.location.href);
    url.searchParams.set("q", p.search.value.trim());
    (picker.dataset.depends || "").split(",").forEach(function (pair) {
      var bits = pair.split("=");
      var field = bits[1] && p.id.form ? p.id.form.elements[bits[1]] : null;
      if (field && field.value) url.searchParams.set(bits[0], field.value);
    });
    var serial = (requests.get(picker) || 0) + 1;
    requests.set(picker, serial);
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) {
        // Only the answer to the latest keystroke counts, and only while the box has the focus.
        if (requests.get(picker) === serial && document.activeElement === p.search) show(picker, data);
      })
      .catch(function () { /* offline: the box keeps what was typed; the server explains on save */ });
  }

  function later(picker) {
    clearTimeout(timers.get(picker));
    timers.set(picker, setTimeout(function () {
      if (!picker.hasAttribute("data-composing")) search(picker);  // not half-typed pinyin
    }, DELAY));
  }

  function activate(picker, option) {
    var p = parts(picker);
    options(picker).forEach(function (o) { o.setAttribute("aria-selected", o === option ? "true" : "false"); });
    if (option) {
      p.search.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function choose(picker, option) {
    var p = parts(picker);
    p.id.value = option.dataset.id;
    p.search.value = option.dataset.label;
    picker.dataset.chosen = option.dataset.label;
    picker.dataset.chosenId = option.dataset.id;
    close(picker);
    clearDependents(picker);
    p.id.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // A picker that depends on this one (contact ← account) no longer fits the new choice.
  function clearDependents(picker) {
    var p = parts(picker);
    if (!p.id.form) return;
    p.id.form.querySelectorAll("[data-picker][data-depends]").forEach(function (other) {
      if (other === picker) return;
      var names = other.dataset.depends.split(",").map(function (pair) { return pair.split("=")[1]; });
      if (names.indexOf(p.id.name) === -1) return;
      var o = parts(other);
      if (other.dataset.chosenId && other.dataset.chosenId !== "") {
        o.id.value = "";
        o.search.value = "";
        other.dataset.chosen = "";
        other.dataset.chosenId = "";
      }
    });
  }

  document.addEventListener("input", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || !event.target.classList.contains("picker-search")) return;
    var p = parts(picker);
    // Typing undoes the choice, unless the text is back to the chosen record's name.
    p.id.value = p.search.value === picker.dataset.chosen ? (picker.dataset.chosenId || "") : "";
    if (event.isComposing) return;  // wait for compositionend
    later(picker);
  });

  document.addEventListener("compositionstart", function (event) {
    var picker = pickerOf(event.target);
    if (picker && event.target.classList.contains("picker-search")) picker.setAttribute("data-composing", "");
  });

  document.addEventListener("compositionend", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || !event.target.classList.contains("picker-search")) return;
    picker.removeAttribute("data-composing");
    later(picker);
  });

  document.addEventListener("focusin", function (event) {
    var picker = pickerOf(event.target);
    if (picker && event.target.classList.contains("picker-search") && !parts(picker).id.value) later(picker);
  });

  document.addEventListener("focusout", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || !event.target.classList.contains("picker-search")) return;
    setTimeout(function () { if (!picker.contains(document.activeElement)) close(picker); }, 150);
  });

  document.addEventListener("keydown", function (event) {
    var picker = pickerOf(event.target);
    if (!picker || !event.target.classList.contains("picker-search") || event.isComposing) return;
    var p = parts(picker);
    var all = options(picker);
    var current = all.indexOf(p.list.querySelector("[aria-selected=true]"));
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (p.list.hidden) { search(picker); return; }
      if (!all.length) return;
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(picker, all[(current + step + all.length) % all.length]);
    } else if (event.key === "Enter" && !p.list.hidden) {
      event.preventDefault();  // choosing, not submitting the form
      var option = current >= 0 ? all[current] : (all.length === 1 ? all[0] : null);
      if (option) choose(picker, option);
    } else if (event.key === "Escape" && !p.list.hidden) {
      event.stopPropagation();
      close(picker);
    }
  });

  // mousedown keeps the focus in the box (no focusout closing the list before the click lands).
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest && event.target.closest(".picker-list")) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest ? event.target.closest(".picker-option") : null;
    if (option) choose(pickerOf(option), option);
  });
})();
