/* Matterline's one script: what htmx cannot do by attributes alone, under a CSP with no inline script.
 *
 * - every htmx request carries the CSRF token (Flask-WTF reads X-CSRFToken);
 * - the live poll: fires `ml:poll` every 5 s while the tab is visible, at once when it becomes visible;
 *   its redraws keep a choice the person has made and not yet submitted, a disclosure they opened, and
 *   a text they revealed;
 * - the tab title leads with the unread count; opt-in notifications say only how many texts are new;
 * - privacy: blurred text (and what quotes it) is revealed by its button; the idle curtain covers the page when away;
 * - keyboard shortcuts: j/k next and previous thread, r reply, / search, ? the list of keys.
 */
(function () {
  "use strict";

  var POLL_MS = 5000;
  var NOTIFY_KEY = "matterline-notify";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  /* -- the live poll ------------------------------------------------------------------------- */

  function poll() {
    if (document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(document.body, "ml:poll");
    }
  }
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);

  /* -- a live redraw keeps what the person is in the middle of choosing ---------------------------
   * The poll redraws a panel whenever anything about it changed (a colleague opened the thread, a text
   * came in). A choice made there and not yet submitted, a matter to re-file to or a person to assign,
   * is carried into the redrawn panel, so a button never acts on a value the person did not pick.
   * Controls the person has not touched follow the server. */

  function touched(control) {
    if (control.hasAttribute("data-kept")) { return true; }
    if (control.type === "checkbox" || control.type === "radio") { return control.checked !== control.defaultChecked; }
    if (control.tagName === "SELECT") {
      /* As drawn, a list shows its option marked selected, or its first when none is. */
      var drawn = Array.prototype.find.call(control.options, function (o) { return o.defaultSelected; }) || control.options[0];
      return drawn ? control.value !== drawn.value : false;
    }
    return control.value !== control.defaultValue;
  }

  function carry(from, to) {
    if (to.tagName === "SELECT") {
      var pick = Array.prototype.find.call(to.options, function (o) { return o.value === from.value; });
      if (!pick) { return; } /* the choice is gone from the new list: the server's value stands */
      Array.prototype.forEach.call(to.options, function (o) { o.toggleAttribute("selected", o === pick); });
    } else if (to.type === "checkbox" || to.type === "radio") {
      to.toggleAttribute("checked", from.checked);
    } else if (to.tagName === "TEXTAREA") {
      to.textContent = from.value;
    } else {
      to.setAttribute("value", from.value);
    }
    to.setAttribute("data-kept", "");
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var fresh = event.detail.fragment;
    event.detail.target.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (old) {
      if (old.type === "hidden" || !touched(old)) { return; }
      var twin = fresh.querySelector("#" + CSS.escape(old.id));
      if (twin && twin.tagName === old.tagName) { carry(old, twin); }
    });
    /* A disclosure the person opened (why a text was flagged, the triage correction) stays open. */
    event.detail.target.querySelectorAll("details[open][id]").forEach(function (old) {
      var twin = fresh.querySelector("#" + CSS.escape(old.id));
      if (twin && twin.tagName === "DETAILS") { twin.setAttribute("open", ""); }
    });
    /* A text the person revealed in privacy mode stays revealed, with all its button shows. */
    event.detail.target.querySelectorAll(".revealed[id]").forEach(function (old) {
      var button = fresh.querySelector('[data-reveal][aria-controls~="' + CSS.escape(old.id) + '"]');
      if (button) { reveal(controlled(button, fresh), button, true); }
    });
  });

  /* -- the badge: title, notifications ------------------------------------------------------- */

  var lastCount = null;

  function badgeCount() {
    var badge = document.getElementById("badge");
    return badge ? parseInt(badge.getAttribute("data-count") || "0", 10) : 0;
  }

  function updateTitle() {
    var base = document.body.getAttribute("data-title");
    if (!base) { return; }
    var badge = document.getElementById("badge");
    var count = badgeCount();
    document.title = count > 0 && badge ? "(" + badge.textContent.trim() + ") " + base : base;
  }

  function notifyOn() {
    return window.Notification && Notification.permission === "granted" && localStorage.getItem(NOTIFY_KEY) === "on";
  }

  function announceNew() {
    var count = badgeCount();
    if (lastCount !== null && count > lastCount && notifyOn()) {
      var fresh = count - lastCount;
      /* Never a name or a word of a text: a lock screen shows notifications to anyone passing. */
      new Notification("Matterline", { body: fresh + (fresh === 1 ? " new text" : " new texts"), tag: "matterline" });
    }
    lastCount = count;
  }

  function showNotifyState() {
    document.querySelectorAll("[data-notify-toggle]").forEach(function (button) {
      var on = notifyOn();
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Notifications on" : "Notifications off";
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-notify-toggle]");
    if (!toggle || !window.Notification) { return; }
    if (notifyOn()) {
      localStorage.setItem(NOTIFY_KEY, "off");
      showNotifyState();
      return;
    }
    Notification.requestPermission().then(function (answer) {
      localStorage.setItem(NOTIFY_KEY, answer === "granted" ? "on" : "off");
      showNotifyState();
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    updateTitle();
    announceNew();
  });

  /* -- privacy: reveal one blurred text ----------------------------------------------------
   * A Reveal button controls the text and what quotes it (triage's reasons, a correction's note): its
   * aria-controls lists their ids, and one press shows or hides them all. */

  function controlled(button, root) {
    return (button.getAttribute("aria-controls") || "").split(/\s+/).map(function (id) {
      return id ? root.querySelector("#" + CSS.escape(id)) : null;
    }).filter(Boolean);
  }

  function reveal(targets, button, shown) {
    targets.forEach(function (target) { target.classList.toggle("revealed", shown); });
    button.setAttribute("aria-expanded", shown ? "true" : "false");
    button.textContent = shown ? "Hide" : "Reveal";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-reveal]");
    if (!button) { return; }
    var targets = controlled(button, document);
    if (targets.length > 0) { reveal(targets, button, button.getAttribute("aria-expanded") !== "true"); }
  });

  /* -- the idle curtain -------------------------------------------------------------------- */

  var idleTimer = null;

  function curtain() { return document.getElementById("curtain"); }

  function lower() {
    var cover = curtain();
    var main = document.getElementById("main");
    if (!cover || !main) { return; }
    cover.hidden = false;
    main.setAttribute("aria-hidden", "true");
    main.classList.add("curtained");
    var lift = cover.querySelector("[data-curtain-lift]");
    if (lift) { lift.focus(); }
  }

  function lift() {
    var cover = curtain();
    var main = document.getElementById("main");
    if (!cover || cover.hidden) { return; }
    cover.hidden = true;
    main.removeAttribute("aria-hidden");
    main.classList.remove("curtained");
  }

  function awake() {
    var minutes = parseFloat(document.body.getAttribute("data-idle-minutes") || "0");
    if (idleTimer) { clearTimeout(idleTimer); }
    if (minutes > 0 && curtain() && curtain().hidden) {
      idleTimer = setTimeout(lower, minutes * 60000);
    }
  }

  ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, awake, { passive: true });
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-curtain-lift]")) {
      lift();
      awake();
    }
  });

  /* -- keyboard shortcuts ------------------------------------------------------------------ */

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function moveThread(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-thread-link]"));
    if (rows.length > 0) {
      var index = rows.indexOf(document.activeElement);
      var next = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
      rows[next].focus();
      return;
    }
    var link = document.querySelector(step > 0 ? "[data-next-thread]" : "[data-prev-thread]");
    if (link) { link.click(); }
  }

  function openKeys() {
    var dialog = document.getElementById("keys");
    if (dialog && !dialog.open) { dialog.showModal(); }
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-keys-open]")) { openKeys(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var dialog = document.getElementById("keys");
    if (dialog && dialog.open) { return; }
    var target = null;
    switch (event.key) {
      case "j": moveThread(1); break;
      case "k": moveThread(-1); break;
      case "r": target = document.querySelector("[data-composer]"); break;
      case "/": target = document.querySelector("[data-search]"); break;
      case "?": openKeys(); break;
      default: return;
    }
    if (target) { target.focus(); }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    lastCount = badgeCount();
    updateTitle();
    showNotifyState();
    awake();
  });
})();
