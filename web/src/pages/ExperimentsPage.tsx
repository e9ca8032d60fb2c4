import { FormEvent, useCallback, useEffect, useState } from "react";
import { Experiment, MetricSeries, Run } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";
import { LineChart } from "../components/LineChart";

function metricText(run: Run, key: string): string {
  const metric = run.metrics.find((m) => m.key === key);
  if (!metric) return "";
  return metric.nonfinite ?? (metric.value === null ? "" : Number(metric.value.toPrecision(6)).toString());
}

/** Experiments of the selected project; their runs, searchable with MLflow's filter grammar; one run's charts. */
export function ExperimentsPage() {
  const projectId = useStore((s) => s.projectId);
  const [experiments, setExperiments] = useState<Experiment[]>([]);
  const [experimentId, setExperimentId] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [hypothesis, setHypothesis] = useState("");
  const { errors, failure, busy, run } = useSubmit();

  const load = useCallback(() => {
    if (!projectId) return;
    api.experiments(projectId).then((page) => {
      setExperiments(page.items);
      setExperimentId((current) => (page.items.some((e) => e.id === current) ? current : page.items[0]?.id ?? null));
    }).catch(showError);
  }, [projectId]);
  useEffect(load, [load]);

  function create(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const experiment = await api.createExperiment(projectId!, name, hypothesis);
      setName("");
      setHypothesis("");
      showInfo(`Experiment “${experiment.name}” created.`);
      load();
      setExperimentId(experiment.id);
    });
  }

  if (!projectId) return <section><h1>Experiments</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Experiments</h1>
      <table className="table" aria-label="Experiments">
        <thead><tr><th>Name</th><th>Hypothesis</th><th>Created</th><th>Id (MLflow experiment id)</th></tr></thead>
        <tbody>
          {experiments.map((e) => (
            <tr key={e.id} className={e.id === experimentId ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => setExperimentId(e.id)}>{e.name}</button></td>
              <td>{e.hypothesis ?? ""}</td><td>{when(e.created_at)}</td><td><code>{e.id}</code></td>
            </tr>
          ))}
          {experiments.length === 0 && <tr><td colSpan={4} className="muted">No experiments yet. Log runs with the MLflow client (see docs/tracking.md) or create one here.</td></tr>}
        </tbody>
      </table>
      {experimentId && <Runs experimentId={experimentId} />}
      <form className="card" onSubmit={create} aria-label="New experiment">
        <h2>New experiment</h2>
        <Field label="Name" error={errors.name}><input name="experiment-name" required value={name} onChange={(e) => setName(e.target.value)} /></Field>
        <Field label="Hypothesis" error={errors.hypothesis}><input name="hypothesis" value={hypothesis} onChange={(e) => setHypothesis(e.target.value)} /></Field>
        <FormFailure text={failure} />
        <button type="submit" disabled={busy}>Create experiment</button>
      </form>
    </section>
  );
}

function Runs({ experimentId }: { experimentId: string }) {
  const [runs, setRuns] = useState<Run[]>([]);
  const [filter, setFilter] = useState("");
  const [orderBy, setOrderBy] = useState("");
  const [applied, setApplied] = useState({ filter: "", orderBy: "" });
  const [problem, setProblem] = useState<string | null>(null);
  const [selected, setSelected] = useState<Run | null>(null);

  useEffect(() => {
    setProblem(null);
    api.runs(experimentId, applied.filter, applied.orderBy).then((page) => {
      setRuns(page.items);
      setSelected((current) => page.items.find((r) => r.id === current?.id) ?? null);
    }).catch((error) => setProblem(error instanceof Error ? error.message : String(error)));
  }, [experimentId, applied]);

  const metricKeys = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.key)))].sort().slice(0, 6);
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort().slice(0, 4);
  return (
    <>
      <h2>Runs</h2>
      <form className="filters" role="search" onSubmit={(e) => { e.preventDefault(); setApplied({ filter: filter.trim(), orderBy: orderBy.trim() }); }}>
        <label>Filter <input name="filter" size={40} placeholder="metrics.acc > 0.9 AND params.lr = '0.01'" value={filter} onChange={(e) => setFilter(e.target.value)} /></label>
        <label>Order by <input name="order-by" placeholder="metrics.acc DESC" value={orderBy} onChange={(e) => setOrderBy(e.target.value)} /></label>
        <button type="submit">Search</button>
      </form>
      {problem && <p className="form-failure" role="alert">{problem}</p>}
      <table className="table" aria-label="Runs">
        <thead><tr><th>Run</th><th>Status</th><th>Started</th>{paramKeys.map((k) => <th key={`p-${k}`}>{k}</th>)}{metricKeys.map((k) => <th key={`m-${k}`}>{k}</th>)}</tr></thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} className={r.id === selected?.id ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => setSelected(r)}>{r.name}</button></td>
              <td>{r.status}</td><td>{when(new Date(r.start_time).toISOString())}</td>
              {paramKeys.map((k) => <td key={`p-${k}`}>{r.params[k] ?? ""}</td>)}
              {metricKeys.map((k) => <td key={`m-${k}`}>{metricText(r, k)}</td>)}
            </tr>
          ))}
          {runs.length === 0 && <tr><td colSpan={3 + paramKeys.length + metricKeys.length} className="muted">No runs match.</td></tr>}
        </tbody>
      </table>
      {selected && <RunDetail run={selected} />}
    </>
  );
}

function RunDetail({ run }: { run: Run }) {
  const [series, setSeries] = useState<MetricSeries[]>([]);
  useEffect(() => {
    Promise.all(run.metrics.slice(0, 8).map((m) => api.metricSeries(run.id, m.key, 300))).then(setSeries).catch(showError);
  }, [run]);
  return (
    <div className="card wide" aria-label={`Run ${run.name}`}>
      <h2>{run.name}</h2>
      <p className="muted"><code>{run.id}</code> · {run.status} · {run.user ?? ""}</p>
      <h3>Params</h3>
      <ul className="pairs">{Object.entries(run.params).map(([k, v]) => <li key={k}><code>{k}</code> {v}</li>)}</ul>
      <h3>Metrics</h3>
      <div className="charts">
        {series.map((s) => <LineChart key={s.key} label={`${s.key} (${s.total_points} points)`} points={s.points} />)}
      </div>
    </div>
  );
}
