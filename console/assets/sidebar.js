// Siyu's WeCom chat sidebar: which customer is this chat with? Loaded only
// by /sidebar inside WeCom without ?contact=, after the WeCom JS-SDK
// (global `ww`). It registers the app with signatures from
// GET /v1/wecom/jssdk (the corp's and the app's, for this page's URL) and
// asks for the chat's external contact, then opens the card for it.
"use strict";
(function () {
  function failed(err) {
    var status = document.getElementById("sidebar-status");
    var box = document.getElementById("sidebar-failed");
    if (status) status.hidden = true;
    if (box) {
      box.hidden = false;
      if (err && (err.errMsg || err.message)) box.appendChild(document.createTextNode(" (" + (err.errMsg || err.message) + ")"));
    }
  }

  function start() {
    var ww = window.ww;
    if (!ww || !window.siyu) return failed({ message: "no WeCom JS-SDK" });
    var here = location.href.split("#")[0];
    var asked = {};
    // One signing call per URL: WeCom asks for the corp's and the app's.
    function sign(url) {
      if (!asked[url]) asked[url] = window.siyu.api("GET", "/v1/wecom/jssdk?url=" + encodeURIComponent(url));
      return asked[url];
    }
    sign(here).then(function (s) {
      ww.register({
        corpId: s.corp_id,
        agentId: s.agent_id,
        jsApiList: ["getCurExternalContact"],
        getConfigSignature: function (url) {
          return sign(url).then(function (v) { return { timestamp: v.timestamp, nonceStr: v.nonce_str, signature: v.signature }; });
        },
        getAgentConfigSignature: function (url) {
          return sign(url).then(function (v) { return { timestamp: v.timestamp, nonceStr: v.nonce_str, signature: v.agent_signature }; });
        }
      });
      return ww.getCurExternalContact();
    }).then(function (res) {
      if (!res || !res.userId) throw res || { message: "no external contact" };
      location.replace("/sidebar?contact=" + encodeURIComponent(res.userId));
    }).catch(failed);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
