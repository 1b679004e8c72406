// The crisis board's live feed: poll /crisis/alerts/since/<last event id> every 300 ms
// (CRISIS_BOARD_POLL_MS).
// A dropped connection backs off and retries by itself; because the feed is keyed by event id,
// whatever happened meanwhile arrives on the first successful poll.
(function () {
  "use strict";
  var board = document.getElementById("alert-board");
  if (!board) return;
  var feedBase = board.dataset.feed.replace(/0$/, "");
  var last = parseInt(board.dataset.last || "0", 10);
  var rows = document.getElementById("alert-rows");
  var badge = document.querySelector("[data-testid=unacked-badge]");
  var status = document.querySelector("[data-testid=live-status]");
  var toggle = document.getElementById("sound-toggle");
  var baseTitle = document.title;
  var INTERVAL = parseInt(board.dataset.interval || "300", 10);
  var failures = 0;
  var audio = null;

  function audioContext() {
    if (!audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    return audio;
  }

  function beep(level) {
    var ctx = audioContext();
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume();
    var pulses = level === "red" ? 3 : level === "orange" ? 2 : 1;
    for (var i = 0; i < pulses; i++) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var t = ctx.currentTime + i * 0.3;
      osc.frequency.value = level === "red" ? 880 : 660;
      gain.gain.setValueAtTime(0.25, t);
      gain.gain.exponentialRampToValueAtTime(0.001, t + 0.25);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.26);
    }
    board.dataset.beeps = String(parseInt(board.dataset.beeps || "0", 10) + 1);
  }

  function cell(text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function render(alert) {
    var tr = rows.querySelector('tr[data-alert="' + alert.id + '"]');
    if (alert.status === "closed") {
      if (tr) tr.remove();
      return;
    }
    var fresh = !tr;
    if (fresh) {
      tr = document.createElement("tr");
      tr.dataset.alert = alert.id;
      var empty = rows.querySelector("tr.empty");
      if (empty) empty.remove();
      rows.insertBefore(tr, rows.firstChild);
    } else {
      tr.replaceChildren();
    }
    tr.className = "alert-row fresh level-" + alert.level + " status-" + alert.status;
    var levelCell = cell();
    var pill = document.createElement("span");
    pill.className = "level level-" + alert.level;
    pill.textContent = alert.level_label;
    levelCell.appendChild(pill);
    tr.appendChild(levelCell);
    tr.appendChild(cell(alert.raised_at));
    tr.appendChild(cell(alert.area));
    var summary = cell();
    var link = document.createElement("a");
    link.href = alert.url;
    link.textContent = alert.summary;
    summary.appendChild(link);
    tr.appendChild(summary);
    tr.appendChild(cell(alert.status_label, "status"));
    tr.appendChild(cell(alert.mine ? board.dataset.me || "✓" : "—"));
  }

  function setBadge(n) {
    badge.textContent = String(n);
    badge.classList.toggle("zero", n === 0);
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }

  function apply(data) {
    var loudest = null;
    var rank = { red: 3, orange: 2, yellow: 1 };
    data.events.forEach(function (e) {
      render(e.alert);
      if ((e.kind === "raised" || e.kind === "escalated" || e.kind === "repeated") &&
          e.alert.status === "open") {
        if (!loudest || rank[e.alert.level] > rank[loudest]) loudest = e.alert.level;
      }
    });
    last = data.last;
    board.dataset.last = String(last);
    setBadge(data.unacked);
    if (loudest) beep(loudest);
  }

  function poll() {
    fetch(feedBase + last, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 403 || r.status === 404 || r.redirected) {
          window.location.reload(); // session ended: the login page says what to do
          throw new Error("session");
        }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        failures = 0;
        status.classList.remove("down");
        status.textContent = status.dataset.ok || status.textContent;
        apply(data);
        setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        failures += 1;
        if (!status.dataset.ok) status.dataset.ok = status.textContent;
        status.classList.add("down");
        status.textContent = board.dataset.down || "连接中断，正在重连…";
        setTimeout(poll, Math.min(5000, INTERVAL * Math.pow(2, failures)));
      });
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      var ctx = audioContext();
      if (ctx) ctx.resume();
      beep("yellow");
      toggle.disabled = true;
      toggle.textContent = toggle.dataset.on || toggle.textContent;
    });
  }
  status.dataset.ok = status.textContent;
  setTimeout(poll, INTERVAL);
})();
