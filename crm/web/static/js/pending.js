// A note or call just written is processed by the worker; reload until it is on the timeline.
const pending = document.getElementById("pending-entry");
if (pending) {
  const key = `pending-reloads:${location.pathname}${location.search}`;
  const tries = Number(sessionStorage.getItem(key) || 0);
  if (tries < 30) {
    sessionStorage.setItem(key, String(tries + 1));
    setTimeout(() => location.reload(), Number(pending.dataset.reloadMs || 1000));
  }
}
