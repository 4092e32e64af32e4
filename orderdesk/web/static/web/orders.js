// Order Management: row clicks, the side panel's keyboard behaviour, filters after history moves.
(() => {
  let opener = null; // the row link that opened the panel, to return focus to on close

  const panel = () => document.getElementById("panel");
  const isOpen = () => Boolean(panel() && panel().querySelector(".panel"));

  // A click anywhere on a row opens it, through the row's link (which keyboards reach too).
  document.addEventListener("click", (event) => {
    const row = event.target.closest("tr.order-row");
    if (!row || event.target.closest("a, button, input, select, summary, time")) return;
    if (window.getSelection && String(window.getSelection()).length) return; // selecting text
    row.querySelector("a.row-link")?.click();
  });

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.row-link");
    if (link) opener = link.dataset.order;
  });

  // Filter URLs carry only the filters in use: empty fields stay out of the request, and so
  // out of the address htmx pushes and the links built from it.
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id !== "filters") return;
    const data = event.detail.formData;
    for (const name of new Set(data.keys())) {
      const values = data.getAll(name).filter((value) => value !== "");
      data.delete(name);
      values.forEach((value) => data.append(name, value));
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    // Escape in a dialog over the panel closes that dialog only.
    if (document.querySelector("dialog:modal")) return;
    if (event.target.closest("input, select, textarea") && event.target.value) return;
    event.preventDefault();
    panel().querySelector(".panel-close")?.click();
  });

  const markSelected = () => {
    const number = panel()?.querySelector(".panel")?.dataset.number;
    document.querySelectorAll("tr.order-row.is-selected").forEach((tr) => tr.classList.remove("is-selected"));
    if (number) document.getElementById(`order-row-${number}`)?.classList.add("is-selected");
  };

  // Filters live in the URL; after back/forward put the URL's values back into the form.
  const syncFilters = () => {
    const form = document.getElementById("filters");
    if (!form) return;
    const params = new URLSearchParams(location.search);
    for (const element of form.elements) {
      if (!element.name || element.type === "submit") continue;
      element.value = params.get(element.name) ?? "";
    }
  };

  const markInvalid = () => {
    document.querySelectorAll("#filters [aria-describedby^='filter-error-']").forEach((input) => {
      const error = document.getElementById(input.getAttribute("aria-describedby"));
      if (error && error.textContent.trim()) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  };

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target && target.id === "panel") {
      if (isOpen()) {
        document.getElementById("panel-title")?.focus();
      } else if (opener) {
        document.querySelector(`a.row-link[data-order="${opener}"]`)?.focus();
      }
      markSelected();
    }
    markInvalid();
  });

  document.addEventListener("htmx:historyRestore", () => {
    syncFilters();
    markInvalid();
    markSelected();
  });
  window.addEventListener("popstate", () => setTimeout(syncFilters, 0));
})();
