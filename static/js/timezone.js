// Suggests the browser's time zone in a time zone picker that still says UTC (or nothing):
// <select data-suggest-timezone="UTC">. The learner sees the suggestion and saves it or
// not; the server checks the zone as it checks any other choice.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function suggest(select) {
    var zone = browserZone();
    var unset = select.getAttribute("data-suggest-timezone") || "UTC";
    if (!zone || zone === unset || (select.value && select.value !== unset)) {
      return;
    }
    var offered = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (!offered) {
      return;
    }
    select.value = zone;
    var hint = document.createElement("small");
    hint.className = "meta suggested";
    hint.setAttribute("role", "status");
    hint.textContent = "Suggested from this device: " + zone.replace(/_/g, " ") + ".";
    select.insertAdjacentElement("afterend", hint);
  }

  document.querySelectorAll("select[data-suggest-timezone]").forEach(suggest);
})();
