/* The evidence tray of an incident's admin page (templates/admin/tracker/tray.html).
   No inline script (CSP). Without this script every form of the tray still works: it
   posts and comes back to the page with the admin's messages.

   - Files dropped on the drop zone (or chosen) are sent one per request, each with its
     own progress bar and result line; the card of each stored or linked item appears.
   - "Link", "Relied on", "Not relied on" and "Unlink" are sent without leaving the
     page (unsaved changes in the incident's form below are kept); the card changes in
     place, and what the server said is read out in the tray's live region.
*/
(function () {
  "use strict";

  const tray = document.querySelector("[data-tray]");
  if (!tray) return;
  const cards = tray.querySelector("[data-tray-cards]");
  const said = tray.querySelector("[data-tray-said]");
  const count = tray.querySelector("[data-tray-count]");

  function counted(change) {
    if (count) count.textContent = String(Math.max(0, Number(count.textContent) + change));
  }

  function token(form) {
    const field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(messages) {
    said.replaceChildren();
    (messages || []).forEach(function (message) {
      const line = document.createElement("p");
      line.className = "tray-message tray-" + (message.level >= 40 ? "error" : message.level >= 30 ? "warning" : "success");
      line.textContent = message.text;
      said.append(line);
    });
  }

  function showCards(htmlCards) {
    (htmlCards || []).forEach(function (html) {
      const holder = document.createElement("template");
      holder.innerHTML = html.trim();
      const card = holder.content.firstElementChild;
      if (!card) return;
      const empty = cards.querySelector(".tray-empty");
      if (empty) empty.remove();
      const old = document.getElementById(card.id);
      if (old) old.replaceWith(card);
      else {
        cards.prepend(card);
        counted(1);
      }
    });
  }

  function refused(status) {
    return [{ level: 40, text: "Refused by the server (" + status + "). Reload the page to see where things stand." }];
  }

  function send(url, data, onProgress) {
    return new Promise(function (resolve) {
      const request = new XMLHttpRequest();
      request.open("POST", url);
      request.setRequestHeader("Accept", "application/json");
      if (onProgress) {
        request.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) onProgress(event.loaded / event.total);
        });
      }
      request.addEventListener("load", function () {
        let answer = null;
        if (request.status === 200) {
          try { answer = JSON.parse(request.responseText); } catch (e) { answer = null; }
        }
        resolve(answer || { messages: refused(request.status) });
      });
      request.addEventListener("error", function () {
        resolve({ messages: [{ level: 40, text: "The connection failed: nothing was sent." }] });
      });
      request.send(data);
    });
  }

  // --- Files ---------------------------------------------------------------------------
  const drop = tray.querySelector("[data-tray-upload]");
  if (drop) {
    const input = drop.querySelector("input[type=file]");
    const list = drop.querySelector(".tray-progress");

    async function upload(files) {
      const all = Array.from(files);
      const collected = [];
      for (const file of all) {
        const line = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = file.name + " ";
        const bar = document.createElement("progress");
        bar.max = 100;
        bar.value = 0;
        bar.setAttribute("aria-label", "Sending " + file.name);
        const result = document.createElement("span");
        result.className = "tray-result";
        line.append(name, bar, result);
        list.append(line);
        const data = new FormData();
        data.append("csrfmiddlewaretoken", token(drop));
        data.append("files", file, file.name);
        const answer = await send(drop.getAttribute("action"), data, function (part) { bar.value = Math.round(part * 100); });
        bar.value = 100;
        result.textContent = " " + (answer.messages || []).map(function (m) { return m.text; }).join(" ");
        showCards(answer.cards);
        collected.push.apply(collected, answer.messages || []);
      }
      say(collected);
      input.value = "";
    }

    drop.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.files.length) upload(input.files);
      else say([{ level: 40, text: "Choose at least one file." }]);
    });
    input.addEventListener("change", function () { if (input.files.length) upload(input.files); });
    ["dragenter", "dragover"].forEach(function (type) {
      drop.addEventListener(type, function (event) {
        event.preventDefault();
        drop.classList.add("tray-dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      drop.addEventListener(type, function () { drop.classList.remove("tray-dragging"); });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) upload(event.dataTransfer.files);
    });
  }

  // --- Link, relied on, unlink ----------------------------------------------------------
  tray.addEventListener("submit", async function (event) {
    const form = event.target;
    if (!form.matches("[data-tray-link], [data-tray-act]")) return;
    event.preventDefault();
    const data = new FormData(form, event.submitter);
    // getAttribute: form.action would be the buttons named "action".
    const answer = await send(form.getAttribute("action"), data);
    say(answer.messages);
    showCards(answer.cards);
    if (answer.removed) {
      const card = document.getElementById("tray-link-" + answer.removed);
      if (card) {
        card.remove();
        counted(-1);
      }
    }
    if (form.matches("[data-tray-link]") && answer.cards && answer.cards.length) form.reset();
  });
})();
