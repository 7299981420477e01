/* Names for the parts of the admin's autocomplete boxes (Django's Select2 4.0.13), which
 * name none of them for assistive technology: the box is named by its field's <label>
 * and then its current choice, and the search fields and the list of results by the
 * label. A field without a <label> (a cell of a tabular inline) lends its aria-label.
 * Select2 also puts its "remove all" cross straight into its list of choices, where
 * only list items belong: the cross is wrapped in an item of that list (shown as before,
 * admin.css); and an open box gets aria-controls beside Select2's aria-owns. Select2
 * builds and rebuilds these parts at any time (a page's boxes once it is ready, a row
 * added to an inline, a choice made, the list opened), so an observer names each part
 * as it appears. */
"use strict";
(function () {
  // The id of what names a <select>: its <label>, or a hidden copy of its aria-label.
  function nameOf(select) {
    const label = document.querySelector('label[for="' + CSS.escape(select.id) + '"]');
    if (label) {
      if (!label.id) label.id = select.id + "-label";
      return label.id;
    }
    const text = select.getAttribute("aria-label");
    if (!text) return null;
    const id = select.id + "-name";
    if (!document.getElementById(id)) {
      const name = document.createElement("span");
      name.id = id;
      name.hidden = true;
      name.textContent = text;
      select.before(name);
    }
    return id;
  }

  // A Select2 container: the box after its <select>, or the open list appended to <body>
  // (whose results are "select2-<the select's id>-results").
  function selectOf(container) {
    const results = container.querySelector(".select2-results__options[id]");
    if (results) {
      const match = /^select2-(.+)-results$/.exec(results.id);
      return match ? document.getElementById(match[1]) : null;
    }
    const select = container.previousElementSibling;
    return select && select.tagName === "SELECT" ? select : null;
  }

  function nameParts(container) {
    const select = selectOf(container);
    const name = select && select.id ? nameOf(select) : null;
    if (!name) return;
    const box = container.querySelector(".select2-selection");
    const shown = container.querySelector(".select2-selection--single .select2-selection__rendered[id]");
    if (box && shown) {
      box.setAttribute("aria-labelledby", name + " " + shown.id);
      shown.setAttribute("aria-labelledby", name);
    } else if (box) {
      box.setAttribute("aria-labelledby", name);
    }
    container.querySelectorAll(".select2-search__field, .select2-results__options").forEach(
      function (part) { part.setAttribute("aria-labelledby", name); }
    );
  }

  function wrapCrosses(root) {
    root.querySelectorAll("ul.select2-selection__rendered > .select2-selection__clear").forEach(
      function (cross) {
        const item = document.createElement("li");
        item.className = "select2-selection__clear-item";
        cross.replaceWith(item);
        item.append(cross);
      }
    );
  }

  function visit(node) {
    if (!(node instanceof Element)) return;
    if (node.matches(".select2-container")) nameParts(node);
    node.querySelectorAll(".select2-container").forEach(nameParts);
  }

  // An open box points at its list with aria-owns (Select2's ARIA 1.0 pattern); ARIA 1.2
  // asks a combobox for aria-controls, which the list gets as well while it is open.
  function controls(box) {
    const list = box.getAttribute("aria-owns");
    if (list) box.setAttribute("aria-controls", list);
    else box.removeAttribute("aria-controls");
  }

  new MutationObserver(function (records) {
    records.forEach(function (record) {
      if (record.type === "attributes") {
        controls(record.target);
        return;
      }
      record.addedNodes.forEach(visit);
      if (record.target instanceof Element) wrapCrosses(record.target);
    });
  }).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["aria-owns"],
  });
  visit(document.documentElement);
  wrapCrosses(document.documentElement);
})();
