// Live character count for the memory editor; the server enforces the same limit.
document.addEventListener("DOMContentLoaded", () => {
  const area = document.getElementById("content");
  const counter = document.getElementById("content-count");
  if (!area || !counter) return;
  const max = Number(area.dataset.max);
  const fmt = new Intl.NumberFormat("en-US");
  const update = () => {
    const length = [...area.value].length; // code points, as the server counts
    counter.textContent = `${fmt.format(length)} / ${fmt.format(max)} characters`;
    counter.classList.toggle("over", length > max);
  };
  area.addEventListener("input", update);
  update();
});
