// Live transcript of the case page: new resident and bot messages appear without a reload.
// Built with textContent only; nothing from the conversation is ever parsed as HTML.
"use strict";
(function () {
  var box = document.getElementById("live-transcript");
  if (!box || !window.fetch) { return; }
  var source = box.getAttribute("data-source");
  if (!source) { return; }
  var seconds = Math.max(1, parseInt(box.getAttribute("data-interval"), 10) || 5);
  var section = document.getElementById("transcript");
  var problem = document.getElementById("transcript-live-error");
  var shown = null;

  function item(line) {
    var li = document.createElement("li");
    li.className = "from-" + line.who;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = line.who_label;
    li.appendChild(who);
    if (line.at) {
      var time = document.createElement("time");
      time.textContent = line.at;
      li.appendChild(document.createTextNode(" "));
      li.appendChild(time);
    }
    if (line.note) {
      var note = document.createElement("span");
      note.className = "note";
      note.textContent = "〔" + line.note + "〕";
      li.appendChild(document.createTextNode(" "));
      li.appendChild(note);
    }
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = line.text;
    li.appendChild(text);
    if (line.buttons && line.buttons.length) {
      var buttons = document.createElement("div");
      buttons.className = "buttons";
      buttons.textContent = "選択肢：" + line.buttons.join(" ／ ");
      li.appendChild(buttons);
    }
    return li;
  }

  function render(lines) {
    var key = JSON.stringify(lines);
    if (key === shown) { return; }
    shown = key;
    var list = document.getElementById("chat");
    if (!list) {
      list = document.createElement("ol");
      list.className = "chat";
      list.id = "chat";
      section.appendChild(list);
    }
    var empty = document.getElementById("chat-empty");
    if (empty && lines.length) { empty.remove(); }
    var rows = document.createDocumentFragment();
    lines.forEach(function (line) { rows.appendChild(item(line)); });
    list.replaceChildren(rows);
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
        if (data.error) {
          problem.textContent = data.error;
          problem.hidden = false;
        } else {
          problem.hidden = true;
          var first = document.getElementById("transcript-error");
          if (first) { first.hidden = true; }
          render(data.lines);
        }
        if (data.active) { window.setTimeout(refresh, seconds * 1000); }
      })
      .catch(function () {
        problem.textContent = "会話の記録を更新できませんでした。再試行します。";
        problem.hidden = false;
        window.setTimeout(refresh, seconds * 1000);
      });
  }
  window.setTimeout(refresh, seconds * 1000);
})();
