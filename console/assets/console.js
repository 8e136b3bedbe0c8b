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
  // ---- marketer: the segment builder's live count, bulk job progress ----
  (function (siyu) {
    function own(node, f) {
      return node.querySelector(':scope > .seg-head [data-f="' + f + '"]');
    }
    function kids(node) {
      return Array.prototype.slice.call(node.querySelectorAll(":scope > .seg-kids > li > [data-node]"));
    }
    function splitList(s) {
      return s.split(/[,，、]/).map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
    }
    var numberFields = { messages_in: 1, messages_out: 1, add_way: 1 };
    function num(s) { return /^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s; }
    function fieldValue(field, op, val) {
      if (op === "in" || op === "not_in") {
        return splitList(val).map(function (x) { return numberFields[field] ? num(x) : x; });
      }
      if (op === "exists") return val !== "false";
      return numberFields[field] ? num(val) : val;
    }
    // condition mirrors console/marketer.go's segNode.condition.
    function condition(node) {
      var what = own(node, "what").value, i = what.indexOf(":");
      var kind = i < 0 ? what : what.slice(0, i), arg = i < 0 ? "" : what.slice(i + 1);
      var val = own(node, "val").value.trim();
      switch (kind) {
        case "tag": return { tag: { has: arg } };
        case "group": return { tag_group: { has: arg } };
        case "lost": return { lost: true };
        case "staff": return { relation_staff: { any: splitList(val) } };
        case "field": return { field: arg, op: own(node, "cmp").value, value: fieldValue(arg, own(node, "cmp").value, val) };
      }
      return {};
    }
    function segDef(node) {
      var d;
      if (node.getAttribute("data-node") === "g") {
        d = {};
        d[own(node, "op").value] = kids(node).map(segDef);
      } else {
        d = condition(node);
      }
      return own(node, "not").checked ? { not: d } : d;
    }
    function complete(node) {
      if (node.getAttribute("data-node") !== "g") return own(node, "what").value !== "";
      var k = kids(node);
      return k.length > 0 && k.every(complete);
    }
    // renumber names each node's inputs by its path, as the server reads them.
    function renumber(node, path) {
      node.querySelectorAll(":scope > .seg-head [data-f], :scope > .seg-head [data-for]").forEach(function (el) {
        var f = el.getAttribute("data-f"), lf = el.getAttribute("data-for");
        if (lf) el.htmlFor = lf + "-" + path;
        else if (f === "node") el.value = node.getAttribute("data-node") + ":" + path;
        else { el.name = f + "." + path; el.id = f + "-" + path; }
      });
      node.querySelectorAll(":scope > .seg-head [data-act], :scope > .seg-foot [data-act]").forEach(function (el) {
        el.value = el.getAttribute("data-act") + ":" + path;
      });
      if (node.getAttribute("data-node") === "c") {
        var w = own(node, "what").value;
        node.setAttribute("data-kind", w.split(":")[0]);
      }
      kids(node).forEach(function (k, i) { renumber(k, path + "." + i); });
    }
    siyu.segBuilder = function (form) {
      var root = form.querySelector("[data-node]");
      var out = form.querySelector('[data-f="count"]'), status = form.querySelector('[data-f="status"]');
      var err = form.querySelector('[data-f="err"]'), defIn = form.querySelector('[data-f="definition"]');
      var seq = 0;
      function count() {
        var my = ++seq, def = defIn.value;
        siyu.api("POST", "/v1/segments/preview", { definition: JSON.parse(def), limit: 0 }).then(function (r) {
          if (my !== seq) return;
          out.textContent = String(r.count);
          status.textContent = "";
          err.hidden = true;
          form.setAttribute("data-counted", def);
        }, function (e) {
          if (my !== seq) return;
          out.textContent = "—";
          status.textContent = "";
          err.textContent = (e.field ? e.field + ": " : "") + e.message;
          err.hidden = false;
          form.setAttribute("data-counted", def);
        });
      }
      var later = siyu.debounce(count, 250);
      function changed() {
        renumber(root, "r");
        defIn.value = JSON.stringify(segDef(root));
        form.removeAttribute("data-counted");
        err.hidden = true;
        seq++;
        if (!complete(root)) {
          out.textContent = "—";
          status.textContent = form.getAttribute("data-l-incomplete");
          return;
        }
        status.textContent = form.getAttribute("data-l-counting");
        later();
      }
      form.addEventListener("change", changed);
      form.addEventListener("input", changed);
      form.addEventListener("click", function (e) {
        var b = e.target.closest("button[data-act]");
        if (!b) return;
        e.preventDefault();
        var node = b.closest("[data-node]"), act = b.getAttribute("data-act");
        if (act === "remove") node.parentNode.remove();
        else {
          var tpl = form.querySelector('template[data-tpl="' + (act === "group" ? "g" : "c") + '"]');
          node.querySelector(":scope > .seg-kids").appendChild(document.importNode(tpl.content, true));
        }
        changed();
      });
      changed();
    };

    siyu.jobProgress = function (el) {
      var id = el.getAttribute("data-job"), bar = el.querySelector("progress");
      function show(j) {
        bar.max = Math.max(j.total, 1);
        bar.value = j.state === "done" && !j.total ? 1 : j.processed;
        el.querySelector('[data-f="state"]').textContent = el.getAttribute("data-l-" + j.state) || j.state;
        el.querySelector('[data-f="counts"]').textContent =
          el.getAttribute("data-l-counts").replace("%d", j.processed).replace("%d", j.total);
        var e = el.querySelector('[data-f="error"]');
        e.textContent = j.error || "";
        e.hidden = !j.error;
        el.setAttribute("data-state", j.state);
      }
      function tick() {
        siyu.api("GET", "/v1/jobs/" + encodeURIComponent(id)).then(function (j) {
          show(j);
          if (j.state !== "done" && j.state !== "failed") setTimeout(tick, 500);
        }, function () { setTimeout(tick, 2000); });
      }
      el.querySelector('[data-f="refresh"]').hidden = true;
      tick();
    };
  })(window.siyu);

  document.addEventListener("DOMContentLoaded", function () {
    window.siyu.ready.forEach(function (f) { f(); });
    document.querySelectorAll("[data-init]").forEach(function (el) {
      var f = window.siyu[el.getAttribute("data-init")];
      if (f) f(el);
    });
  });
})();
