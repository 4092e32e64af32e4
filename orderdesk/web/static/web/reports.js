// Reports: expand a country to its regions. Without JavaScript the regions are simply shown.
(function () {
  function collapseAll(root) {
    root.querySelectorAll("[data-regions]").forEach(function (tbody) {
      var button = root.querySelector('[aria-controls="' + tbody.id + '"]');
      if (button && button.getAttribute("aria-expanded") !== "true") tbody.hidden = true;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-expand]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("aria-controls"));
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", String(!open));
    button.querySelector("span").textContent = open ? "▸" : "▾";
    if (target) target.hidden = open;
  });
  document.addEventListener("DOMContentLoaded", function () { collapseAll(document); });
  document.addEventListener("htmx:afterSettle", function () { collapseAll(document); });
})();
