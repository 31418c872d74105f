/* くらし・しごと相談チャット: the residents' page. Plain JS, no build step.
 *
 * Talks to Rasa's web chat channel through the page's own server (socket.io at ./socket.io/).
 * The conversation id is bound to an HttpOnly cookie by the server; the page only learns it and
 * gets short-lived socket tokens (POST ./api/session). History comes from ./api/history.
 * Everything from the bot or the resident is inserted with textContent, never as HTML.
 */
(() => {
  "use strict";

  const KEY = "kurashi-chat";
  const TYPING_TIMEOUT_MS = 30000;
  const MAX_CHARS = 1000;
  const WEEKDAYS = "日月火水木金土";
  const TEXT = {
    typing: "入力中…",
    offline: "インターネットにつながっていません。送ったメッセージは、つながったら自動で送信します。",
    reconnecting: "接続が切れました。再接続しています…",
    cannotConnect: "チャットにつながりません。しばらくすると自動でつなぎ直します。",
    empty: "メッセージを入力してください。",
    tooLong: `メッセージは${MAX_CHARS}文字までです。いくつかに分けて送ってください。`,
    pending: "未送信：つながったら送信します",
    bot: "相談チャット",
    you: "あなた",
    staff: "支援員",
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    log: $("log"), typing: $("typing"), typingText: $("typing-text"), notice: $("notice"),
    choices: $("choices"), form: $("composer"), input: $("message"), send: $("send"),
    person: $("person"), restart: $("restart"),
    confirm: $("restart-confirm"), restartYes: $("restart-yes"), restartNo: $("restart-no"),
  };
  const state = {
    sessionId: null,
    socket: null,
    confirmed: false,   // session_confirm received on the current connection
    everConfirmed: false,
    botCount: 0,        // bot messages shown, numbered like the server's history ("n")
    rendered: 0,        // messages in the log
    queue: [],          // [{message, shown}] waiting for a connection
    typingTimer: null,
    lastSentBy: null,   // "text" | "button"
  };

  /* ---------- small DOM helpers (textContent only) ---------- */

  function el(tag, opts = {}, ...children) {
    const node = document.createElement(tag);
    if (opts.cls) node.className = opts.cls;
    if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
    for (const [name, value] of Object.entries(opts.attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function str(value) { return typeof value === "string" ? value : ""; }

  /** Bring `node` into view above the composer when the composer sticks to the bottom. */
  function scrollToEnd(node) {
    const area = ui.form.parentElement;
    const sticky = getComputedStyle(area).position === "sticky";
    node.style.scrollMarginBottom = sticky ? `${area.offsetHeight + 8}px` : "0px";
    node.scrollIntoView({ block: "end", behavior: "auto" });
  }

  function appendToLog(node) {
    ui.log.append(node);
    state.rendered += 1;
    document.body.dataset.rendered = String(state.rendered);
    scrollToEnd(node);
    return node;
  }

  /* ---------- storage: the session id and the offline queue ---------- */

  function load(name, fallback) {
    try { const v = localStorage.getItem(`${KEY}:${name}`); return v === null ? fallback : JSON.parse(v); }
    catch (_) { return fallback; }
  }

  function save(name, value) {
    try { localStorage.setItem(`${KEY}:${name}`, JSON.stringify(value)); } catch (_) { /* private mode */ }
  }

  /* ---------- notices and the typing indicator ---------- */

  function notice(text) { ui.notice.textContent = text || ""; }

  function showTyping() {
    ui.typing.classList.add("on");
    ui.typingText.textContent = TEXT.typing;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    ui.typing.classList.remove("on");
    ui.typingText.textContent = "";
  }

  /* ---------- messages ---------- */

  function userBubble(text, pending) {
    const node = el("div", { cls: "msg msg-user" + (pending ? " pending" : "") },
      el("span", { cls: "visually-hidden", text: `${TEXT.you}：` }),
      el("p", { cls: "bubble", text }));
    if (pending) node.append(el("p", { cls: "status", text: TEXT.pending }));
    return appendToLog(node);
  }

  function markSent(node) {
    if (!node) return;
    node.classList.remove("pending");
    const status = node.querySelector(".status");
    if (status) status.remove();
  }

  function botBubble(text) {
    return appendToLog(el("div", { cls: "msg msg-bot" },
      el("span", { cls: "visually-hidden", text: `${TEXT.bot}：` }),
      el("p", { cls: "bubble", text })));
  }

  function staffBubble(text, name) {
    return appendToLog(el("div", { cls: "msg msg-staff" },
      el("p", { cls: "who", text: `${name || TEXT.staff}（職員）` }),
      el("p", { cls: "bubble", text })));
  }

  function isStaff(custom) {
    return !!custom && (custom.type === "staff" || custom.type === "staff_message");
  }

  /** One bot message: text, quick replies, protocol payload. `live` is false for history. */
  function renderBot(msg, live) {
    if (!msg || typeof msg !== "object") return;
    if (!msg.local) state.botCount += 1;
    document.body.dataset.botCount = String(state.botCount);
    hideTyping();
    const custom = msg.custom && typeof msg.custom === "object" ? msg.custom : null;
    const text = str(msg.text) || (isStaff(custom) ? str(custom.text) : "");
    if (text) {
      if (isStaff(custom)) staffBubble(text, str(custom.name));
      else botBubble(text);
    }
    const buttons = Array.isArray(msg.buttons) ? msg.buttons : Array.isArray(msg.quick_replies) ? msg.quick_replies : [];
    if (live && buttons.length) showChoices(buttons);
    if (custom && !isStaff(custom)) renderPayload(custom, live);
    if (msg.attachment && msg.attachment.type === "image" && msg.attachment.payload) renderImage(msg.attachment.payload.src);
    else if (msg.image) renderImage(msg.image);
  }

  function renderImage(src) {
    if (typeof src !== "string" || !/^https:\/\//.test(src)) return;
    appendToLog(el("div", { cls: "msg msg-bot" }, el("img", { cls: "msg-image", attrs: { src, alt: "画像", loading: "lazy" } })));
  }

  function renderPayload(p, live) {
    switch (p.type) {
      case "ask": return renderAsk(p, live);
      case "referral": return renderReferral(p);
      case "handoff": return renderHandoff(p);
      case "booking": return renderBooking(p);
      default: return undefined; // unknown payloads are for other tools
    }
  }

  function renderAsk(p, live) {
    ui.input.dataset.field = str(p.field);
    ui.input.setAttribute("inputmode", p.input === "number" ? "numeric" : "text");
    const choices = Array.isArray(p.choices) ? p.choices : [];
    if (live && choices.length && ui.choices.hidden) showChoices(choices);
  }

  function renderReferral(p) {
    const items = Array.isArray(p.referrals) ? p.referrals : [];
    if (!items.length) return;
    const list = el("ol");
    for (const r of items) {
      if (!r || typeof r !== "object") continue;
      list.append(el("li", { cls: "card referral-card", attrs: { "data-destination": str(r.destination) } },
        el("h3", { text: str(r.name) }),
        el("p", { text: str(r.reason) })));
    }
    const box = el("section", { cls: "msg msg-bot referrals", attrs: { "aria-label": "ご案内する窓口" } },
      el("p", { cls: "card-title", text: "ご案内する窓口" }), list);
    if (p.interpreter) box.append(el("p", { cls: "note", text: "通訳をご用意できます。窓口でお伝えください。" }));
    appendToLog(box);
  }

  function telHref(phone) {
    const digits = str(phone).replace(/[^0-9+]/g, "");
    return digits ? `tel:${digits}` : null;
  }

  function renderHandoff(p) {
    const emergency = p.urgency === "emergency";
    const title = emergency ? "今すぐつながる電話窓口"
      : p.mode === "live" ? "担当の職員におつなぎします" : "担当の職員からご連絡します";
    const box = el("section", { cls: "card handoff" + (emergency ? " emergency" : ""), attrs: { "aria-label": title } },
      el("p", { cls: "card-title", text: title }));
    const contacts = (Array.isArray(p.contacts) ? p.contacts : []).filter((c) => c && typeof c === "object");
    if (emergency) {
      const listed = new Set(contacts.map((c) => telHref(c.phone)));
      const hotlines = el("p", { cls: "hotlines" });
      for (const [num, label] of [["119", "救急・消防"], ["110", "警察"]]) {
        if (!listed.has(`tel:${num}`)) {
          hotlines.append(el("a", { cls: "hotline", text: `${num}（${label}）に電話`, attrs: { href: `tel:${num}` } }));
        }
      }
      if (hotlines.childElementCount) box.append(hotlines);
    }
    if (contacts.length) {
      const list = el("ul");
      for (const c of contacts) {
        const href = telHref(c.phone);
        const phone = href ? el("a", { cls: emergency && /^tel:11[09]$/.test(href) ? "hotline" : "tel", text: str(c.phone), attrs: { href } })
          : el("span", { text: str(c.phone) });
        list.append(el("li", {}, el("span", { text: `${str(c.name)}：` }), phone,
          c.hours ? el("span", { cls: "hours", text: str(c.hours) }) : null));
      }
      box.append(list);
    }
    if (p.ticket) box.append(el("p", {}, el("span", { text: "受付番号：" }), el("span", { cls: "ticket", text: str(p.ticket) })));
    appendToLog(el("div", { cls: "msg msg-bot" }, box));
  }

  /** "2026-12-03T10:00:00+09:00" → parts read from the string itself (it is local time). */
  function localParts(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(str(iso));
    if (!m) return null;
    const [y, mo, d, h, mi] = m.slice(1).map(Number);
    const weekday = WEEKDAYS[new Date(Date.UTC(y, mo - 1, d)).getUTCDay()];
    return { date: `${y}年${mo}月${d}日（${weekday}）`, time: `${h}:${String(mi).padStart(2, "0")}` };
  }

  function renderBooking(p) {
    const status = { booked: "予約しました", moved: "予約を変更しました", cancelled: "予約を取り消しました" }[p.status] || "予約";
    const start = localParts(p.start);
    const end = localParts(p.end);
    let when = str(p.start);
    if (start) when = `${start.date} ${start.time}` + (end ? (end.date === start.date ? `〜${end.time}` : `〜${end.date} ${end.time}`) : "");
    const rows = el("dl", {},
      el("dt", { text: "場所" }), el("dd", { text: str(p.office) }),
      el("dt", { text: "日時" }), el("dd", {}, el("time", { text: when, attrs: { datetime: str(p.start) } })));
    const box = el("section", { cls: "card booking" + (p.status === "cancelled" ? " cancelled" : ""), attrs: { "aria-label": status } },
      el("p", { cls: "card-title", text: status }), rows);
    if (p.reference) {
      box.append(el("p", { cls: "note", text: "予約番号（お電話や窓口でお伝えください）" }),
        el("p", { cls: "reference", text: str(p.reference) }));
      if (p.status !== "cancelled") {
        box.append(el("a", { cls: "ics-link", text: "カレンダーに追加（.ics）",
          attrs: { href: `/ics/${encodeURIComponent(str(p.reference))}.ics`, download: "" } }));
      }
    }
    appendToLog(el("div", { cls: "msg msg-bot" }, box));
  }

  /* ---------- quick replies ---------- */

  function showChoices(buttons) {
    clearChoices();
    for (const b of buttons) {
      if (!b || typeof b.payload !== "string" || typeof b.title !== "string") continue;
      const button = el("button", { cls: "choice", text: b.title, attrs: { type: "button" } });
      button.addEventListener("click", () => send(b.payload, b.title, "button"));
      ui.choices.append(button);
    }
    ui.choices.hidden = !ui.choices.childElementCount;
    // After a quick reply, the next choices take the focus; while typing, it stays in the input.
    const active = document.activeElement;
    if (!ui.choices.hidden && state.lastSentBy === "button" && !ui.input.value &&
        (active === ui.input || active === document.body || active === null)) {
      ui.choices.firstElementChild.focus();
    }
  }

  function clearChoices() {
    ui.choices.replaceChildren();
    ui.choices.hidden = true;
  }

  /* ---------- sending ---------- */

  function canSend() {
    return !!state.socket && state.socket.connected && state.confirmed && navigator.onLine;
  }

  function emit(message) {
    state.socket.emit("user_uttered", { message, session_id: state.sessionId });
  }

  /** `message` goes to the bot; `shown` is what the resident sees in their bubble. */
  function send(message, shown, by) {
    state.lastSentBy = by;
    if (by === "button") ui.input.focus();  // the pressed button disappears; keep focus somewhere useful
    clearChoices();
    if (canSend()) {
      userBubble(shown, false);
      emit(message);
      showTyping();
      return;
    }
    const bubble = userBubble(shown, true);
    bubble.dataset.queued = String(state.queue.length);
    state.queue.push({ message, shown });
    save("queue", state.queue);
    notice(navigator.onLine ? TEXT.reconnecting : TEXT.offline);
  }

  function flushQueue() {
    if (!state.queue.length) return;
    const pending = Array.from(ui.log.querySelectorAll(".msg-user.pending"));
    for (const item of state.queue) emit(item.message);
    pending.forEach(markSent);
    state.queue = [];
    save("queue", state.queue);
    showTyping();
  }

  function submitText(event) {
    event.preventDefault();
    const text = ui.input.value.trim();
    if (!text) { notice(TEXT.empty); ui.input.focus(); return; }
    if (text.length > MAX_CHARS) { notice(TEXT.tooLong); ui.input.focus(); return; }
    if (ui.notice.textContent === TEXT.empty || ui.notice.textContent === TEXT.tooLong) notice("");
    ui.input.value = "";
    send(text, text, "text");
    ui.input.focus();
  }

  /* ---------- server: session, history ---------- */

  async function fetchSession() {
    const resp = await fetch("api/session", { method: "POST", credentials: "same-origin", cache: "no-store" });
    if (!resp.ok) throw new Error(`session ${resp.status}`);
    const data = await resp.json();
    if (data.session_id !== state.sessionId) {
      state.queue = [];  // anything queued belonged to another conversation (cookie lost or new)
      save("queue", state.queue);
      state.sessionId = data.session_id;
      save("session", data.session_id);
    }
    return data;
  }

  async function fetchHistory() {
    const resp = await fetch("api/history", { credentials: "same-origin", cache: "no-store" });
    if (!resp.ok) throw new Error(`history ${resp.status}`);
    return resp.json();
  }

  function renderHistory(data) {
    const messages = Array.isArray(data.messages) ? data.messages : [];
    for (const m of messages) {
      if (m.from === "user") userBubble(str(m.text), false);
      else if (m.from === "bot") renderBot(m, false);
    }
    state.botCount = Number(data.bot_total) || state.botCount;
    document.body.dataset.botCount = String(state.botCount);
    // The latest question's quick replies are still the resident's to press.
    let offered = [];
    for (const m of messages.slice(messages.map((x) => x.from).lastIndexOf("user") + 1)) {
      const custom = m.custom && typeof m.custom === "object" ? m.custom : {};
      const buttons = Array.isArray(m.buttons) ? m.buttons : custom.type === "ask" && Array.isArray(custom.choices) ? custom.choices : [];
      if (buttons.length) offered = buttons;
    }
    if (offered.length) showChoices(offered);
  }

  /** After a reconnection: show bot messages sent while we were away (staff replies). */
  async function catchUp() {
    try {
      const data = await fetchHistory();
      for (const m of data.messages || []) {
        if (m.from === "bot" && Number(m.n) >= state.botCount) renderBot(m, true);
      }
    } catch (_) { /* the live socket still works */ }
  }

  /* ---------- socket ---------- */

  function connect() {
    const path = new URL("socket.io", document.baseURI).pathname;
    const socket = window.io({
      path,
      transports: ["polling", "websocket"],
      reconnectionDelay: 1000,
      reconnectionDelayMax: 8000,
      auth: (cb) => {
        fetchSession().then((s) => cb({ token: s.token })).catch(() => cb({}));
      },
    });
    state.socket = socket;

    socket.on("connect", () => {
      state.confirmed = false;
      socket.emit("session_request", { session_id: state.sessionId });
    });

    socket.on("session_confirm", async () => {
      const first = !state.everConfirmed;
      state.confirmed = true;
      state.everConfirmed = true;
      if (navigator.onLine) notice("");
      if (!first) await catchUp();
      if (state.queue.length) flushQueue();
      else if (first && state.rendered === 0) {
        socket.emit("user_uttered", { message: "/greet", session_id: state.sessionId });
        showTyping();
      }
    });

    socket.on("bot_uttered", (msg) => renderBot(msg, true));

    socket.on("disconnect", (reason) => {
      state.confirmed = false;
      hideTyping();
      if (reason !== "io client disconnect") notice(navigator.onLine ? TEXT.reconnecting : TEXT.offline);
    });

    socket.on("connect_error", () => {
      notice(navigator.onLine ? TEXT.cannotConnect : TEXT.offline);
    });
  }

  function goneOffline() {
    notice(TEXT.offline);
    hideTyping();
    if (state.socket) state.socket.disconnect();
  }

  function backOnline() {
    notice(TEXT.reconnecting);
    if (state.socket && !state.socket.connected) state.socket.connect();
  }

  /* ---------- start ---------- */

  function bind() {
    ui.form.addEventListener("submit", submitText);
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        submitText(event);
      }
    });
    ui.person.addEventListener("click", () => send("/request_human", "人と話したい", "button"));
    // Starting over forgets every answer: ask once, in the page, with the focus on the question.
    const askRestart = (open) => {
      ui.confirm.hidden = !open;
      ui.restart.setAttribute("aria-expanded", String(open));
    };
    ui.restart.addEventListener("click", () => { askRestart(true); ui.restartYes.focus(); });
    ui.restartNo.addEventListener("click", () => { askRestart(false); ui.restart.focus(); });
    ui.restartYes.addEventListener("click", () => {
      askRestart(false);
      send("/start_over", "最初から", "button");
    });
    window.addEventListener("offline", goneOffline);
    window.addEventListener("online", backOnline);
  }

  async function start() {
    bind();
    state.sessionId = load("session", null);
    state.queue = (load("queue", []) || []).filter((q) => q && typeof q.message === "string" && typeof q.shown === "string");
    try {
      await fetchSession();
      renderHistory(await fetchHistory());
    } catch (_) {
      notice(navigator.onLine ? TEXT.cannotConnect : TEXT.offline);
    }
    for (const item of state.queue) userBubble(item.shown, true);
    if (!window.io) { notice(TEXT.cannotConnect); return; }
    connect();
    if (!navigator.onLine) notice(TEXT.offline);
  }

  start();
})();
