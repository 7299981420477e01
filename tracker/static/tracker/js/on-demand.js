/* Sections of an admin page made when they are opened, not with every page: an element
   [data-on-demand="URL"] inside a collapsed fieldset (<details>) is replaced by the HTML
   at URL the first time its section opens (the incident's ranked flights). No inline
   script (CSP). Without this script, the element's link opens the same as a page. */
(function () {
  "use strict";

  document.querySelectorAll("[data-on-demand]").forEach(function (place) {
    const section = place.closest("details");
    let asked = false;

    function load() {
      if (asked) return;
      asked = true;
      place.setAttribute("aria-busy", "true");
      fetch(place.dataset.onDemand, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          // A lapsed session is sent to the login page: not a section to show.
          if (!response.ok || response.redirected) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          place.innerHTML = html; // the tracker's own escaped template output
        })
        .catch(function () {
          asked = false; // the link stays; opening the section again tries again
        })
        .finally(function () {
          place.removeAttribute("aria-busy");
        });
    }

    if (!section || section.open) {
      load();
    } else {
      section.addEventListener("toggle", function () {
        if (section.open) load();
      });
    }
  });
})();
