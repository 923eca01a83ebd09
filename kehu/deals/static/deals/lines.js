/* Product lines of the opportunity form: a product chosen with the picker fills the line's unit
   price with the product's price in the deal's currency (when the box is empty or was filled this
   way before), and with "amount = sum of the lines" ticked the amount box shows the lines' sum.
   Totals themselves come from the server (deals:opportunity-line-totals, htmx). */
(function () {
  "use strict";

  function form() { return document.getElementById("opportunity-form"); }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.classList || !target.classList.contains("picker-id")) return;
    var row = target.closest(".deal-line");
    var f = form();
    if (!row || !f || !target.value) return;
    var price = row.querySelector(".line-unit_price input");
    if (!price || (price.value && price.dataset.auto !== "1")) return;  // a price typed by hand stays
    var url = new URL(f.dataset.priceUrl, window.location.href);
    url.searchParams.set("product_id", target.value);
    url.searchParams.set("currency", f.elements.currency ? f.elements.currency.value : "");
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || data.unit_price === null) return;
        price.value = data.unit_price;
        price.dataset.auto = "1";
        price.dispatchEvent(new Event("change", { bubbles: true }));  // the totals follow
      });
  });

  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest(".line-unit_price")) delete event.target.dataset.auto;
  });

  function syncAmount() {
    var f = form();
    var sum = document.getElementById("deal-lines-sum");
    if (!f || !sum || !f.elements.amount || !f.elements.amount_from_lines) return;
    var fromLines = f.elements.amount_from_lines.checked && Number(sum.dataset.count) > 0;
    f.elements.amount.readOnly = fromLines;
    if (fromLines) f.elements.amount.value = sum.dataset.sum;
  }

  document.addEventListener("htmx:afterSettle", syncAmount);
  document.addEventListener("change", function (event) {
    if (event.target.name === "amount_from_lines") syncAmount();
  });
})();
