// A large segment's CSV is made by a job: start it, show its progress, then offer the file.
import { api, el } from "./http.js";

const button = document.getElementById("export-job");
const box = document.getElementById("export-progress");
const bar = document.getElementById("export-bar");
const status = document.getElementById("export-status");
const POLL_MS = 700;

async function follow(job) {
  bar.value = job.progress;
  status.textContent = `${job.done} of ${job.total} members written (${job.status}).`;
  if (job.status === "failed") { status.textContent = `The export failed: ${job.error || "see the worker's log"}.`; button.disabled = false; return; }
  if (job.status !== "done") { setTimeout(async () => follow(await api(job.status_url)), POLL_MS); return; }
  status.textContent = `Ready: ${job.total} members.`;
  const link = el("a", { class: "button", href: job.download_url, download: "", id: "export-download" }, "Download the CSV");
  box.append(link);
  link.focus();
  button.disabled = false;
}

button.addEventListener("click", async () => {
  button.disabled = true;
  box.hidden = false;
  document.getElementById("export-download")?.remove();
  status.textContent = "Starting the export…";
  try {
    await follow(await api(button.dataset.url, { method: "POST" }));
  } catch (err) {
    status.textContent = `The export could not start: ${err.message}`;
    button.disabled = false;
  }
});
