// mlflow-pipelines web UI: the only script (served by the binary; nothing inline). The pages
// work without it; it only says how many runs are selected for comparison.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("compare-form");
  var out = document.getElementById("selected");
  if (!form || !out) {
    return;
  }
  function update() {
    var n = form.querySelectorAll('input[name="run"]:checked').length;
    out.textContent = n === 0 ? "" : n + " selected" + (n < 2 ? " (pick at least two)" : "");
  }
  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    if (form.querySelectorAll('input[name="run"]:checked').length < 2) {
      event.preventDefault();
      out.textContent = "Select at least two runs to compare.";
    }
  });
  update();
});
