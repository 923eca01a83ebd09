/* The pipeline board: drag a card to another column (native HTML5 drag and drop) to move the deal.
   The move is posted to the card's data-move URL; on success the column totals are updated from the
   answer, on refusal (e.g. a required field is empty) the card snaps back and the reason is shown.
   Without JavaScript the board still links every card to its page, where the stage can be changed. */
(function () {
  "use strict";
  var dragged = null;   // the card being dragged
  var origin = null;    // {list, next}: where it came from, to snap back

  function board() { return document.getElementById("board"); }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function toast(message) {
    var box = document.getElementById("toasts");
    if (!box) { window.alert(message); return; }
    var item = document.createElement("div");
    item.className = "toast toast-error";
    item.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", board().getAttribute("data-dismiss-label") || "Dismiss");
    close.textContent = "\u00d7";
    item.appendChild(text);
    item.appendChild(close);
    box.appendChild(item);
  }

  function snapBack(card) {
    if (origin && origin.list) origin.list.insertBefore(card, origin.next && origin.next.parentNode === origin.list ? origin.next : null);
  }

  function updateTotals(columns) {
    Object.keys(columns || {}).forEach(function (stageId) {
      var column = document.getElementById("col-" + stageId);
      if (!column) return;
      ["count", "amount", "weighted"].forEach(function (name) {
        var cell = column.querySelector("[data-total=" + name + "]");
        if (cell) cell.textContent = columns[stageId][name];
      });
    });
  }

  function move(card, column) {
    var body = new FormData();
    body.append("stage_id", column.getAttribute("data-stage"));
    if (column.hasAttribute("data-lost")) {
      var reason = window.prompt(board().getAttribute("data-lost-prompt") || "");
      if (reason === null || !reason.trim()) { snapBack(card); return; }
      body.append("lost_reason", reason.trim());
    }
    // The board's filters, so the totals answered are those of what the board shows.
    new URLSearchParams(board().getAttribute("data-filters") || "").forEach(function (value, key) {
      body.append(key, value);
    });
    card.classList.add("moving");
    fetch(card.getAttribute("data-move"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return { ok: false }; });
    }).then(function (answer) {
      card.classList.remove("moving");
      if (answer.ok) { updateTotals(answer.columns); return; }
      snapBack(card);
      toast(answer.message || board().getAttribute("data-move-error"));
    }).catch(function () {
      card.classList.remove("moving");
      snapBack(card);
      toast(board().getAttribute("data-move-error"));
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) return;
    dragged = card;
    origin = { list: card.parentNode, next: card.nextElementSibling };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-id"));
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".board-cards.drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var list = dragged && event.target.closest && event.target.closest("[data-drop]");
    if (!list) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    list.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var list = event.target.closest && event.target.closest("[data-drop]");
    if (list && !list.contains(event.relatedTarget)) list.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var list = dragged && event.target.closest && event.target.closest("[data-drop]");
    if (!list) return;
    event.preventDefault();
    list.classList.remove("drop-target");
    var card = dragged;
    dragged = null;
    if (list === origin.list) return;
    list.insertBefore(card, list.firstChild);  // newest change first, as the board orders cards
    move(card, list.closest(".board-col"));
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("select[data-board-switch]");
    if (select) window.location.href = select.value;
  });
})();
