// Sortable, filterable leaderboard tables; no server, works from file://.
document.querySelectorAll("table.leaderboard").forEach((table) => {
  const body = table.tBodies[0];
  const headers = Array.from(table.tHead.rows[0].cells);
  headers.forEach((header, column) => {
    header.addEventListener("click", () => {
      const descending = header.dataset.order !== "desc";
      headers.forEach((h) => delete h.dataset.order);
      header.dataset.order = descending ? "desc" : "asc";
      const rows = Array.from(body.rows);
      rows.sort((a, b) => compare(sortKey(a.cells[column]), sortKey(b.cells[column])) * (descending ? -1 : 1));
      rows.forEach((row) => body.appendChild(row));
    });
  });
  const filter = document.getElementById(table.dataset.filter);
  if (filter) {
    filter.addEventListener("input", () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.from(body.rows).forEach((row) => {
        const text = row.textContent.toLowerCase();
        row.hidden = !words.every((word) => text.includes(word));
      });
    });
  }
});

function sortKey(cell) {
  const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
  const number = parseFloat(raw);
  return raw !== "" && !isNaN(number) && /^-?[\d.]/.test(raw) ? number : raw.toLowerCase();
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === "") return 1;
  if (b === "") return -1;
  if (typeof a === typeof b) return a < b ? -1 : 1;
  return typeof a === "number" ? -1 : 1;
}
