/* Recordings (evidence/players.py), on the item's admin page and in the incident page's
   lightbox: no inline script (CSP).

   - In a [data-player] block, a plain click on a keyframe (a[data-seek]) plays the
     block's copy from the frame's time instead of opening the frame; a click that asks
     for a new tab or window still opens the frame.
   - While the copy plays or is moved, the keyframe of the scene on screen (the last one
     at or before the current time) is marked (aria-current).

   Listened for on the document, so blocks added later (the lightbox's) work as well.
*/
(function () {
  "use strict";

  function mediaOf(scope) {
    return scope ? scope.querySelector("video.evidence-player, audio.evidence-player") : null;
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest ? event.target.closest("a[data-seek]") : null;
    if (!link || event.button !== 0) return;
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const media = mediaOf(link.closest("[data-player]"));
    const at = parseFloat(link.dataset.seek);
    if (!media || isNaN(at)) return;
    event.preventDefault();
    media.currentTime = at;
    const playing = media.play();
    if (playing && playing.catch) playing.catch(function () {}); // refused: paused there
    media.scrollIntoView({ block: "nearest" });
  });

  function markScene(event) {
    const media = event.target;
    if (!media.matches || !media.matches(".evidence-player")) return;
    const scope = media.closest("[data-player]");
    if (!scope) return;
    let current = null;
    scope.querySelectorAll("a[data-seek]").forEach(function (link) {
      const at = parseFloat(link.dataset.seek);
      if (!isNaN(at) && at <= media.currentTime + 0.05) current = link;
    });
    scope.querySelectorAll("a[data-seek][aria-current]").forEach(function (link) {
      if (link !== current) link.removeAttribute("aria-current");
    });
    if (current) current.setAttribute("aria-current", "true");
  }

  // Media events do not bubble: heard on their way down instead.
  document.addEventListener("timeupdate", markScene, true);
  document.addEventListener("seeked", markScene, true);
})();
