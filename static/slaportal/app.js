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

// Pickup countdowns in business time: the server gives the deadline and the working windows around it
// (leads/deadlines.py); between page loads the words are recounted here each half minute. Time outside
// the windows does not count, so a countdown stands still at night and over weekends.
function businessPhrase(ms, roundUp) {
  const minutes = roundUp ? Math.ceil(ms / 60000) : Math.floor(ms / 60000);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (!hours) return `${rest} business minute${rest !== 1 ? "s" : ""}`;
  const text = `${hours} business hour${hours !== 1 ? "s" : ""}`;
  return rest ? `${text} ${rest} min` : text;
}
function within(windows, from, to) {
  let total = 0;
  for (const [opens, closes] of windows) total += Math.max(0, Math.min(closes, to) - Math.max(opens, from));
  return total;
}
function recount() {
  const now = Date.now();
  for (const badge of document.querySelectorAll("[data-countdown]")) {
    const deadline = Number(badge.dataset.deadline);
    let windows;
    try { windows = JSON.parse(badge.dataset.windows); } catch { continue; }
    const words = badge.querySelector("[data-left]");
    if (!words || !windows.length || now > windows[windows.length - 1][1]) continue;
    const overdue = deadline < now;
    badge.classList.toggle("overdue", overdue);
    const row = badge.closest("tr");
    if (row && overdue) row.classList.add("overdue");
    if (overdue) {
      const late = within(windows, deadline, now);
      words.textContent = late < 60000 ? "overdue" : `overdue by ${businessPhrase(late)}`;
    } else {
      const open = windows.some(([opens, closes]) => opens <= now && now < closes);
      words.textContent = `${businessPhrase(within(windows, now, deadline), true)} left` +
        (open ? "" : "; paused outside business hours");
    }
  }
}
setInterval(recount, 30000);
document.addEventListener("htmx:load", recount);

// An undo offer lasts as long as the server allows it (data-lasts, in seconds); then it goes away rather
// than fail when pressed.
document.addEventListener("htmx:load", (event) => {
  const piece = event.detail.elt;
  if (!piece || !piece.querySelectorAll) return;
  for (const offer of piece.querySelectorAll("[data-lasts]")) {
    setTimeout(() => offer.remove(), Number(offer.dataset.lasts) * 1000);
  }
});
