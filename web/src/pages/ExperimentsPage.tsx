import { FormEvent, useCallback, useEffect, useMemo, useState } from "react";
import { Experiment, Run } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";
import { Column, nextSort, useRunPages } from "./experiments/runs";
import { RunsTable } from "./experiments/RunsTable";
import { RunCompare } from "./experiments/RunCompare";
import { RunDetail } from "./experiments/RunDetail";

/** Experiments of the selected project; their runs (a windowed table, searched and sorted by the server), chosen
 *  runs compared, one run's charts and artifacts. */
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

/** Most columns the runs table shows, from the loaded runs' keys (the filter and order-by boxes reach the others). */
const shownParams = 4, shownMetrics = 6, comparedAtMost = 10;

function Runs({ experimentId }: { experimentId: string }) {
  const [filter, setFilter] = useState("");
  const [orderBy, setOrderBy] = useState("");
  const [applied, setApplied] = useState({ filter: "", orderBy: "" });
  const pages = useRunPages(experimentId, applied.filter, applied.orderBy);
  const [opened, setOpened] = useState<Run | null>(null);
  const [picked, setPicked] = useState<Map<string, Run>>(new Map());
  const [comparing, setComparing] = useState(false);
  const pickedRuns = useMemo(() => [...picked.values()], [picked]);

  useEffect(() => { setOpened(null); setPicked(new Map()); setComparing(false); }, [experimentId]);
  useEffect(() => { setOpened((current) => pages.runs.find((r) => r.id === current?.id) ?? current); }, [pages.runs]);

  const { metricKeys, paramKeys } = useMemo(() => {
    const metrics = new Set<string>(), params = new Set<string>();
    for (const run of pages.runs) {
      for (const m of run.metrics) metrics.add(m.key);
      for (const key in run.params) params.add(key);
    }
    return { metricKeys: [...metrics].sort().slice(0, shownMetrics), paramKeys: [...params].sort().slice(0, shownParams) };
  }, [pages.runs]);

  function sort(column: Column) {
    const text = nextSort(applied.orderBy, column);
    setOrderBy(text);
    setApplied({ ...applied, orderBy: text });
  }

  function pick(run: Run, chosen: boolean) {
    const next = new Map(picked);
    if (!chosen) next.delete(run.id);
    else if (next.size >= comparedAtMost) { showInfo(`Compare at most ${comparedAtMost} runs at a time.`); return; }
    else next.set(run.id, run);
    setPicked(next);
    if (next.size < 2) setComparing(false);
  }

  return (
    <>
      <h2>Runs</h2>
      <form className="filters" role="search" onSubmit={(e) => { e.preventDefault(); setApplied({ filter: filter.trim(), orderBy: orderBy.trim() }); }}>
        <label>Filter <input name="filter" size={40} placeholder="metrics.acc > 0.9 AND params.lr = '0.01'" value={filter} onChange={(e) => setFilter(e.target.value)} /></label>
        <label>Order by <input name="order-by" placeholder="metrics.acc DESC" value={orderBy} onChange={(e) => setOrderBy(e.target.value)} /></label>
        <button type="submit">Search</button>
      </form>
      {pages.problem && <p className="form-failure" role="alert">{pages.problem}</p>}
      <div className="runs-bar">
        <span className="muted" role="status" aria-label="Runs loaded">
          {pages.runs.length.toLocaleString()} run{pages.runs.length === 1 ? "" : "s"}{pages.hasMore ? " loaded, more as you scroll" : ""}
          {picked.size > 0 && ` · ${picked.size} chosen`}
        </span>
        <button type="button" disabled={picked.size < 2} onClick={() => setComparing(true)}>Compare {picked.size > 1 ? picked.size : ""} runs</button>
        {picked.size > 0 && <button type="button" className="secondary" onClick={() => { setPicked(new Map()); setComparing(false); }}>Clear choice</button>}
      </div>
      <RunsTable runs={pages.runs} hasMore={pages.hasMore} loading={pages.loading} paramKeys={paramKeys} metricKeys={metricKeys}
        orderBy={applied.orderBy} onSort={sort} picked={picked} onPick={pick} openId={opened?.id} onOpen={setOpened}
        onNearEnd={pages.loadMore} queryKey={`${experimentId}\n${applied.filter}\n${applied.orderBy}`} />
      {comparing && pickedRuns.length >= 2 && <RunCompare runs={pickedRuns} onClose={() => setComparing(false)} />}
      {opened && <RunDetail run={opened} />}
    </>
  );
}
