// The reveal page's copy button: the only script of the portal (the page works without it).
document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const field = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    } catch (e) {
      field.select();
      button.textContent = "Press Ctrl+C to copy";
    }
  });
});
