// SLA Portal's own script, served from our static files: the Content-Security-Policy allows no inline
// script, so behaviour that a page's markup asks for is wired here.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
