import { FormEvent, useEffect, useState } from "react";
import { InferenceService } from "../api";
import { api, showError, showInfo, store, useStore } from "../store";
import { when } from "../components/Form";
import { navigate, to, useProjectOf, useRoute } from "../router";
import { errorText } from "./datasets/format";
import { LiveVersionCharts, useLiveMetrics } from "../components/LiveVersions";

/** Inference services of the selected project, and one service: its replicas, its traffic split between versions (the
 *  service and its canaries) with what the gateway saw of each, live charts of the request rate, errors and p99
 *  latency read every 2 s, and scale, stop and start. Addresses: #/inference, and #/inference/<service_id>. */
export function InferencePage() {
  const projectId = useStore((s) => s.projectId);
  const serviceId = useRoute().params.serviceId ?? null;
  const [services, setServices] = useState<InferenceService[]>([]);
  const [selected, setSelected] = useState<InferenceService | null>(null);
  const { metrics, history } = useLiveMetrics(serviceId);
  const [problem, setProblem] = useState<string | null>(null);
  const [replicas, setReplicas] = useState(1);

  function reload() {
    const projectId = store.snapshot().projectId;
    if (!projectId) return;
    api.inferenceServices(projectId).then((page) => setServices(page.items)).catch(showError);
  }
  useEffect(reload, [projectId]);
  useProjectOf(selected?.id === serviceId ? selected?.project_id : undefined, () => navigate(to("inference")));

  // The addressed service, read again every 2 s while shown (its metrics: useLiveMetrics).
  useEffect(() => {
    setSelected(null);
    setProblem(null);
    if (!serviceId) return;
    let stopped = false;
    async function poll(first: boolean) {
      try {
        const service = await api.inferenceService(serviceId!);
        if (stopped) return;
        setSelected(service);
        if (first) setReplicas(service.replicas);
      } catch (error) {
        if (!stopped && first) setProblem(errorText(error));
      }
    }
    poll(true);
    const timer = setInterval(() => poll(false), 2000);
    return () => { stopped = true; clearInterval(timer); };
  }, [serviceId]);

  async function act(action: "start" | "stop") {
    if (!selected) return;
    try {
      setSelected(action === "stop" ? await api.stopInference(selected.id) : await api.startInference(selected.id));
      showInfo(action === "stop" ? `Stopped ${selected.name}: out of the gateway now, replicas draining.` : `Starting ${selected.name}.`);
      reload();
    } catch (error) { showError(error); }
  }

  async function scale(event: FormEvent) {
    event.preventDefault();
    if (!selected) return;
    try {
      setSelected(await api.scaleInference(selected.id, replicas));
      showInfo(`${selected.name}: scaling to ${replicas} replica${replicas === 1 ? "" : "s"}.`);
      reload();
    } catch (error) { showError(error); }
  }

  if (!projectId) return <section><h1>Inference</h1><p className="muted">Create or choose a project first.</p></section>;
  const versions = metrics?.versions ?? [];
  return (
    <section>
      <h1>Inference services</h1>
      <p className="muted">Deploy with <code>aitip inference deploy</code> or <code>POST /api/v1/inference/services</code>; call a service at its endpoint with an API key holding <code>inference:invoke</code>.</p>
      <table className="table" aria-label="Inference services">
        <thead><tr><th>Name</th><th>Model</th><th>Status</th><th>Health</th><th>Replicas</th><th>Traffic</th><th>Created</th></tr></thead>
        <tbody>
          {services.map((s) => (
            <tr key={s.id} className={s.id === selected?.id ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => navigate(to("inferenceService", { serviceId: s.id }))}>{s.name}</button>
                {s.is_canary && <span className="muted"> canary</span>}</td>
              <td>{s.model_uri}</td>
              <td><span className={`status status-${s.status}`}>{s.status}</span></td>
              <td>{s.health_status}</td>
              <td>{s.replicas}{s.autoscaling ? ` (auto ${s.min_replicas}–${s.max_replicas})` : ""}</td>
              <td>{!s.is_canary ? "stable" : s.shadow ? `shadow: copies of ${s.traffic_percentage} %` : `${s.traffic_percentage} %`}</td>
              <td>{when(s.created_at)}</td>
            </tr>
          ))}
          {services.length === 0 && <tr><td colSpan={7} className="muted">No inference services yet.</td></tr>}
        </tbody>
      </table>

      {problem && <p className="form-failure" role="alert">Inference service <code>{serviceId}</code>: {problem}</p>}
      {selected && (
        <>
          <h2>{selected.name} <span className={`status status-${selected.status}`} aria-label="Service status">{selected.status}</span></h2>
          <p className="muted" aria-label="Service reason">{selected.status_reason} · {selected.health_status} · {selected.model_uri} · {selected.runtime}
            {" · endpoint "}<code>{selected.endpoint_url}</code></p>
          <div className="inline-form">
            {["stopped", "error"].includes(selected.status)
              ? <button type="button" onClick={() => act("start")}>Start</button>
              : <button type="button" onClick={() => act("stop")}>Stop</button>}
            <form className="inline-form" aria-label="Scale" onSubmit={scale}>
              <label>Replicas <input name="replicas" type="number" min={selected.min_replicas} max={selected.max_replicas} value={replicas}
                onChange={(e) => setReplicas(Number(e.target.value))} /></label>
              <button type="submit">Scale</button>
            </form>
          </div>

          <h3>Replicas</h3>
          <table className="table" aria-label="Replicas">
            <thead><tr><th>Replica</th><th>State</th><th>Ready</th><th>Why</th><th>Started</th></tr></thead>
            <tbody>
              {(selected.replica_list ?? []).map((r) => (
                <tr key={r.workload_id}><td><code>{r.workload_id}</code></td><td>{r.state}</td><td>{r.ready ? "ready" : "not ready"}</td>
                  <td>{r.reason}</td><td>{when(r.created_at)}</td></tr>
              ))}
              {(selected.replica_list ?? []).length === 0 && <tr><td colSpan={5} className="muted">No replica runs now.</td></tr>}
            </tbody>
          </table>

          <h3>Traffic split</h3>
          <table className="table" aria-label="Traffic split">
            <thead><tr><th>Version</th><th>Share</th><th>Requests</th><th>Errors</th><th>Req/s</th><th>p50</th><th>p95</th><th>p99</th></tr></thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.service_id}>
                  <td><button type="button" className="link" onClick={() => navigate(to("inferenceService", { serviceId: v.service_id }))}>{v.name}</button></td>
                  <td>{services.find((x) => x.id === v.service_id)?.shadow
                    ? `shadow (copies of ${services.find((x) => x.id === v.service_id)?.traffic_percentage} %)` : `${v.traffic_share} %`}</td>
                  <td>{v.requests}</td><td>{v.errors}</td><td>{v.requests_per_second.toFixed(1)}</td>
                  <td>{ms(v.latency_p50_ms)}</td><td>{ms(v.latency_p95_ms)}</td><td>{ms(v.latency_p99_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <LiveVersionCharts metrics={metrics} history={history} />
        </>
      )}
    </section>
  );
}

function ms(value: number | undefined): string { return value === undefined ? "—" : `${value} ms`; }
