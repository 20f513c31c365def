// Live character count for the memory editor; the server enforces the same limit.
document.addEventListener("DOMContentLoaded", () => {
  // After a refused save, take the keyboard to the first field in error.
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();

  const area = document.getElementById("content");
  const counter = document.getElementById("content-count");
  if (!area || !counter) return;
  const max = Number(area.dataset.max);
  const save = area.form && area.form.querySelector('button[type="submit"]');
  let serverInvalid = area.getAttribute("aria-invalid") === "true"; // until the text is edited
  const fmt = new Intl.NumberFormat("en-US");
  const update = () => {
    const length = [...area.value].length; // code points, as the server counts
    counter.textContent = `${fmt.format(length)} / ${fmt.format(max)} characters`;
    const over = length > max;
    counter.classList.toggle("over", over);
    area.setAttribute("aria-invalid", over || serverInvalid ? "true" : "false");
    if (save) save.disabled = over; // the server checks too; this just saves a round trip
  };
  area.addEventListener("input", () => {
    serverInvalid = false;
    update();
  });
  update();
});
