// The SLA section editors (templates/agreements/_section_form.html). The Content-Security-Policy allows
// no inline script, so all of this is wired from the markup's data- attributes. The forms work without
// it: the server keeps one blank row to fill and shows every error beside its field.

// A form that did not save opens at its error summary: on a long form (the handoff section) the first
// error would otherwise be far above the part of the page on screen. htmx:load fires for each piece
// swapped in; the first page load is the same case.
function showErrors(root) {
  const summary = root.querySelector && root.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.scrollIntoView({ block: "start" });
  summary.focus({ preventScroll: true });
}
document.addEventListener("DOMContentLoaded", () => showErrors(document));
document.addEventListener("htmx:load", (event) => {
  const piece = event.detail.elt;
  if (piece && piece !== document.body) {
    showErrors(piece.matches("[data-error-summary]") ? piece.parentNode : piece);
  }
});

// "Add another row": a copy of the formset's empty row, numbered as the next one.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const prefix = button.dataset.addRow;
  const fieldset = button.closest("fieldset");
  const total = fieldset.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
  const max = Number(fieldset.querySelector(`input[name="${prefix}-MAX_NUM_FORMS"]`).value);
  const index = Number(total.value);
  if (index >= max) {
    button.disabled = true;
    return;
  }
  const template = fieldset.querySelector(`template[data-row-template="${prefix}"]`);
  const rows = fieldset.querySelector(`tbody[data-rows="${prefix}"]`);
  const html = template.innerHTML.replaceAll("__prefix__", String(index)).replaceAll("__row__", String(index + 1));
  rows.insertAdjacentHTML("beforeend", html);
  total.value = String(index + 1);
  if (index + 1 >= max) button.disabled = true;
  const first = rows.lastElementChild.querySelector("input, select, textarea");
  if (first) first.focus();
  markDirty(button.closest("form"));
});
function revealAddButtons(root) {
  if (!root.querySelectorAll) return;
  for (const button of root.querySelectorAll("[data-add-row][hidden]")) button.hidden = false;
}
document.addEventListener("DOMContentLoaded", () => revealAddButtons(document));
document.addEventListener("htmx:load", (event) => revealAddButtons(event.detail.elt));

// Typed but unsaved changes are never lost without asking: leaving the page, or Cancel (its click, or
// Escape, which clicks it), asks first.
function markDirty(form) {
  if (form && form.matches("[data-editor]")) form.dataset.dirty = "";
}
document.addEventListener("input", (event) => markDirty(event.target.form));
document.addEventListener("change", (event) => markDirty(event.target.form));
document.addEventListener("submit", (event) => {
  if (event.target.matches("[data-editor]")) event.target.dataset.submitting = "";
});
// A save that never got an answer leaves the typed values unsaved, so the form stays guarded.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (form && form.matches && form.matches("[data-editor]")) delete form.dataset.submitting;
});
function unsaved() {
  return document.querySelector("form[data-editor][data-dirty]:not([data-submitting])");
}
window.addEventListener("beforeunload", (event) => {
  if (!unsaved()) return;
  event.preventDefault();
  event.returnValue = "";  // older browsers show the prompt only when this is set
});
// Capturing, so the question comes before htmx's own click handler on the link.
document.addEventListener(
  "click",
  (event) => {
    const cancel = event.target.closest("form[data-editor] [data-cancel]");
    if (!cancel) return;
    const form = cancel.closest("form");
    if (!form.matches("[data-dirty]")) return;
    const title = form.closest("section")?.querySelector("h2")?.firstChild?.textContent.trim() || "this section";
    if (window.confirm(`Discard your unsaved changes to ${title}?`)) {
      delete form.dataset.dirty;
    } else {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
