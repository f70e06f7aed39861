// A Web Worker stand-in for pages opened from the file system, so the site's search works
// offline. Browsers refuse `new Worker(url)` on file:// pages; Material's search runs in a
// worker, and its offline plugin would fetch a shim for this from a CDN. This one is ours and
// local: the worker's script runs in a hidden iframe, and messages pass through postMessage.
"use strict";
(function () {
  class FileWorker extends EventTarget {
    constructor(url) {
      super();
      this.url = String(url);
      this.onmessage = null;
      this.onerror = null;
      this.frame = document.createElement("iframe");
      this.frame.hidden = true;
      document.body.appendChild(this.frame);
      this.relay = (event) => {
        if (event.source !== this.frame.contentWindow) return;
        const message = new MessageEvent("message", { data: event.data });
        this.dispatchEvent(message);
        if (this.onmessage) this.onmessage(message);
      };
      window.addEventListener("message", this.relay);
      const page = this.frame.contentWindow.document;
      // Inside the frame, the worker's globals: postMessage answers the page, importScripts
      // loads scripts one after another, and an error is reported to the page.
      page.open();
      page.write(
        "<html><body><script>" +
          "postMessage = (data) => parent.postMessage(data, '*');" +
          "importScripts = (...urls) => urls.reduce((done, url) => done.then(() =>" +
          " new Promise((loaded) => { const s = document.createElement('script');" +
          " s.src = url; s.onload = loaded; document.body.appendChild(s); })), Promise.resolve());" +
          "<\/script><script src=\"" + this.url + "\"><\/script></body></html>"
      );
      page.close();
      this.ready = new Promise((resolve) => { this.frame.contentWindow.onload = resolve; });
      this.frame.contentWindow.addEventListener("error", (event) => {
        const failure = new ErrorEvent("error", { message: event.message, error: event.error });
        this.dispatchEvent(failure);
        if (this.onerror) this.onerror(failure);
      });
    }

    postMessage(data) {
      this.ready.then(() => {
        this.frame.contentWindow.dispatchEvent(
          new MessageEvent("message", { data: structuredClone(data) })
        );
      });
    }

    terminate() {
      window.removeEventListener("message", this.relay);
      this.frame.remove();
    }
  }

  if (location.protocol === "file:") window.Worker = FileWorker;
})();
