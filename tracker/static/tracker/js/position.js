/* Places timeline bars and marks from their data-left and data-width attributes (in %).
 * The Content-Security-Policy refuses style="" attributes in the markup; styles set
 * from a script of our own are allowed. */
"use strict";
document.querySelectorAll("[data-left]").forEach(function (element) {
  element.style.left = element.dataset.left + "%";
  if (element.dataset.width !== undefined) {
    element.style.width = element.dataset.width + "%";
  }
});
