// Conveniences only: every page works without JavaScript.
document.documentElement.classList.add("js");

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
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
