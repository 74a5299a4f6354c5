// LK3 console: parts of a page marked data-live refresh themselves (no framework, no CDN).
// The server sends escaped HTML fragments; a session that ended sends 401 and the page reloads
// (to the sign-in page).
(function () {
  "use strict";
  function refresh(el) {
    var url = el.getAttribute("data-live");
    var seen = el.getAttribute("data-seen");
    if (seen !== null) { url += (url.indexOf("?") < 0 ? "?" : "&") + "after=" + seen; }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) { return; }
        if (el.contains(document.activeElement) && document.activeElement !== document.body) {
          return;  // never swap a form someone is typing in
        }
        var atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        el.innerHTML = html;
        if (atEnd) { el.scrollTop = el.scrollHeight; }  // follow new messages unless reading back
        var inner = el.querySelector("[data-last]");
        if (inner && seen !== null) { el.setAttribute("data-seen", inner.getAttribute("data-last")); }
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var transcript = document.getElementById("transcript");
    if (transcript) { transcript.scrollTop = transcript.scrollHeight; }  // newest in view
    var parts = document.querySelectorAll("[data-live]");
    Array.prototype.forEach.call(parts, function (el) {
      var every = parseInt(el.getAttribute("data-every") || "10", 10) * 1000;
      window.setInterval(function () { refresh(el); }, every);
    });
  });
})();
