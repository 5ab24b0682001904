/* Integration Hub: page behaviour, served as a file (the Content-Security-Policy runs no inline script).
   The <script> tag that loads it says what its page needs in data- attributes:
   data-poll="run" | "bulk" with data-progress-url: live progress, the page reloads once finished;
   data-keys="conflict": j/k (or the arrows) for the next/previous conflict, "/" to the comment box. */
(function () {
  "use strict";
  var options = (document.currentScript && document.currentScript.dataset) || {};

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value; }
  }

  var show = {
    run: function (d) {
      text("run-status", d.status_label);
      text("run-processed", d.processed);
      text("run-counts", Object.entries(d.counts).filter(function (e) { return e[1]; })
        .map(function (e) { return e[0] + " " + e[1]; }).join(", "));
    },
    bulk: function (d) {
      text("bulk-status", d.status_label);
      var bar = document.getElementById("bulk-progress");
      if (bar) { bar.value = d.percent; }
      ["processed", "total", "decided", "stale", "refused", "failed"].forEach(function (key) {
        text("bulk-" + key, d[key]);
      });
    }
  };
  if (options.progressUrl && show[options.poll]) {
    (function poll() {
      fetch(options.progressUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
        show[options.poll](d);
        if (d.finished) { location.reload(); } else { setTimeout(poll, 1500); }
      });
    })();
  }

  // The conflict queue and the held fields: the header's box ticks every row on the page.
  var selectPage = document.getElementById("select-page");
  if (selectPage) {
    selectPage.addEventListener("change", function () {
      var checked = this.checked;
      document.querySelectorAll("#conflicts tbody input[name=select], #held-fields tbody input[name=select]").forEach(function (box) { box.checked = checked; });
    });
  }

  if (options.keys === "conflict") {
    document.addEventListener("keydown", function (event) {
      if (event.target.closest("input, textarea, select, button") || event.metaKey || event.ctrlKey || event.altKey) {
        return;
      }
      var target = {j: "next", ArrowRight: "next", k: "prev", ArrowLeft: "prev"}[event.key];
      var link = target && document.getElementById(target);
      if (link) { window.location.href = link.href; return; }
      if (event.key === "/") {
        var box = document.getElementById("id_comment") || document.getElementById("id_text");
        if (box) { event.preventDefault(); box.focus(); }
      }
    });
  }
})();
