/* The incident page (templates/tracker/incident_detail.html): no inline script (CSP).

   - Graphic images are blurred until their "show" button is pressed: the button covers
     the image, so the first click (or Enter/Space on the focused button) unblurs it and
     moves focus to the image's link; the next click opens the preview.
   - Links marked data-preview open the preview in a <dialog> (Escape or Close shuts it),
     with a link to the item's page when the card has one (data-page); without this
     script they open the image itself. A recording's (data-playable) plays its copy
     made for watching, never the original, in a <video> with the preview as its poster
     (an <audio> under an audio file's waveform), with a video's keyframes under it
     (data-keyframes names the card's <template> of them; js/player.js plays from a
     keyframe's time). Closing the dialog stops and removes the player.
   - Each before/after satellite pair (data-sat-pair) gains a "Compare with a slider" view:
     the after image over the before one, revealed up to the slider (a range input, so
     arrow keys work).
*/
(function () {
  "use strict";

  function unblur(button) {
    const frame = button.closest("[data-graphic]");
    if (!frame) return;
    frame.classList.remove("inc-graphic");
    frame.removeAttribute("data-graphic");
    const link = frame.querySelector("a");
    button.remove();
    if (link) {
      link.removeAttribute("tabindex");
      link.focus();
    }
  }

  function setUpLightbox() {
    const dialog = document.querySelector("dialog.inc-lightbox");
    if (!dialog || typeof dialog.showModal !== "function") return;
    const image = dialog.querySelector("img");
    const caption = dialog.querySelector("#lightbox-caption");
    const page = dialog.querySelector(".inc-lightbox-page");
    const recording = dialog.querySelector(".inc-lightbox-recording");
    document.addEventListener("click", function (event) {
      const link = event.target.closest("a[data-preview]");
      if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
      if (link.closest("[data-graphic]")) return; // still blurred: the button handles it
      event.preventDefault();
      const tag = link.dataset.playable ? link.dataset.playableTag : "";
      image.src = link.getAttribute("href");
      image.alt = link.dataset.caption || "";
      image.hidden = tag === "video"; // the video shows the preview as its poster
      caption.textContent = link.dataset.caption || "";
      if (recording) play(recording, link, tag);
      // The item's own page (metadata, custody), for those who may open it.
      if (page) {
        page.hidden = !link.dataset.page;
        page.querySelector("a").href = link.dataset.page || "";
      }
      dialog.showModal();
    });
    dialog.addEventListener("close", function () {
      image.removeAttribute("src");
      image.hidden = false;
      if (recording) stop(recording);
    });
    // A click on the backdrop (outside the dialog's box) closes it too.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });
  }

  function play(recording, link, tag) {
    stop(recording);
    if (tag === "video" || tag === "audio") {
      const media = document.createElement(tag);
      media.className = "evidence-player";
      media.controls = true;
      media.preload = "metadata";
      if (tag === "video") media.poster = link.getAttribute("href");
      media.src = link.dataset.playable;
      media.textContent = "Your browser cannot play this copy.";
      recording.append(media);
    }
    const frames = link.dataset.keyframes && document.getElementById(link.dataset.keyframes);
    if (frames) recording.append(frames.content.cloneNode(true));
    recording.hidden = !recording.firstChild;
  }

  function stop(recording) {
    recording.querySelectorAll("video, audio").forEach(function (media) {
      media.pause();
      media.removeAttribute("src");
      media.load(); // lets go of the connection
    });
    recording.replaceChildren();
    recording.hidden = true;
  }

  function setUpComparison(pair, index) {
    const before = pair.querySelector('img[data-phase="before"]');
    const after = pair.querySelector('img[data-phase="after"]');
    if (!before || !after) return; // one side cannot be shown to this viewer
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "inc-compare-toggle";
    toggle.textContent = "Compare with a slider";
    toggle.setAttribute("aria-expanded", "false");

    const view = document.createElement("div");
    view.className = "inc-compare";
    view.id = "inc-compare-" + index;
    view.hidden = true;
    toggle.setAttribute("aria-controls", view.id);
    const stage = document.createElement("div");
    stage.className = "inc-compare-stage";
    const under = before.cloneNode();
    const over = after.cloneNode();
    under.removeAttribute("data-phase");
    over.removeAttribute("data-phase");
    over.className = "inc-compare-after";
    stage.append(under, over);
    const label = document.createElement("label");
    label.textContent = "Before ◀ ▶ After";
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = "100";
    slider.value = "50";
    slider.setAttribute("aria-label", "Share of the after image shown, from the right");
    label.append(slider);
    view.append(stage, label);

    function reveal() {
      // Setting a style property from script is allowed by the page's CSP.
      over.style.clipPath = "inset(0 0 0 " + slider.value + "%)";
    }
    slider.addEventListener("input", reveal);
    reveal();
    toggle.addEventListener("click", function () {
      view.hidden = !view.hidden;
      toggle.setAttribute("aria-expanded", String(!view.hidden));
      toggle.textContent = view.hidden ? "Compare with a slider" : "Hide the slider";
    });
    pair.after(toggle, view);
  }

  function start() {
    document.querySelectorAll("[data-graphic] .inc-unblur").forEach(function (button) {
      button.addEventListener("click", function () {
        unblur(button);
      });
    });
    setUpLightbox();
    document.querySelectorAll("[data-sat-pair]").forEach(setUpComparison);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
