// Siyu console: the little the browser must do itself. Every call goes to
// the public API with the session cookie and the page's CSRF token.
"use strict";
(function () {
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  // siyu.api calls the API and resolves with the parsed answer; a refusal
  // rejects with the API's error ({code, message, field}).
  function api(method, path, body) {
    var opt = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    return fetch(path, opt).then(function (r) {
      return r.text().then(function (t) {
        var v = t ? JSON.parse(t) : null;
        if (!r.ok) throw (v && v.error) || { message: r.status + " " + r.statusText };
        return v;
      });
    });
  }

  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  // Forms that confirm before they act: data-confirm="question".
  document.addEventListener("submit", function (e) {
    var q = e.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) e.preventDefault();
  });

  window.siyu = { api: api, debounce: debounce, csrf: csrf, ready: [] };
  document.addEventListener("DOMContentLoaded", function () {
    window.siyu.ready.forEach(function (f) { f(); });
    document.querySelectorAll("[data-init]").forEach(function (el) {
      var f = window.siyu[el.getAttribute("data-init")];
      if (f) f(el);
    });
  });
})();

// --- admin ---
// adminCopy: a button that copies the input named by data-copy (the new
// API key, shown once) and says so.
(function () {
  window.siyu = window.siyu || {};
  window.siyu.adminCopy = function (btn) {
    btn.addEventListener("click", function () {
      var input = document.getElementById(btn.getAttribute("data-copy"));
      if (!input) return;
      input.select();
      var done = function () { btn.textContent = "✓ " + btn.textContent.replace(/^✓ /, ""); };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
  };
})();
