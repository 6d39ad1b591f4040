// Sorting and filtering of the leaderboard table, without a network request (works from file://).
(function () {
  "use strict";
  var table = document.getElementById("leaderboard");
  var body = table.tBodies[0];
  var classFilter = document.getElementById("filter-class");
  var modelFilter = document.getElementById("filter-model");
  var count = document.getElementById("shown-count");

  function value(row, index) {
    var cell = row.cells[index];
    return cell.getAttribute("data-sort") || "";
  }

  function sortBy(header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.getAttribute("data-type") === "num";
    var descending = header.getAttribute("aria-sort") !== "descending";
    Array.prototype.forEach.call(header.parentNode.children, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, index), y = value(b, index);
      if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }  // no figure: last
      var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function filter() {
    var wantedClass = classFilter.value, wantedModel = modelFilter.value, shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var classes = (row.getAttribute("data-class") || "").split(" ");
      var ok = (!wantedClass || classes.indexOf(wantedClass) >= 0) &&
        (!wantedModel || row.getAttribute("data-model") === wantedModel);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + body.rows.length + " cells shown";
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    var button = th.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(th); }); }
  });
  classFilter.addEventListener("change", filter);
  modelFilter.addEventListener("change", filter);
  filter();
}());
