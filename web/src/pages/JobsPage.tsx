import { FormEvent, useEffect, useRef, useState } from "react";
import { GpuNode, JobMetrics, TrainingJob } from "../api";
import { api, showError, showInfo, store, useStore } from "../store";
import { when } from "../components/Form";
import { navigate, to, useProjectOf, useRoute } from "../router";
import { errorText } from "./datasets/format";
import { MetricChart, palette } from "../components/Charts";

const finalStates = ["succeeded", "failed", "cancelled"];

/** Training jobs of the selected project: the GPU pool, a submit form, the queue with why each job waits, and a
 *  job's log followed live over Server-Sent Events, its status and the queue read again each second until it ends. Addresses: #/jobs, and #/jobs/<job_id> for one job (of any
 *  project: the switcher follows it). */
export function JobsPage() {
  const projectId = useStore((s) => s.projectId);
  const jobId = useRoute().params.jobId ?? null;
  const [jobs, setJobs] = useState<TrainingJob[]>([]);
  const [nodes, setNodes] = useState<GpuNode[]>([]);
  const [selected, setSelected] = useState<TrainingJob | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [log, setLog] = useState<string[]>([]);
  const [usage, setUsage] = useState<JobMetrics | null>(null);
  const lastUsage = useRef(0);
  const shown = useRef<string | null>(null);
  const logBox = useRef<HTMLPreElement>(null);
  const followingLog = useRef(true);
  const [form, setForm] = useState({ name: "", entrypoint: "", gpuType: "", gpus: 1, priority: "normal" });

  function reload() {
    const projectId = store.snapshot().projectId;  // also when called as a followed log ends
    if (!projectId) return;
    api.jobs(projectId).then((page) => setJobs(page.items)).catch(showError);
    api.gpuNodes().then((page) => setNodes(page.items)).catch(showError);
  }
  useEffect(reload, [projectId]);
  useProjectOf(selected?.id === jobId ? selected?.project_id : undefined, () => navigate(to("jobs")));

  // The addressed job: read, its log followed until it ends (or another address is chosen).
  useEffect(() => {
    setSelected(null);
    setLog([]);
    followingLog.current = true;
    setUsage(null);
    setProblem(null);
    shown.current = jobId;
    if (!jobId) return;
    const controller = new AbortController();
    api.job(jobId).then((job) => { if (!controller.signal.aborted) setSelected(job); })
      .catch((error) => { if (!controller.signal.aborted) setProblem(errorText(error)); });
    loadUsage(jobId, true);
    // Usage and metrics are re-read as the log moves (at most every 2 s), and once more when the job ends.
    api.followLog(jobId, (lines) => { setLog((before) => [...before, ...lines]); loadUsage(jobId, false); }, controller.signal)
      .then(() => {
        if (controller.signal.aborted) return;
        api.job(jobId).then(setSelected).catch(showError);
        loadUsage(jobId, true);
        reload();
      })
      .catch((error) => { if (!controller.signal.aborted) setProblem(errorText(error)); });
    return () => controller.abort();
  }, [jobId]);

  // While the job is not over, its status and the queue are read again every second: a job that starts running
  // shows it then, not when its log ends.
  const liveStatus = selected && selected.id === jobId && !finalStates.includes(selected.status) ? selected.status : null;
  useEffect(() => {
    if (!jobId || !liveStatus) return;
    const timer = window.setInterval(() => {
      api.job(jobId).then((job) => { if (shown.current === jobId) setSelected(job); }).catch(showError);
      reload();
    }, 1000);
    return () => window.clearInterval(timer);
  }, [jobId, liveStatus]);

  // The log follows new lines, unless the reader has scrolled up to read something.
  useEffect(() => {
    const box = logBox.current;
    if (box && followingLog.current) box.scrollTop = box.scrollHeight;
  }, [log]);

  function loadUsage(jobId: string, now: boolean) {
    if (!now && Date.now() - lastUsage.current < 2000) return;
    lastUsage.current = Date.now();
    api.jobMetrics(jobId).then((loaded) => { if (shown.current === jobId) setUsage(loaded); }).catch(showError);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      const job = await api.submitJob({
        project_id: projectId!, name: form.name, entrypoint: form.entrypoint, priority: form.priority,
        resources: { gpu_type: form.gpuType || undefined, gpu_count: form.gpus },
      });
      showInfo(`Submitted ${job.name}.`);
      reload();
      navigate(to("job", { jobId: job.id }));
    } catch (error) { showError(error); }
  }

  async function stop(job: TrainingJob) {
    try { setSelected(await api.stopJob(job.id)); reload(); } catch (error) { showError(error); }
  }

  if (!projectId) return <section><h1>Training jobs</h1><p className="muted">Create or choose a project first.</p></section>;
  const gpuTypes = [...new Set(nodes.map((n) => n.node_type).filter((t): t is string => !!t))];
  return (
    <section>
      <h1>Training jobs</h1>
      <h2>GPU pool</h2>
      <table className="table" aria-label="GPU nodes">
        <thead><tr><th>Node</th><th>GPU type</th><th>GPUs in use</th><th>Status</th><th>Source</th></tr></thead>
        <tbody>
          {nodes.map((n) => (
            <tr key={n.id}><td>{n.name}</td><td>{n.node_type ?? "—"}</td><td>{n.gpus_in_use} / {n.gpu_count}</td><td>{n.status}</td><td>{n.source}</td></tr>
          ))}
        </tbody>
      </table>

      <h2>Submit a job</h2>
      <form className="card inline-form" aria-label="Submit a job" onSubmit={submit}>
        <label>Name <input name="job-name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} /></label>
        <label>Command <input name="entrypoint" required size={40} placeholder="python3 train.py" value={form.entrypoint}
          onChange={(e) => setForm({ ...form, entrypoint: e.target.value })} /></label>
        <label>GPU type <select name="gpu-type" value={form.gpuType} onChange={(e) => setForm({ ...form, gpuType: e.target.value })}>
          <option value="">any</option>{gpuTypes.map((t) => <option key={t} value={t}>{t}</option>)}
        </select></label>
        <label>GPUs <input name="gpus" type="number" min={0} max={64} value={form.gpus}
          onChange={(e) => setForm({ ...form, gpus: Number(e.target.value) })} /></label>
        <label>Priority <select name="priority" value={form.priority} onChange={(e) => setForm({ ...form, priority: e.target.value })}>
          <option value="low">low</option><option value="normal">normal</option><option value="high">high</option>
        </select></label>
        <button type="submit">Submit</button>
      </form>

      <h2>Queue <button type="button" className="link" onClick={reload}>Refresh</button></h2>
      <table className="table" aria-label="Training jobs">
        <thead><tr><th>Name</th><th>Status</th><th>Priority</th><th>GPUs</th><th>Why / what happened</th><th>Submitted</th></tr></thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} className={j.id === selected?.id ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => navigate(to("job", { jobId: j.id }))}>{j.name}</button></td>
              <td><span className={`status status-${j.status}`}>{j.status}</span></td>
              <td>{j.priority}</td>
              <td>{j.resources.gpu_count ?? 0}{j.resources.gpu_type ? ` × ${j.resources.gpu_type}` : ""}</td>
              <td>{j.reason}</td>
              <td>{when(j.created_at)}</td>
            </tr>
          ))}
          {jobs.length === 0 && <tr><td colSpan={6} className="muted">No jobs yet. Submit one above or with aitip jobs submit.</td></tr>}
        </tbody>
      </table>

      {problem && <p className="form-failure" role="alert">Job <code>{jobId}</code>: {problem}</p>}
      {selected && (
        <>
          <h2>{selected.name} <span className={`status status-${selected.status}`} aria-label="Job status">{selected.status}</span></h2>
          <p className="muted">{selected.reason}{selected.exit_code !== undefined ? ` · exit code ${selected.exit_code}` : ""}
            {` · ${selected.gpu_hours.toFixed(4)} GPU-hours`}</p>
          {!finalStates.includes(selected.status) && <button type="button" onClick={() => stop(selected)}>Stop</button>}
          <pre className="log" aria-label="Job log" aria-live="polite" ref={logBox}
            onScroll={(e) => { const box = e.currentTarget; followingLog.current = box.scrollHeight - box.scrollTop - box.clientHeight < 8; }}>
            {log.join("\n")}</pre>
          {usage && <JobUsagePanel usage={usage} />}
        </>
      )}
    </section>
  );
}

/** What the job uses now (while it runs on the local executor) and the metrics it printed as `aitip.metric` lines. */
function JobUsagePanel({ usage }: { usage: JobMetrics }) {
  const keys = Object.keys(usage.metrics).sort();
  const r = usage.resources;
  return (
    <div aria-label="Job resources and metrics">
      <h3>Resources</h3>
      <table className="table" aria-label="Job resources">
        <tbody>
          <tr><th>Runtime</th><td>{usage.runtime_seconds !== undefined ? `${usage.runtime_seconds.toFixed(1)} s` : "—"}</td></tr>
          <tr><th>GPU-hours / cost</th><td>{usage.gpu_hours.toFixed(4)} / {usage.cost_actual.toFixed(4)}</td></tr>
          <tr><th>CPU time</th><td>{r ? `${r.cpu_seconds.toFixed(1)} s` : "— (not running)"}</td></tr>
          <tr><th>Memory</th><td>{r ? `${(r.memory_bytes / 1048576).toFixed(1)} MiB in ${r.processes} process${r.processes === 1 ? "" : "es"}` : "—"}</td></tr>
          {(r?.gpus ?? []).map((g) => (
            <tr key={g.index}><th>GPU {g.index}</th><td>{g.utilization_percent}% · {g.memory_used_mib} / {g.memory_total_mib} MiB</td></tr>
          ))}
        </tbody>
      </table>
      {keys.length > 0 && <h3>Metrics</h3>}
      {keys.map((key, index) => (
        <MetricChart key={key} title={key} series={[{ label: key, color: palette[index % palette.length],
          points: usage.metrics[key].map((p) => ({ key, value: p.value, step: p.step, timestamp: 0 })) }]} />
      ))}
    </div>
  );
}
