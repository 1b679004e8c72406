// The crisis board's live feed: poll /crisis/alerts/since/<last event id> every 300 ms
// (CRISIS_BOARD_POLL_MS).
// A dropped connection backs off and retries by itself; because the feed is keyed by event id,
// whatever happened meanwhile arrives on the first successful poll. Ids below `last` that were
// not committed yet when the feed moved past them (PostgreSQL hands out ids before commit) are
// asked about again for a minute (`gaps`); a rolled-back id never arrives and is dropped.
(function () {
  "use strict";
  var board = document.getElementById("alert-board");
  if (!board) return;
  var feedBase = board.dataset.feed.replace(/0$/, "");
  var last = parseInt(board.dataset.last || "0", 10);
  var GAP_MS = 60000;
  var gaps = {}; // event id -> when the board first missed it
  addGaps((board.dataset.gaps || "").split(",").filter(Boolean).map(Number));
  var rows = document.getElementById("alert-rows");
  var badge = document.querySelector("[data-testid=unacked-badge]");
  var status = document.querySelector("[data-testid=live-status]");
  var toggle = document.getElementById("sound-toggle");
  var baseTitle = document.title;
  var INTERVAL = parseInt(board.dataset.interval || "300", 10);
  var failures = 0;
  var audio = null;
  // The sound choice persists per user in this browser (on unless the user switched it off).
  var SOUND_KEY = "xinan.crisis.sound." + (board.dataset.userId || "anon");
  var soundOn = readSound();

  function readSound() {
    try {
      return window.localStorage.getItem(SOUND_KEY) !== "off";
    } catch (e) {
      return true;
    }
  }

  function saveSound(on) {
    try {
      window.localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    } catch (e) {
      /* private mode: the choice lasts for this page only */
    }
  }

  function showSound() {
    if (!toggle) return;
    toggle.setAttribute("aria-pressed", soundOn ? "true" : "false");
    toggle.textContent = soundOn ? toggle.dataset.on : toggle.dataset.off;
    board.dataset.sound = soundOn ? "on" : "off";
  }

  function audioContext() {
    if (!audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    return audio;
  }

  function beep(level) {
    if (!soundOn) return;
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

  // Overdue first, then waiting for acknowledgement, then in hand; louder levels first.
  function rowKey(tr) {
    var c = tr.classList;
    return (c.contains("overdue") ? 0 : 10) + (c.contains("status-open") ? 0 : 5) +
      (c.contains("level-red") ? 0 : c.contains("level-orange") ? 1 : 2);
  }

  // Put one row at the head of its group in the board's order (newest first within a group).
  // Only that row moves: re-appending every row on each poll restarted the flash of every row
  // and made a board of hundreds of alerts re-lay itself out several times a second.
  function place(tr) {
    var key = rowKey(tr);
    var at = rows.firstElementChild;
    while (at && (at === tr || !at.classList.contains("alert-row") || rowKey(at) < key)) {
      at = at.nextElementSibling;
    }
    if (tr.nextElementSibling !== at || tr.parentNode !== rows) rows.insertBefore(tr, at);
  }

  function render(alert) {
    var tr = rows.querySelector('tr[data-alert="' + alert.id + '"]');
    if (alert.status === "closed") {
      if (tr) tr.remove();
      return;
    }
    var before = tr ? rowKey(tr) : null;
    if (!tr) {
      tr = document.createElement("tr");
      tr.dataset.alert = alert.id;
      var empty = rows.querySelector("tr.empty");
      if (empty) empty.remove();
    } else {
      tr.replaceChildren();
    }
    // "fresh" flashes the row once (crisis.css); it comes off when the flash ends, so a row
    // flashes when it arrives or changes, never again when another row moves.
    tr.className = "alert-row fresh level-" + alert.level + " status-" + alert.status +
      (alert.overdue ? " overdue" : "");
    var levelCell = cell();
    var pill = document.createElement("span");
    pill.className = "level level-" + alert.level;
    pill.textContent = alert.level_label;
    levelCell.appendChild(pill);
    tr.appendChild(levelCell);
    var when = cell(alert.raised_at + " ");
    if (alert.overdue) {
      var tag = document.createElement("span");
      tag.className = "overdue-tag";
      tag.textContent = board.dataset.overdue || "!";
      when.appendChild(tag);
    }
    tr.appendChild(when);
    tr.appendChild(cell(alert.area));
    var summary = cell();
    var link = document.createElement("a");
    link.href = alert.url;
    link.textContent = alert.summary;
    summary.appendChild(link);
    tr.appendChild(summary);
    tr.appendChild(cell(alert.status_label, "status"));
    tr.appendChild(cell(alert.assignee || "—"));
    if (before === null || before !== rowKey(tr)) place(tr);
  }

  rows.addEventListener("animationend", function (e) {
    var tr = e.target.closest("tr.fresh");
    if (tr && e.target === tr.lastElementChild) tr.classList.remove("fresh");
  });

  function setBadge(n) {
    badge.textContent = String(n);
    badge.classList.toggle("zero", n === 0);
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
  }

  function addGaps(ids) {
    var now = Date.now();
    ids.forEach(function (id) {
      if (!(id in gaps)) gaps[id] = now;
    });
  }

  function gapQuery() {
    var now = Date.now();
    var ids = [];
    Object.keys(gaps).forEach(function (id) {
      if (now - gaps[id] > GAP_MS) delete gaps[id];
      else ids.push(id);
    });
    return ids.length ? "?gaps=" + ids.slice(0, 50).join(",") : "";
  }

  function apply(data) {
    var loudest = null;
    var rank = { red: 3, orange: 2, yellow: 1 };
    data.events.forEach(function (e) {
      render(e.alert);
      var rings = e.kind === "raised" || e.kind === "escalated" || e.kind === "repeated";
      var handed = (e.kind === "handed_over" || e.kind === "callback_overdue") && e.alert.mine;
      if ((rings && e.alert.status === "open") || handed) {
        if (!loudest || rank[e.alert.level] > rank[loudest]) loudest = e.alert.level;
      }
    });
    (data.filled || []).forEach(function (id) { delete gaps[id]; });
    addGaps(data.gaps || []);
    last = data.last;
    board.dataset.last = String(last);
    setBadge(data.unacked);
    if (loudest) beep(loudest);
  }

  function poll() {
    fetch(feedBase + last + gapQuery(), { credentials: "same-origin", headers: { Accept: "application/json" } })
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
    showSound();
    toggle.addEventListener("click", function () {
      soundOn = !soundOn;
      saveSound(soundOn);
      showSound();
      if (soundOn) {
        var ctx = audioContext();
        if (ctx) ctx.resume();
        beep("yellow");
      }
    });
  }
  // Browsers start audio only after a gesture: the first tap anywhere unlocks the sound.
  document.addEventListener(
    "pointerdown",
    function () {
      var ctx = soundOn ? audioContext() : null;
      if (ctx && ctx.state === "suspended") ctx.resume();
    },
    { once: true }
  );
  status.dataset.ok = status.textContent;
  setTimeout(poll, INTERVAL);
})();
