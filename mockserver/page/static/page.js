// Progressive extras only: everything on the page reads and works without this script.
"use strict";

// "Kopier curl" buttons appear only where a script can copy.
document.querySelectorAll("button.copy[data-copy]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Kopiert";
    } catch (err) {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = "Merket – trykk Ctrl+C";
    }
  });
});

// The journal keeps itself fresh: the server renders the rows, the script swaps them in.
const live = document.querySelector("table[data-live]");
if (live) {
  setInterval(async () => {
    try {
      const response = await fetch(live.dataset.live, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const holder = document.createElement("table");
      holder.innerHTML = await response.text();
      const rows = holder.querySelector("tbody");
      const current = live.querySelector("tbody");
      if (rows && current && rows.innerHTML !== current.innerHTML) current.replaceWith(rows);
    } catch (err) {
      // the server may be restarting; the next tick tries again
    }
  }, 2000);
}
