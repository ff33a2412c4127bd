// hoso dashboard: the print buttons and the live feed. No inline handlers:
// the Content-Security-Policy allows only this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  var rows = document.getElementById("feed-rows");
  if (!rows || !window.EventSource) { return; }
  var state = document.getElementById("feed-state");
  var en = rows.dataset.lang === "en";
  var es = new EventSource(rows.dataset.stream);
  es.onopen = function () { state.textContent = state.dataset.live; state.className = "live on"; };
  es.onerror = function () { state.textContent = state.dataset.offline; state.className = "live off"; };
  es.addEventListener("problem", function (ev) {
    var it = JSON.parse(ev.data);
    if (rows.querySelector('tr[data-seq="' + it.seq + '"].' + it.kind)) { return; }
    var tr = document.createElement("tr");
    tr.className = it.kind + " fresh";
    tr.dataset.seq = String(it.seq);
    var cell = function (text) { var td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; };
    cell(it.time_text);
    cell(it.kind === "mismatch" ? rows.dataset.mismatch : rows.dataset.rejected);
    var code = cell("");
    if (it.dossier) {
      var a = document.createElement("a");
      a.href = "/dossiers/" + encodeURIComponent(it.dossier);
      a.textContent = it.dossier;
      code.appendChild(a);
    } else { code.textContent = "—"; }
    cell(it.agency || "");
    cell(it.action || "");
    var reason = cell("");
    var c = document.createElement("code"); c.textContent = it.reason; reason.appendChild(c);
    cell(en ? it.message_en : it.message_vi);
    rows.insertBefore(tr, rows.firstChild);
    while (rows.children.length > 500) { rows.removeChild(rows.lastChild); }
  });
});
