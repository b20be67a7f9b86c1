// SLA Portal's own script, served from our static files: the Content-Security-Policy allows no inline
// script, so behaviour that a page's markup asks for is wired here.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// After an in-place action, focus goes to what it says (a confirmation or an error), not back to the
// top of the page. (A form opened in place focuses its first field itself: autofocus.) htmx:load fires
// on each piece of content swapped in.
document.addEventListener("htmx:load", (event) => {
  const piece = event.detail.elt;
  if (!piece || piece === document.body) return;
  const said = piece.matches("[data-focus]") ? piece : piece.querySelector("[data-focus]");
  if (said) said.focus();
});

// Escape closes an inline form, as its Cancel link does.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest && event.target.closest("[data-escape-closes]");
  const cancel = form && form.querySelector("[data-cancel]");
  if (cancel) cancel.click();
});

// An answer htmx does not swap in (a refusal, a server error, no answer) is said in words, never ignored.
const SAID = {
  401: "Your session has ended: sign in again.",
  403: "You may not do that (any more). Reload the page to see it as it is now.",
  404: "It is not there any more. Reload the page.",
  413: "That is too large to send.",
  429: "Too many requests: wait a moment and try again.",
};
function say(text) {
  const region = document.getElementById("flash");
  if (!region) return;
  region.textContent = text;
  region.hidden = false;
  region.focus();
}
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  say(SAID[status] || "Something went wrong on our side; nothing was half-saved. Try again.");
});
document.addEventListener("htmx:sendError", () => {
  say("SLA Portal did not answer: check your connection and try again.");
});
