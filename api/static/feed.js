// My feed, live: notifications arrive over server-sent events (GET /feed/stream).
//
// Each event's id is the notification's id. When the stream ends or drops, the browser
// reconnects by itself and sends the last id it received (Last-Event-ID), so the server
// resumes after it; when the browser gives up (readyState CLOSED), the page opens a new
// stream from the newest id it holds. Either way a notification already on the page is
// never added again.
(() => {
  "use strict";
  const list = document.getElementById("feed");
  const status = document.getElementById("live-status");
  if (!list || !status) return;
  const REOPEN_MS = 3000;
  const shown = new Set();
  let newest = 0;
  for (const item of list.querySelectorAll("li[data-id]")) {
    const id = Number(item.dataset.id);
    shown.add(id);
    newest = Math.max(newest, id);
  }

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "pill " + kind;
  }

  function render(n) {
    const item = document.createElement("li");
    item.className = "fresh";
    item.dataset.id = String(n.id);
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = new Date(n.created_at).toLocaleString() + " ";
    const link = document.createElement("a");
    link.href = "/ui/journeys/" + encodeURIComponent(n.journey_id);
    link.textContent = n.journey_id;
    item.append(when, link, document.createTextNode(" — " + n.summary));
    if (n.priority === "urgent") {
      const pill = document.createElement("span");
      pill.className = "pill urgent";
      pill.textContent = "urgent";
      item.append(" ", pill);
    }
    return item;
  }

  function open() {
    const source = new EventSource("/feed/stream?after=" + newest);
    source.addEventListener("notification", (message) => {
      const n = JSON.parse(message.data);
      if (shown.has(n.id)) return;
      shown.add(n.id);
      newest = Math.max(newest, n.id);
      list.prepend(render(n));
    });
    source.onopen = () => setStatus("live", "ok");
    source.onerror = () => {
      setStatus("reconnecting", "due");
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(open, REOPEN_MS);
      }
    };
  }

  open();
})();
