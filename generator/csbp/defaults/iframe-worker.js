/* CSBP offline copy: lets Material's search run when the handbook is opened from file://.
   A page opened from the file system may not start a Web Worker, and Material's search
   runs in one. Material's offline plugin would load a stand-in from unpkg.com; this local
   one keeps the offline copy free of any third-party request. It is listed only in the
   offline build (as extra.polyfills, which also stops the plugin adding the remote one).

   The stand-in runs the worker script in a hidden same-origin iframe: messages to the
   worker are dispatched as "message" events on the iframe's window, and the script's
   postMessage() answers are dispatched as "message" events on the stand-in object, which is
   what Material listens to. Served over http(s) the real Worker is left alone. */
(function () {
  "use strict";

  if (window.location.protocol !== "file:" || typeof window.EventTarget !== "function") return;

  var REPLY = "csbp-worker-reply";

  function frameDocument(source) {
    var bridge =
      "window.postMessage = function (data) {" +
      "  window.frameElement.dispatchEvent(new CustomEvent('" + REPLY + "', { detail: data }));" +
      "};" +
      "window.importScripts = function () {" +
      "  throw new Error('importScripts is not available in the offline copy');" +
      "};";
    var quoted = source.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
    return "<!doctype html><script>" + bridge + "</script><script src=\"" + quoted + "\"></script>";
  }

  class FrameWorker extends EventTarget {
    constructor(url) {
      super();
      var self = this;
      this.pending = [];
      this.ready = false;
      this.frame = document.createElement("iframe");
      this.frame.hidden = true;
      this.frame.tabIndex = -1;
      this.frame.setAttribute("aria-hidden", "true");
      this.frame.title = "Search (offline)";
      this.frame.addEventListener(REPLY, function (event) {
        self.dispatchEvent(new MessageEvent("message", { data: event.detail }));
      });
      this.frame.addEventListener("load", function () {
        self.ready = true;
        self.pending.splice(0).forEach(function (data) {
          self.deliver(data);
        });
      });
      this.frame.srcdoc = frameDocument(new URL(String(url), document.baseURI).href);
      document.body.appendChild(this.frame);
    }

    deliver(data) {
      var view = this.frame.contentWindow;
      if (view) view.dispatchEvent(new view.MessageEvent("message", { data: data }));
    }

    postMessage(data) {
      if (this.ready) this.deliver(data);
      else this.pending.push(data);
    }

    terminate() {
      this.frame.remove();
    }
  }

  window.Worker = FrameWorker;
})();
