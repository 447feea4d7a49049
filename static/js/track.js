// The track page after an htmx status click: the server sends back the row, the progress
// bar and the rows whose "waiting on" changed, not the whole list. This moves the "your
// next step" highlight and the "jump to my next step" link to match, by the rule the
// server renders them with (apps/learning/selectors.py, TrackView.next_step): the first
// step not done or skipped, outside a finished choice group, waiting on nothing. It also
// keeps the keyboard focus on the step, whose clicked control is gone.
(function () {
  "use strict";

  function isFinished(row) {
    return row.classList.contains("status-done") || row.classList.contains("status-skipped");
  }

  function groupFinished(group) {
    var rows = group.querySelectorAll("li.step");
    var required = Math.min(parseInt(group.getAttribute("data-required"), 10) || 1, rows.length);
    var done = group.querySelectorAll("li.step.status-done").length;
    var skipped = group.querySelectorAll("li.step.status-skipped").length;
    return required - Math.min(done, required) <= 0 || rows.length - done - skipped <= 0;
  }

  function nextStep() {
    var rows = document.querySelectorAll("ol.steps li.step");
    for (var i = 0; i < rows.length; i += 1) {
      var row = rows[i];
      var group = row.closest("li.choice-group");
      if (isFinished(row) || row.classList.contains("waiting")) continue;
      if (group && groupFinished(group)) continue;
      return row;
    }
    return null;
  }

  function title(row) {
    var heading = row.querySelector("h2");
    if (!heading) return "";
    var copy = heading.cloneNode(true);
    copy.querySelectorAll(".badge").forEach(function (badge) { badge.remove(); });
    return copy.textContent.trim();
  }

  function showNextStep() {
    var next = nextStep();
    document.querySelectorAll("li.step.is-next").forEach(function (row) {
      if (row !== next) row.classList.remove("is-next");
    });
    if (next) next.classList.add("is-next");
    var jump = document.getElementById("jump-next");
    if (!jump) return;
    jump.hidden = !next;
    if (next) {
      jump.querySelector("a").setAttribute("href", "#" + next.id);
      jump.querySelector(".jump-title").textContent = ": " + title(next);
    }
  }

  // The map at the top of the page (apps/learning/maps.py) draws each step's status by
  // colour and shape; the rows a click sent back say the new status, and their map
  // nodes are redrawn the same way.
  var SVG = "http://www.w3.org/2000/svg";
  var STATUSES = ["todo", "in_progress", "done", "skipped"];
  var WORDS = { todo: "to do", in_progress: "in progress", done: "done", skipped: "skipped" };

  function rowStatus(row) {
    for (var i = 0; i < STATUSES.length; i += 1) {
      if (row.classList.contains("status-" + STATUSES[i])) return STATUSES[i];
    }
    return null;
  }

  function shape(d, cls) {
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("class", cls);
    path.setAttribute("d", d);
    return path;
  }

  function syncMapNode(row) {
    var status = rowStatus(row);
    var link = document.querySelector('svg.track-map a[href="#' + row.id + '"]');
    if (!status || !link) return;
    var circle = link.querySelector("circle.map-node");
    if (!circle || circle.classList.contains("map-" + status)) return;
    var x = parseFloat(circle.getAttribute("cx"));
    var y = parseFloat(circle.getAttribute("cy"));
    circle.setAttribute("class", "map-node map-" + status);
    link.querySelectorAll(".map-tick, .map-half, .map-slash").forEach(function (old) {
      old.remove();
    });
    var mark = null;
    if (status === "done") mark = shape("M" + (x - 4) + " " + y + "l3 3l6 -7", "map-tick");
    if (status === "in_progress") mark = shape("M" + x + " " + (y - 8) + "a8 8 0 0 1 0 16z", "map-half");
    if (status === "skipped") mark = shape("M" + (x - 5) + " " + (y + 5) + "l10 -10", "map-slash");
    if (mark) circle.after(mark);
    var title = link.querySelector("title");
    if (title) title.textContent = title.textContent.replace(/, [a-z ]+$/, ", " + WORDS[status]);
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    showNextStep();
    document.querySelectorAll("ol.steps li.step").forEach(syncMapNode);
    // The control just pressed is gone (the step is now in its state, which is not
    // offered again): the focus goes to the step's status, which reads the new one out,
    // instead of falling to the page. A control still there keeps it (htmx, by its id).
    var row = event.detail && event.detail.target;
    var lost = !document.activeElement || document.activeElement === document.body;
    if (row && row.matches && row.matches("li.step") && lost) {
      var status = document.getElementById(row.id.replace(/^step-/, "status-"));
      if (status) status.focus({ preventScroll: true });
    }
  });
})();
