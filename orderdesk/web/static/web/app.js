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
