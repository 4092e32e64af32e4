// App shell behaviour that works without a framework: the checkout switcher submits on change,
// and buttons open and close dialogs. No inline handlers: the Content-Security-Policy allows
// only scripts from our static files.
document.documentElement.classList.add("js");
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select) select.form.requestSubmit();
});
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) document.getElementById(opener.dataset.openDialog)?.showModal();
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog")?.close();
});
// A dialog that arrives by htmx (Send receipt) opens as a modal, and leaves the page when
// closed so the next click loads a fresh one (with a fresh request key).
document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("dialog[data-auto-open]:not([open])").forEach((dialog) => {
    dialog.showModal();
  });
});
document.addEventListener(
  "close",
  (event) => {
    if (event.target.matches && event.target.matches("dialog[data-remove-on-close]")) {
      event.target.remove();
    }
  },
  true,
);

// A modal dialog keeps the keyboard inside: Tab from its last control goes to its first and
// Shift+Tab from the first to the last, instead of leaving for the browser's toolbar.
// Escape is the browser's own: it closes the dialog, which gives focus back to its opener.
const TABBABLE =
  "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
document.addEventListener("keydown", (event) => {
  if (event.key !== "Tab") return;
  const dialog = document.querySelector("dialog:modal");
  if (!dialog) return;
  const controls = [...dialog.querySelectorAll(TABBABLE)].filter(
    (element) => element.getClientRects().length && !element.closest("[hidden]"),
  );
  if (!controls.length) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  const inside = dialog.contains(document.activeElement);
  if (event.shiftKey && (document.activeElement === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
});

// Live updates (issue 15): the Requires attention counter of the navigation follows on every
// page; the orders page's own poll (orders.js) brings it there, so this one stands aside.
(() => {
  const start = () => {
    const counter = document.getElementById("live-counter");
    const seconds = Number(counter?.dataset.interval);
    if (!counter || !(seconds > 0) || !window.htmx) return;
    let polling = false;
    let polls = 0;
    // As orders.js: the cursor of the last answer (`Live-Cursor`), and every
    // `data-counter-every`th poll the counter whatever the cursor says.
    document.addEventListener("htmx:afterRequest", (event) => {
      if (event.detail.elt !== counter || !event.detail.successful) return;
      const cursor = event.detail.xhr?.getResponseHeader("Live-Cursor");
      if (cursor) counter.dataset.cursor = cursor;
    });
    setInterval(() => {
      if (polling || document.hidden || document.getElementById("live")) return;
      polling = true;
      const params = new URLSearchParams();
      if (counter.dataset.cursor) params.set("cursor", counter.dataset.cursor);
      const every = Number(counter.dataset.counterEvery);
      if (every > 0 && ++polls % every === 0) params.set("counter", "1");
      const query = params.toString();
      const url = query ? `${counter.dataset.url}?${query}` : counter.dataset.url;
      htmx.ajax("GET", url, { source: "#live-counter", swap: "none" }).finally(() => {
        polling = false;
      });
    }, seconds * 1000);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
