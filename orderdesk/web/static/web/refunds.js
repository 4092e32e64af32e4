// The Refund dialog: opens as a modal, shows "Remove access" only while a product's amount is
// its full remaining price (ticked when the product granted access, until staff untick it),
// and says what will happen for this order's provider.
(() => {
  const toMinor = (text, exponent) => {
    const cleaned = text.trim().replace(/\s/g, "").replace(",", ".");
    if (!cleaned) return 0;
    if (!/^\d+(\.\d*)?$/.test(cleaned)) return NaN;
    const [units, fraction = ""] = cleaned.split(".");
    if (fraction.length > exponent) return NaN;
    return Number(units) * 10 ** exponent + Number(fraction.padEnd(exponent, "0") || 0);
  };

  const update = (form) => {
    const exponent = Number(form.dataset.exponent);
    let total = 0;
    form.querySelectorAll("[data-refund-row]").forEach((row) => {
      const input = row.querySelector("input[data-amount]");
      const minor = toMinor(input.value, exponent);
      const full = input.dataset.full === "true" && minor === Number(input.dataset.max);
      const access = row.querySelector("[data-remove-access]");
      if (access) {
        const box = access.querySelector("input");
        // Becoming visible, it is ticked for a product that granted access, unless staff
        // already chose for this product.
        if (full && access.hidden && !box.dataset.touched) box.checked = "precheck" in box.dataset;
        access.hidden = !full;
        if (!full) box.checked = false;
      }
      if (minor > 0) total += minor;
    });
    const route = form.querySelector("[data-route]");
    const viaProvider = form.querySelector("input[name=refund_payments]").checked;
    const partial = total < Number(form.dataset.paymentLeft);
    route.textContent = !viaProvider
      ? route.dataset.msgUnchecked
      : partial
        ? route.dataset.msgPartial
        : route.dataset.msgFull;
  };

  const refresh = (event) => {
    const form = event.target.closest && event.target.closest("form[data-refund-form]");
    if (!form) return;
    if (event.type === "change" && event.target.closest("[data-remove-access]")) {
      event.target.dataset.touched = "true";
    }
    update(form);
  };
  document.addEventListener("input", refresh);
  document.addEventListener("change", refresh);

  const openDialogs = () => {
    document.querySelectorAll("dialog[data-refund-dialog]").forEach((dialog) => {
      if (!dialog.matches(":modal")) {
        dialog.close();
        dialog.showModal();
      }
      update(dialog.querySelector("form"));
      const invalid = dialog.querySelector("[aria-invalid=true]");
      (invalid || dialog.querySelector("input[data-amount]"))?.focus();
    });
  };
  document.addEventListener("htmx:afterSettle", openDialogs);

  // A closed dialog leaves the page, so the next Refund click starts a fresh form.
  document.addEventListener(
    "close",
    (event) => {
      const dialog = event.target;
      // A dialog reopened as a modal right after its non-modal close stays.
      if (dialog.matches && dialog.matches("dialog[data-refund-dialog]") && !dialog.open) {
        if (document.querySelector(".panel")) dialog.remove();
      }
    },
    true,
  );
  // Esc closes the dialog only, not the side panel under it.
  window.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Escape" && document.querySelector("dialog[data-refund-dialog][open]")) {
        event.stopPropagation();
      }
    },
    true,
  );
})();
