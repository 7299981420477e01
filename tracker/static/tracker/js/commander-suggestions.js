/* The "Add as commander" buttons of the attribution inline (tracker/attribution_admin.py).
 * Each button posts a small form of its own, so the incident's fields are never sent
 * with it and Enter in the incident form never presses one. A static file, not an
 * inline script: the Content-Security-Policy allows scripts from 'self' only. */
"use strict";
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-add-commander]");
  if (!button) { return; }
  event.preventDefault();
  var form = document.createElement("form");
  form.method = "post";
  form.action = button.dataset.addCommander;
  var fields = {
    csrfmiddlewaretoken: document.querySelector("input[name=csrfmiddlewaretoken]").value,
    unit: button.dataset.unit,
    official: button.dataset.official
  };
  Object.keys(fields).forEach(function (name) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = fields[name];
    form.appendChild(input);
  });
  document.body.appendChild(form);
  form.submit();
});
