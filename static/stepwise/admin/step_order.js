/* Stepwise admin: reorder a track's steps by dragging a row, or by focusing its handle
   and pressing the up and down arrow keys. The position inputs are renumbered 1, 2, 3...
   in the new order; nothing is saved until the curator saves the track. */
(function () {
  "use strict";

  function rows(group) {
    return Array.prototype.slice.call(
      group.querySelectorAll("tbody tr.form-row:not(.empty-form)")
    );
  }

  function renumber(group) {
    rows(group).forEach(function (row, index) {
      var input = row.querySelector("input.sortable-position");
      if (input) {
        input.value = index + 1;
      }
    });
  }

  function titleOf(row) {
    var input = row.querySelector('input[name$="-title"]');
    return input && input.value ? input.value : "this step";
  }

  function announce(group, text) {
    var live = group.querySelector(".sortable-status");
    if (live) {
      live.textContent = text;
    }
  }

  function move(group, row, delta) {
    var all = rows(group);
    var index = all.indexOf(row);
    var target = all[index + delta];
    if (!target) {
      return;
    }
    if (delta < 0) {
      target.parentNode.insertBefore(row, target);
    } else {
      target.parentNode.insertBefore(row, target.nextSibling);
    }
    renumber(group);
    row.querySelector(".sortable-handle").focus();
    announce(group, "“" + titleOf(row) + "” is now step " + (all.indexOf(target) + 1) + ".");
  }

  function setup(group) {
    var live = document.createElement("p");
    live.className = "sortable-status";
    live.setAttribute("aria-live", "polite");
    group.insertBefore(live, group.firstChild);
    var dragged = null;

    rows(group).forEach(function (row) {
      var cell = row.querySelector("td.field-position");
      if (!cell) {
        return;
      }
      var handle = document.createElement("button");
      handle.type = "button";
      handle.className = "sortable-handle";
      handle.textContent = "\u2195";
      handle.title = "Drag, or press the up and down arrow keys, to move this step";
      handle.setAttribute("aria-label", "Move “" + titleOf(row) + "” (up and down arrow keys)");
      handle.addEventListener("keydown", function (event) {
        if (event.key === "ArrowUp" || event.key === "ArrowDown") {
          event.preventDefault();
          move(group, row, event.key === "ArrowUp" ? -1 : 1);
        }
      });
      cell.insertBefore(handle, cell.firstChild);

      row.draggable = true;
      row.addEventListener("dragstart", function (event) {
        dragged = row;
        row.classList.add("sortable-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", titleOf(row));
      });
      row.addEventListener("dragend", function () {
        row.classList.remove("sortable-dragging");
        dragged = null;
      });
      row.addEventListener("dragover", function (event) {
        if (dragged && dragged !== row) {
          event.preventDefault();
        }
      });
      row.addEventListener("drop", function (event) {
        if (!dragged || dragged === row) {
          return;
        }
        event.preventDefault();
        var all = rows(group);
        var after = all.indexOf(dragged) < all.indexOf(row);
        row.parentNode.insertBefore(dragged, after ? row.nextSibling : row);
        renumber(group);
        announce(group, "“" + titleOf(dragged) + "” moved.");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".sortable-steps").forEach(setup);
  });
})();
