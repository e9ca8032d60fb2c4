import { FormEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Experiment, Run } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { navigate, Query, Route, to, useProjectOf, useRoute } from "../router";
import { Field, FormFailure, useSubmit, when } from "../components/Form";
import { Column, columnOf, combinedFilter, nextSort, useRunPages, useRunsById, useSeenKeys } from "./experiments/runs";
import { ColumnChooser } from "./experiments/ColumnChooser";
import { RunsTable } from "./experiments/RunsTable";
import { RunCompare } from "./experiments/RunCompare";
import { RunDetail, RunTab, runTabs } from "./experiments/RunDetail";
import { Traces } from "./experiments/Traces";
import { Tabs } from "../components/Tabs";
import { errorText } from "./datasets/format";

/** Experiments of the selected project; their runs (a windowed table, searched and sorted by the server), chosen
 *  runs compared, one run's charts and artifacts. Addresses: #/experiments (the first experiment's runs),
 *  #/experiments/<id>, …/runs/<run_id>?tab=artifacts, …/compare?runs=<id>,<id>; the runs table's filter and order
 *  are ?filter=&order= on each; #/experiments/<id>/traces[/<trace_id>] shows its traces (./experiments/Traces). An
 *  experiment of another project switches the project. */
export function ExperimentsPage() {
  const route = useRoute();
  const projectId = useStore((s) => s.projectId);
  const addressedId = route.params.experimentId ?? null;
  const [experiments, setExperiments] = useState<Experiment[]>([]);
  const [addressed, setAddressed] = useState<{ id: string; experiment?: Experiment; problem?: string } | null>(null);
  const [name, setName] = useState("");
  const [hypothesis, setHypothesis] = useState("");
  const { errors, failure, busy, run } = useSubmit();

  const load = useCallback(() => {
    if (!projectId) return;
    api.experiments(projectId).then((page) => setExperiments(page.items)).catch(showError);
  }, [projectId]);
  useEffect(load, [load]);

  // The addressed experiment is read by id: it may be another project's, or not exist.
  useEffect(() => {
    if (!addressedId) { setAddressed(null); return; }
    let live = true;
    api.experiment(addressedId).then((experiment) => { if (live) setAddressed({ id: addressedId, experiment }); })
      .catch((error) => { if (live) setAddressed({ id: addressedId, problem: errorText(error) }); });
    return () => { live = false; };
  }, [addressedId]);
  useProjectOf(addressed?.id === addressedId ? addressed?.experiment?.project_id : undefined, () => navigate(to("experiments")));

  function create(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const experiment = await api.createExperiment(projectId!, name, hypothesis);
      setName("");
      setHypothesis("");
      showInfo(`Experiment “${experiment.name}” created.`);
      load();
      navigate(to("experiment", { experimentId: experiment.id }));
    });
  }

  if (!projectId && !addressedId) return <section><h1>Experiments</h1><p className="muted">Create or choose a project first.</p></section>;
  const shownId = addressedId ?? experiments[0]?.id ?? null;
  const shown = experiments.find((e) => e.id === shownId) ?? (addressed?.id === shownId ? addressed?.experiment : undefined);
  const problem = addressed?.id === shownId ? addressed?.problem : undefined;
  const section = route.name === "traces" || route.name === "trace" ? "traces" : "runs";
  return (
    <section>
      <h1>Experiments</h1>
      <table className="table" aria-label="Experiments">
        <thead><tr><th>Name</th><th>Hypothesis</th><th>Created</th><th>Id (MLflow experiment id)</th></tr></thead>
        <tbody>
          {experiments.map((e) => (
            <tr key={e.id} className={e.id === shownId ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => navigate(to("experiment", { experimentId: e.id }))}>{e.name}</button></td>
              <td>{e.hypothesis ?? ""}</td><td>{when(e.created_at)}</td><td><code>{e.id}</code></td>
            </tr>
          ))}
          {experiments.length === 0 && <tr><td colSpan={4} className="muted">No experiments yet. Log runs with the MLflow client (see docs/tracking.md) or create one here.</td></tr>}
        </tbody>
      </table>
      {problem && <p className="form-failure" role="alert">Experiment <code>{shownId}</code>: {problem}</p>}
      {shownId && !problem && (
        <Tabs label="Experiment views" idPrefix="experiment-" tabs={experimentTabs} active={section}
          onSelect={(id) => navigate(id === "traces" ? to("traces", { experimentId: shownId }) : to("experiment", { experimentId: shownId }))}>
          {section === "traces"
            ? <Traces key={shownId} experimentId={shownId} route={route} />
            : <Runs key={shownId} experimentId={shownId} experimentName={shown?.name} route={route} />}
        </Tabs>
      )}
      {projectId && (
        <form className="card" onSubmit={create} aria-label="New experiment">
          <h2>New experiment</h2>
          <Field label="Name" error={errors.name}><input name="experiment-name" required value={name} onChange={(e) => setName(e.target.value)} /></Field>
          <Field label="Hypothesis" error={errors.hypothesis}><input name="hypothesis" value={hypothesis} onChange={(e) => setHypothesis(e.target.value)} /></Field>
          <FormFailure text={failure} />
          <button type="submit" disabled={busy}>Create experiment</button>
        </form>
      )}
    </section>
  );
}

const experimentTabs = [{ id: "runs", label: "Runs" }, { id: "traces", label: "Traces" }] as const;

/** Columns shown before any is chosen: the first params and metrics of the first runs loaded (the chooser adds others). */
const shownParams = 4, shownMetrics = 6, comparedAtMost = 10;
const statuses = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;

/** What is shown under the runs table: nothing, one run (and its tab), or runs compared. */
type View = { kind: "table" } | { kind: "run"; runId: string; tab?: RunTab } | { kind: "compare"; runIds: string[] };

function Runs({ experimentId, experimentName, route }: { experimentId: string; experimentName?: string; route: Route }) {
  const applied = {
    filter: route.query.filter ?? "", orderBy: route.query.order ?? "", status: route.query.status ?? "", after: route.query.after ?? "",
  };
  const [filter, setFilter] = useState(applied.filter);
  const [orderBy, setOrderBy] = useState(applied.orderBy);
  const [status, setStatus] = useState(applied.status);
  const [after, setAfter] = useState(applied.after);
  useEffect(() => setFilter(applied.filter), [applied.filter]);  // Back, Forward or another link changed it
  useEffect(() => setOrderBy(applied.orderBy), [applied.orderBy]);
  useEffect(() => setStatus(applied.status), [applied.status]);
  useEffect(() => setAfter(applied.after), [applied.after]);
  const searched = combinedFilter(applied.filter, applied.status, applied.after);
  const pages = useRunPages(experimentId, searched, applied.orderBy);
  const [picked, setPicked] = useState<Map<string, Run>>(new Map());
  const seen = useSeenKeys(pages.runs);
  const defaults = useRef<string[] | null>(null);
  if (defaults.current === null && pages.runs.length > 0) {
    defaults.current = [...seen.params.slice(0, shownParams).map((k) => `p:${k}`), ...seen.metrics.slice(0, shownMetrics).map((k) => `m:${k}`)];
  }
  const chosenIds = route.query.cols !== undefined ? route.query.cols.split(",").filter(Boolean) : defaults.current ?? [];
  const columns = chosenIds.map(columnOf).filter((c): c is Column => c !== undefined);
  const detail = useRef<HTMLDivElement>(null);

  const view: View = route.name === "run" ? { kind: "run", runId: route.params.runId, tab: runTabs.find((t) => t.id === route.query.tab)?.id }
    : route.name === "compare" ? { kind: "compare", runIds: (route.query.runs ?? "").split(",").filter(Boolean).slice(0, comparedAtMost) }
    : { kind: "table" };

  /** The address of `next` in this experiment, keeping the runs table's filter and order unless `query` changes them. */
  function address(next: View, query: Query = {}): string {
    const list = {
      filter: applied.filter, order: applied.orderBy, status: applied.status, after: applied.after, cols: route.query.cols, ...query,
    };
    if (next.kind === "run") return to("run", { experimentId, runId: next.runId }, { ...list, tab: next.tab === "metrics" ? undefined : next.tab });
    if (next.kind === "compare") return to("compare", { experimentId }, { ...list, runs: next.runIds.join(",") });
    return to("experiment", { experimentId }, list);
  }

  const openedIds = useMemo(() => (view.kind === "run" ? [view.runId] : []), [view.kind === "run" ? view.runId : ""]);
  const comparedKey = view.kind === "compare" ? view.runIds.join(",") : "";
  const comparedIds = useMemo(() => (comparedKey ? comparedKey.split(",") : []), [comparedKey]);
  const opened = useRunsById(openedIds, pages.runs);
  const compared = useRunsById(comparedIds, pages.runs);
  const openedRun = opened.runs?.[0] ?? null;

  // An address may name a run of another experiment: show it under its own.
  useEffect(() => {
    if (openedRun && openedRun.experiment_id !== experimentId) {
      navigate(to("run", { experimentId: openedRun.experiment_id, runId: openedRun.id }, { tab: route.query.tab }), { replace: true });
    }
  }, [openedRun?.id]);
  // The runs compared are the ones chosen: an address of a comparison ticks its runs.
  useEffect(() => { if (compared.runs) setPicked(new Map(compared.runs.map((r) => [r.id, r]))); }, [compared.runs]);

  // The run opened from the table comes into view (it is drawn below the table).
  useEffect(() => {
    if (view.kind === "run" && openedRun) detail.current?.scrollIntoView({ block: "start" });
  }, [openedRun?.id]);

  function sort(column: Column) {
    const text = nextSort(applied.orderBy, column);
    setOrderBy(text);
    navigate(address(view, { order: text }));
  }

  /** Ticking runs while they are compared changes the comparison (the address follows, without a history entry). */
  function choose(next: Map<string, Run>) {
    setPicked(next);
    if (view.kind !== "compare") return;
    navigate(address(next.size >= 2 ? { kind: "compare", runIds: [...next.keys()] } : { kind: "table" }), { replace: true });
  }

  function pick(run: Run, chosen: boolean) {
    const next = new Map(picked);
    if (!chosen) next.delete(run.id);
    else if (next.size >= comparedAtMost) { showInfo(`Compare at most ${comparedAtMost} runs at a time.`); return; }
    else next.set(run.id, run);
    choose(next);
  }

  return (
    <>
      <h2>Runs{experimentName ? ` of ${experimentName}` : ""}</h2>
      <form className="filters" role="search"
        onSubmit={(e) => { e.preventDefault(); navigate(address(view, { filter: filter.trim(), order: orderBy.trim(), status, after })); }}>
        <label>Filter <input name="filter" size={40} placeholder="metrics.acc > 0.9 AND params.lr = '0.01'" value={filter} onChange={(e) => setFilter(e.target.value)} /></label>
        <label>Order by <input name="order-by" placeholder="metrics.acc DESC" value={orderBy} onChange={(e) => setOrderBy(e.target.value)} /></label>
        <label>Status <select name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any</option>{statuses.map((s) => <option key={s} value={s}>{s.toLowerCase()}</option>)}
        </select></label>
        <label>Started after <input name="started-after" type="datetime-local" value={after} onChange={(e) => setAfter(e.target.value)} /></label>
        <button type="submit">Search</button>
      </form>
      {pages.problem && <p className="form-failure" role="alert">{pages.problem}</p>}
      <div className="runs-bar">
        <span className="muted" role="status" aria-label="Runs loaded">
          {pages.runs.length.toLocaleString()} run{pages.runs.length === 1 ? "" : "s"}{pages.hasMore ? " loaded, more as you scroll" : ""}
          {picked.size > 0 && ` · ${picked.size} chosen`}
        </span>
        <button type="button" disabled={picked.size < 2} onClick={() => navigate(address({ kind: "compare", runIds: [...picked.keys()] }))}>
          Compare {picked.size > 1 ? picked.size : ""} runs
        </button>
        {picked.size > 0 && <button type="button" className="secondary" onClick={() => choose(new Map())}>Clear choice</button>}
        <ColumnChooser seen={seen} chosen={chosenIds}
          onChange={(ids) => navigate(address(view, { cols: ids.length ? ids.join(",") : "," }), { replace: true })} />
      </div>
      {!pages.problem && <RunsTable runs={pages.runs} hasMore={pages.hasMore} loading={pages.loading} columns={columns}
        orderBy={applied.orderBy} onSort={sort} picked={picked} onPick={pick} openId={openedRun?.id}
        onOpen={(run) => navigate(address({ kind: "run", runId: run.id }))}
        onNearEnd={pages.loadMore} queryKey={`${experimentId}\n${searched}\n${applied.orderBy}`} />}
      {view.kind === "compare" && view.runIds.length < 2 && <p className="muted">Choose at least two runs to compare.</p>}
      {view.kind === "compare" && compared.problem && <p className="form-failure" role="alert">Runs compared: {compared.problem}</p>}
      {view.kind === "compare" && compared.runs && compared.runs.length >= 2 &&
        <RunCompare runs={compared.runs} onClose={() => navigate(address({ kind: "table" }))} />}
      {view.kind === "run" && opened.problem && <p className="form-failure" role="alert">Run <code>{view.runId}</code>: {opened.problem}</p>}
      {view.kind === "run" && openedRun && <div ref={detail} className="run-detail-anchor">
        <RunDetail run={openedRun} tab={view.tab ?? "metrics"} onTab={(tab) => navigate(address({ kind: "run", runId: openedRun.id, tab }))} />
      </div>}
    </>
  );
}
