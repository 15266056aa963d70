// Conveniences only: every page works without JavaScript.
document.documentElement.classList.add("js");

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = gettext("Copied");
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// Forms that ask for confirmation before a destructive POST: <form data-confirm="Really?">
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Print the page (backup codes): <button data-print>
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// A VM page whose "Check now" is queued asks for the stored result every 2 s (for a minute at most) and shows it.
const statusCard = document.querySelector("[data-status-url]");
if (statusCard) {
  let tries = 30;
  const poll = () => {
    fetch(statusCard.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text().then((html) => [response, html]) : Promise.reject()))
      .then(([response, html]) => {
        const body = statusCard.querySelector(".status-body");
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".status-body");
        if (body && fresh) body.replaceWith(fresh);
        if (response.headers.get("X-Status-Queued") === "true" && --tries > 0) setTimeout(poll, 2000);
      })
      .catch(() => {});
  };
  setTimeout(poll, 2000);
}
