// Row selection and bulk jobs on the orders page (issue 15).
//
// The selection is a set of order numbers kept here, across pages of the same filters; rows
// carry `data-number` and a checkbox `input.row-select` with tabindex -1, so a row keeps its one
// tab stop. Other scripts (the keyboard model) toggle it through `window.orderSelection`; "x"
// on a focused row does it here. Forms with `[data-request-key]` get a key once, so a double
// submit makes one job; `[data-selection-numbers]` and `[data-filter-query]` are filled on
// submit.
(() => {
  const selected = new Set();
  const filterKey = () => {
    const params = new URLSearchParams(location.search);
    for (const name of ["after", "before", "group"]) params.delete(name);
    return params.toString();
  };
  let filters = filterKey();

  const rows = () => [...document.querySelectorAll("input.row-select")];

  const sync = () => {
    for (const box of rows()) {
      const on = selected.has(box.dataset.number);
      box.checked = on;
      box.closest("tr")?.classList.toggle("is-checked", on);
    }
    const page = document.getElementById("select-page");
    if (page) {
      const boxes = rows();
      page.checked = boxes.length > 0 && boxes.every((box) => box.checked);
    }
    const label = document.querySelector("[data-selection-count]");
    if (label) {
      label.textContent = selected.size
        ? label.dataset.textSome.replace("{count}", selected.size)
        : label.dataset.textNone;
    }
    document.getElementById("bulk-form")?.classList.toggle("has-selection", selected.size > 0);
    document.querySelectorAll("[data-selection-numbers]").forEach((input) => {
      input.value = [...selected].join(",");
    });
  };

  const toggle = (number, on) => {
    const key = String(number);
    const wanted = on ?? !selected.has(key);
    if (wanted) selected.add(key);
    else selected.delete(key);
    sync();
  };

  window.orderSelection = {
    toggle,
    clear: () => {
      selected.clear();
      sync();
    },
    has: (number) => selected.has(String(number)),
    numbers: () => [...selected],
  };

  document.addEventListener("change", (event) => {
    const box = event.target.closest("input.row-select");
    if (box) toggle(box.dataset.number, box.checked);
    if (event.target.id === "select-page") {
      rows().forEach((row) => toggle(row.dataset.number, event.target.checked));
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "x" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea, dialog")) return;
    // The row the keyboard is on: the focused one, else the keyboard model's current row.
    const row =
      event.target.closest("tr.order-row") || document.querySelector("tr.order-row[data-current]");
    if (!row) return;
    event.preventDefault();
    toggle(row.dataset.number);
  });

  const newKey = () =>
    window.crypto?.randomUUID
      ? crypto.randomUUID().replaceAll("-", "")
      : Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join("");

  document.addEventListener("htmx:configRequest", (event) => {
    const form = event.detail.elt.closest?.("form");
    if (!form) return;
    const key = form.querySelector("[data-request-key]");
    if (key) {
      if (!key.value) key.value = newKey();
      event.detail.parameters.key = key.value;
    }
    if (form.querySelector("[data-filter-query]")) {
      event.detail.parameters.query = filterKey();
      event.detail.parameters.numbers = [...selected].join(",");
    }
  });

  // A started job needs a new key for the next one; a finished one refreshes the table.
  document.addEventListener("bulk-started", () => {
    document.querySelectorAll("#bulk-form [data-request-key]").forEach((input) => {
      input.value = "";
    });
  });
  document.addEventListener("bulk-finished", () => {
    if (!document.getElementById("orders-body")) return;
    window.htmx?.ajax("GET", location.pathname + location.search, {
      target: "#orders-body",
      swap: "outerHTML",
    });
  });

  document.addEventListener("htmx:afterSettle", () => {
    const now = filterKey();
    if (now !== filters) {
      filters = now;
      selected.clear();
    }
    sync();
  });
  document.addEventListener("DOMContentLoaded", sync);
})();
