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
  // Sections still loading (data-pending, partials/pending.html): the page
  // is fetched again every 3 s and each section swapped in once ready.
  (function () {
    var tries = 0;
    function again() {
      if (!document.querySelector("[data-pending]") || ++tries > 60) return;
      fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (t) {
        var doc = new DOMParser().parseFromString(t, "text/html");
        document.querySelectorAll("[data-pending][id]").forEach(function (el) {
          var now = doc.getElementById(el.id);
          if (now && !now.hasAttribute("data-pending")) el.replaceWith(document.importNode(now, true));
        });
      }).catch(function () {}).then(function () { setTimeout(again, 3000); });
    }
    setTimeout(again, 3000);
  })();
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

// --- marketer: tag library order ---
// tagOrder: drag a tag (within its group) or a group by its handle ⠿, or
// press its ↑ ↓ buttons (keyboard too); the whole library's order is then
// saved at once (PUT /v1/tags/order), saves one after another. Without the
// script the buttons post the page's move form, a step at a time.
(function () {
  window.siyu = window.siyu || {};
  window.siyu.tagOrder = function (root) {
    var page = root.parentNode, siyu = window.siyu;
    var status = page.querySelector('[data-f="order-status"]'), error = page.querySelector('[data-f="order-error"]');
    var dragged = null, before = "", saving = Promise.resolve();
    function all(sel, within) { return Array.prototype.slice.call((within || root).querySelectorAll(sel)); }
    function groups() { return all(":scope > .mk-group"); }
    function tags(g) { return all(":scope > ol > .mk-tag", g); }
    function moves(el) { return el.querySelector(el.classList.contains("mk-group") ? ".mk-group-head .mk-move" : ":scope > .mk-move"); }
    function ids() { return all(".mk-tag").map(function (li) { return li.getAttribute("data-id"); }).join(","); }
    // refresh disables the first's ↑ and the last's ↓, as the server does.
    function refresh() {
      [groups()].concat(groups().map(tags)).forEach(function (list) {
        list.forEach(function (el, i) {
          moves(el).querySelector('[data-move="up"]').disabled = i === 0;
          moves(el).querySelector('[data-move="down"]').disabled = i === list.length - 1;
        });
      });
    }
    function save() {
      var list = ids();
      status.textContent = root.getAttribute("data-l-moved");
      error.hidden = true;
      root.setAttribute("data-saving", "");
      saving = saving.then(function () {
        return siyu.api("PUT", "/v1/tags/order", { tags: list.split(",") });
      }).then(function (lib) {
        var order = {};
        lib.tags.forEach(function (t) { order[t.id] = t.order; });
        all(".mk-tag").forEach(function (li) {
          var o = li.querySelector('[data-f="order"]'), n = order[li.getAttribute("data-id")];
          if (o && n !== undefined) o.textContent = o.textContent.replace(/\d+$/, n);
        });
        status.textContent = root.getAttribute("data-l-saved");
        root.removeAttribute("data-saving");
        root.setAttribute("data-saved", list);
      }, function (e) {
        error.textContent = (e.field ? e.field + ": " : "") + e.message;
        error.hidden = false;
        root.removeAttribute("data-saving");
      });
    }
    root.addEventListener("click", function (e) {
      var b = e.target.closest("button[data-move]");
      if (!b) return;
      e.preventDefault();
      var el = b.closest(".mk-tag") || b.closest(".mk-group"), up = b.getAttribute("data-move") === "up";
      var sib = up ? el.previousElementSibling : el.nextElementSibling;
      if (!sib) return;
      el.parentNode.insertBefore(up ? el : sib, up ? sib : el);
      refresh();
      (b.disabled ? moves(el).querySelector("button:not([disabled])") || b : b).focus();
      save();
    });
    // Dragging: the handle starts it; a tag moves among its group's tags,
    // a group among the groups, past the middle of the one it is over.
    groups().forEach(function (g) {
      [g.querySelector(".mk-group-head")].concat(tags(g)).forEach(function (el) {
        var h = document.createElement("span");
        h.className = "mk-handle";
        h.textContent = "⠿";
        h.title = root.getAttribute("data-l-drag");
        h.draggable = true;
        h.setAttribute("aria-hidden", "true");
        el.insertBefore(h, el.firstChild);
      });
    });
    root.addEventListener("dragstart", function (e) {
      var h = e.target.closest && e.target.closest(".mk-handle");
      if (!h) return;
      dragged = h.closest(".mk-tag") || h.closest(".mk-group");
      before = ids();
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.getAttribute("data-id") || dragged.getAttribute("data-group"));
      if (e.dataTransfer.setDragImage) e.dataTransfer.setDragImage(dragged, 12, 12);
      dragged.classList.add("mk-dragging");
    });
    root.addEventListener("dragover", function (e) {
      if (!dragged) return;
      var t = e.target.nodeType === 1 ? e.target : e.target.parentElement;
      var over = t.closest(dragged.classList.contains("mk-tag") ? ".mk-tag" : ".mk-group");
      if (!over || over.parentNode !== dragged.parentNode) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      if (over === dragged) return;
      var r = over.getBoundingClientRect(), tag = dragged.classList.contains("mk-tag");
      var past = tag ? e.clientY > r.top + r.height / 2
        : (e.clientY - r.top) / r.height + (e.clientX - r.left) / r.width > 1;
      var isBefore = dragged.compareDocumentPosition(over) & Node.DOCUMENT_POSITION_FOLLOWING;
      if (isBefore && past) over.parentNode.insertBefore(dragged, over.nextElementSibling);
      else if (!isBefore && !past) over.parentNode.insertBefore(dragged, over);
    });
    root.addEventListener("drop", function (e) { if (dragged) e.preventDefault(); });
    root.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("mk-dragging");
      dragged = null;
      refresh();
      if (ids() !== before) save();
    });
  };
})();
