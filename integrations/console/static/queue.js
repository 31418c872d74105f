// Refreshes the queue table from /queue.json. Rows are built with textContent: nothing is parsed as HTML.
"use strict";
(function () {
  var table = document.getElementById("queue");
  if (!table || !window.fetch) { return; }
  var body = document.getElementById("queue-body");
  var source = table.getAttribute("data-source");
  var seconds = Math.max(1, parseInt(table.getAttribute("data-interval"), 10) || 5);
  var status = document.getElementById("queue-status");
  var columns = ["ticket", "urgency_label", "mode_label", "channel_label", "waiting", "callback_at", "status_label", "claimed_by"];

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function render(items) {
    var rows = document.createDocumentFragment();
    items.forEach(function (item) {
      var tr = document.createElement("tr");
      tr.className = "urgency-" + item.urgency;
      tr.setAttribute("data-ticket", item.ticket);
      columns.forEach(function (key) {
        if (key === "ticket") {
          var td = cell(tr, "");
          var a = document.createElement("a");
          a.href = "/cases/" + encodeURIComponent(item.ticket);
          a.textContent = item.ticket;
          td.appendChild(a);
        } else if (key === "urgency_label") {
          var span = document.createElement("span");
          span.className = "badge urgency-" + item.urgency;
          span.textContent = item.urgency_label;
          cell(tr, "").appendChild(span);
        } else if (key === "waiting") {
          cell(tr, item.waiting_minutes + "分", "num");
        } else {
          cell(tr, item[key] == null ? "" : String(item[key]));
        }
      });
      rows.appendChild(tr);
    });
    if (!items.length) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = cell(tr, "待っている相談はありません。");
      td.colSpan = columns.length;
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  function counts(data) {
    document.getElementById("queue-count").textContent = String(data.total);
    document.getElementById("queue-counts").textContent = data.counts.map(function (c) {
      return c.label + " " + c.count + "件";
    }).join("・");
  }

  function refresh() {
    fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        if (!data) { return; }
        render(data.items);
        counts(data);
        document.getElementById("queue-updated").textContent = data.updated;
        status.textContent = "";
        status.classList.remove("stale");
      })
      .catch(function () {
        status.textContent = "（更新できませんでした。再試行します）";
        status.classList.add("stale");
      })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  window.setTimeout(refresh, seconds * 1000);
})();
