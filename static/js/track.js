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

  document.addEventListener("htmx:afterSettle", function (event) {
    showNextStep();
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
