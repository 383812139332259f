// Firebreak console: keeps the parts of a page marked data-live up to date
// over server-sent events. The page works without it; with it, a part is
// replaced when the server says its HTML changed, except while someone is
// typing in it (the update waits until they leave the field).
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("[data-live]")) return;
  var status = document.getElementById("live-status");
  var pending = {};
  function say(text) { if (status) status.textContent = text; }
  function busy(el) {
    var a = document.activeElement;
    return a && a !== document.body && el.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
  }
  function apply(id, html) {
    var el = document.getElementById(id);
    if (!el) return;
    if (busy(el)) { pending[id] = html; return; }
    delete pending[id];
    el.innerHTML = html;
  }
  document.addEventListener("focusout", function () {
    setTimeout(function () {
      Object.keys(pending).forEach(function (id) { apply(id, pending[id]); });
    }, 0);
  });
  var es = new EventSource(location.pathname + location.search);
  es.addEventListener("update", function (e) {
    var parts = JSON.parse(e.data);
    Object.keys(parts).forEach(function (id) { apply(id, parts[id]); });
    say("Live · updated " + new Date().toLocaleTimeString());
    document.documentElement.setAttribute("data-live-updates", String(1 + Number(document.documentElement.getAttribute("data-live-updates") || 0)));
  });
  es.addEventListener("problem", function (e) {
    say("Live updates paused: " + JSON.parse(e.data).message);
  });
  es.onopen = function () { say("Live · connected"); };
  es.onerror = function () { say("Live updates reconnecting…"); };
})();
