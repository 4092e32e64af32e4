// Order Management: row clicks, keyboard shortcuts, the side panel's keyboard behaviour,
// filters after history moves.
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

  // Keyboard first (issue 15): j/k move between rows (and, with the panel open, open the next
  // one), Enter opens the row (its link), Esc closes the panel, / goes to the search, ? lists
  // the shortcuts. Each row has one tab stop, its link (`a.row-link`).
  //
  // The current row is the one marked `data-current` (one at a time). Whenever it changes,
  // the document gets an `orders:rowfocus` event with `detail.row` (the <tr>) and
  // `detail.number` (the order number), so other features (row selection) can bind a key to
  // the row the keyboard is on.
  const rowLinks = () => [...document.querySelectorAll("tr.order-row a.row-link")];
  const currentRow = () => document.querySelector("tr.order-row[data-current]");

  let currentNumber = null;
  let rowHadFocus = false;

  const makeCurrent = (row) => {
    if (!row || row.hasAttribute("data-current")) return;
    currentNumber = row.dataset.number;
    document.querySelectorAll("tr.order-row[data-current]").forEach((tr) => tr.removeAttribute("data-current"));
    row.setAttribute("data-current", "");
    document.dispatchEvent(
      new CustomEvent("orders:rowfocus", { detail: { row, number: row.dataset.number } }),
    );
  };

  document.addEventListener("focusin", (event) => {
    const row = event.target.closest && event.target.closest("tr.order-row");
    if (row) makeCurrent(row);
  });

  // A row swapped in place (after an action on its order, or a live update) keeps being the
  // current row, and keeps the focus when it had it.
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    rowHadFocus = Boolean(target?.matches?.("tr.order-row") && target.contains(document.activeElement));
  });
  document.addEventListener("htmx:oobAfterSwap", (event) => {
    const number = event.detail.target?.dataset?.number;
    if (!number || number !== currentNumber) return;
    const row = document.getElementById(`order-row-${number}`);
    if (!row) return;
    row.setAttribute("data-current", "");
    if (rowHadFocus) row.querySelector("a.row-link")?.focus();
    rowHadFocus = false;
  });

  const moveRow = (step) => {
    const links = rowLinks();
    if (!links.length) return;
    const current = currentRow()?.querySelector("a.row-link");
    let index = links.indexOf(current);
    index = index < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, index + step));
    const link = links[index];
    link.focus();
    link.closest("tr")?.scrollIntoView({ block: "nearest" });
    // With the panel open the next order follows in it, as a mail reader does.
    if (isOpen() && panel().querySelector(".panel")?.dataset.number !== link.dataset.order) link.click();
  };

  const typing = (target) =>
    target.isContentEditable || Boolean(target.closest("input, select, textarea, [contenteditable]"));

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (document.querySelector("dialog:modal") || typing(event.target)) return;
    if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      moveRow(event.key === "j" ? 1 : -1);
    } else if (event.key === "/") {
      const search = document.getElementById("filter-q");
      if (!search) return;
      event.preventDefault();
      search.focus();
      search.select();
    } else if (event.key === "?") {
      const dialog = document.getElementById("shortcuts-dialog");
      if (!dialog) return;
      event.preventDefault();
      dialog.showModal();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    // Escape in a dialog over the panel closes that dialog only.
    if (document.querySelector("dialog:modal")) return;
    if (event.target.closest("input, select, textarea") && event.target.value) return;
    event.preventDefault();
    // Ask htmx for the closed panel directly: a synthetic click on the close link could reach
    // the browser before htmx had bound the freshly swapped panel, and load the whole page.
    const close = panel().querySelector(".panel-close");
    const url = close?.getAttribute("hx-get");
    if (!url) return;
    htmx.ajax("GET", url, { target: "#panel", swap: "innerHTML" }).then(() => history.pushState({}, "", url));
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
      if (element.type === "checkbox") element.checked = params.get(element.name) === element.value;
      else element.value = params.get(element.name) ?? "";
    }
  };
  // A tab or saved view swaps the table and sets the URL (before the swap): the form shows
  // that URL's filters. Not after the form's own requests, to keep what is being typed.
  document.addEventListener("htmx:afterSwap", (event) => {
    const source = event.detail.requestConfig?.elt;
    if (event.detail.target?.id === "orders-body" && source && !source.closest("#filters")) syncFilters();
  });

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
      if (liveRefresh) {
        // A live refresh leaves the focus where it was.
      } else if (isOpen()) {
        document.getElementById("panel-title")?.focus();
      } else if (opener) {
        document.querySelector(`a.row-link[data-order="${opener}"]`)?.focus();
      }
      markSelected();
    }
    markInvalid();
  });

  // Live updates (issue 15): every `data-interval` seconds while the page is visible, ask
  // what changed since the cursor of the last answer, with the table's filters, each row's
  // version, the first page's newest row and the open panel's version. Mostly the answer is
  // an empty 204 (nothing changed); else it swaps changed rows in place (out of band: the
  // row under the pointer stays where it is), the new orders' bar and the counters; when the
  // open order changed it fires `orders:panel-changed` and the panel is read again, unless
  // someone is typing in it or a dialog is open over it, then as soon as they are done.
  // Every answer's `Live-Cursor` header is kept on `#live`, which the table's redraw replaces:
  // the first poll after a redraw goes without one and compares every row. Every
  // `data-counter-every`th poll asks for the counters too (time alone can change them).
  let polling = false;
  let panelStale = false;
  let liveRefresh = false;
  let polls = 0;

  const pollUrl = () => {
    const live = document.getElementById("live");
    if (!live) return null;
    const params = new URLSearchParams(location.search);
    if (live.dataset.cursor) params.set("cursor", live.dataset.cursor);
    const every = Number(live.dataset.counterEvery);
    if (every > 0 && ++polls % every === 0) params.set("counter", "1");
    const rowVersions = [...document.querySelectorAll("tr.order-row[data-version]")].map(
      (tr) => `${tr.dataset.number}:${tr.dataset.version}`,
    );
    params.set("rows", rowVersions.join(","));
    if (live.dataset.top) params.set("top", live.dataset.top);
    const open = panel()?.querySelector(".panel");
    if (open?.dataset.version) params.set("panel", `${open.dataset.number}:${open.dataset.version}`);
    return `${live.dataset.url}?${params}`;
  };

  const poll = () => {
    if (polling || document.hidden) return;
    const url = pollUrl();
    if (!url) return;
    polling = true;
    htmx.ajax("GET", url, { source: "#live", swap: "none" }).finally(() => {
      polling = false;
      markSelected();
    });
  };

  // The answer's cursor, after its swaps, on the `#live` that asked: if the table was drawn
  // again meanwhile, that one is gone and the new one keeps having none.
  document.addEventListener("htmx:afterRequest", (event) => {
    const source = event.detail.elt;
    if (source?.id !== "live" || !source.isConnected || !event.detail.successful) return;
    const cursor = event.detail.xhr?.getResponseHeader("Live-Cursor");
    if (cursor) source.dataset.cursor = cursor;
  });

  const panelBusy = () =>
    Boolean(document.querySelector("dialog[open]")) ||
    Boolean(panel()?.contains(document.activeElement) && document.activeElement.closest("form"));

  const refreshPanel = () => {
    const open = panel()?.querySelector(".panel");
    if (!open) return;
    if (panelBusy()) {
      panelStale = true;
      return;
    }
    panelStale = false;
    liveRefresh = true;
    const body = open.querySelector(".panel-body");
    const scrolled = body ? body.scrollTop : 0;
    htmx
      .ajax("GET", `${location.pathname}${location.search}`, { target: "#panel", swap: "innerHTML", headers: { "HX-Target": "panel" } })
      .finally(() => {
        liveRefresh = false;
        const fresh = panel()?.querySelector(".panel-body");
        if (fresh) fresh.scrollTop = scrolled;
      });
  };

  document.addEventListener("orders:panel-changed", (event) => {
    const open = panel()?.querySelector(".panel");
    if (open && String(event.detail?.number) === open.dataset.number) refreshPanel();
  });
  // A refresh put off while someone typed or a dialog was open happens once they are done.
  document.addEventListener("focusout", () => setTimeout(() => panelStale && refreshPanel(), 0));
  document.addEventListener("close", () => setTimeout(() => panelStale && refreshPanel(), 0), true);

  const startPolling = () => {
    const live = document.getElementById("live");
    const seconds = Number(live?.dataset.interval);
    if (!live || !(seconds > 0)) return;
    setInterval(poll, seconds * 1000);
    document.addEventListener("visibilitychange", () => !document.hidden && poll());
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startPolling);
  else startPolling();

  document.addEventListener("htmx:historyRestore", () => {
    syncFilters();
    markInvalid();
    markSelected();
  });
  window.addEventListener("popstate", () => setTimeout(syncFilters, 0));
})();
