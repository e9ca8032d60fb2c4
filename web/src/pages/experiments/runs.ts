// Helpers shared by the runs table, a run's detail and the comparison view.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Run } from "../../api";
import { Series, StepRange } from "../../components/Charts";
import { api, showError } from "../../store";

/** Points asked for per chart line: the server downsamples longer series with LTTB, so a 1,000,000-point metric
 *  arrives as this many points and Chart.js never sees more. */
export const chartPoints = 500;
/** A chart's lines, and its zoom: zoomed, each run's points in the step range are read again (up to `chartPoints`,
 *  so a range narrower than that is drawn at full detail); reset, the lines loaded first. `runIds[i]` is `base[i]`'s. */
export function useZoomedLines(base: Series[], runIds: string[], key: string) {
  const [range, setRange] = useState<StepRange | null>(null);
  const [zoomed, setZoomed] = useState<{ range: StepRange; lines: Series[]; total: number } | null>(null);
  const ids = runIds.join(",");
  useEffect(() => {
    if (!range) { setZoomed(null); return; }
    let live = true;
    Promise.all(runIds.map((id) => api.metricSeries(id, key, chartPoints, range))).then((loaded) => {
      if (live) setZoomed({ range, lines: base.map((line, i) => ({ ...line, points: loaded[i].points })), total: loaded.reduce((sum, s) => sum + s.total_points, 0) });
    }).catch(showError);
    return () => { live = false; };
  }, [range?.min, range?.max, key, ids, base]);
  const current = range && zoomed && zoomed.range === range ? zoomed : null;
  return { lines: current?.lines ?? base, zoom: { range: current ? range : null, onZoom: setRange }, total: current?.total ?? null };
}

/** Runs asked for per page while scrolling through an experiment. */
export const pageSize = 200;

export function metricText(run: Run, key: string): string {
  const metric = run.metrics.find((m) => m.key === key);
  if (!metric) return "";
  return metric.nonfinite ?? (metric.value == null ? "" : Number(metric.value.toPrecision(6)).toString());
}

/** How long a run ran ("ran 1 min 20 s"), or has been running. */
export function durationText(run: Run, now: number = Date.now()): string {
  const end = run.end_time ?? (run.status === "RUNNING" ? now : undefined);
  if (end === undefined) return `started ${new Date(run.start_time).toLocaleString()}`;
  const seconds = Math.max(0, Math.round((end - run.start_time) / 1000));
  const parts = seconds >= 3600 ? [`${Math.floor(seconds / 3600)} h`, `${Math.floor((seconds % 3600) / 60)} min`]
    : seconds >= 60 ? [`${Math.floor(seconds / 60)} min`, `${seconds % 60} s`] : [`${seconds} s`];
  return `${run.end_time === undefined ? "running for" : "ran"} ${parts.join(" ")}`;
}

/** A run's name for legends: its name, with the id's start when another chosen run has the same name. */
export function runLabels(runs: Run[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.name, (counts.get(run.name) ?? 0) + 1);
  return new Map(runs.map((r) => [r.id, (counts.get(r.name) ?? 0) > 1 ? `${r.name} (${r.id.slice(-6)})` : r.name]));
}

/** A column of the runs table: its `order_by` name in MLflow's grammar (keys quoted with backticks) when the server can
 *  sort by it, and its text for a run. `id` is what the address's `cols` lists: `a:<name>`, `p:<key>`, `m:<key>`, `t:<key>`. */
export interface Column {
  id: string;
  label: string;
  orderBy?: string;
  kind: "attribute" | "param" | "metric" | "tag";
  text: (run: Run) => string;
}

/** Always shown, first. */
export const attributeColumns: Column[] = [
  { id: "name", label: "Run", orderBy: "attributes.run_name", kind: "attribute", text: (r) => r.name },
  { id: "status", label: "Status", orderBy: "attributes.status", kind: "attribute", text: (r) => r.status },
  { id: "start", label: "Started", orderBy: "attributes.start_time", kind: "attribute", text: (r) => new Date(r.start_time).toLocaleString() },
];

/** Attributes the column chooser offers besides params, metrics and tags. */
export const optionalColumns: Column[] = [
  { id: "a:duration", label: "Duration", kind: "attribute", text: (r) => (r.end_time === undefined ? "" : durationText(r).replace(/^ran /, "")) },
  { id: "a:user", label: "User", orderBy: "attributes.user_id", kind: "attribute", text: (r) => r.user ?? "" },
  { id: "a:source", label: "Source", orderBy: "tags.`mlflow.source.name`", kind: "attribute", text: (r) => r.tags["mlflow.source.name"] ?? "" },
  {
    id: "a:models", label: "Models", kind: "attribute",
    text: (r) => r.models.map((m) => `${m.model_id}${m.direction === "output" ? " (out)" : ""}`).join(", "),
  },
];

export function paramColumn(key: string): Column {
  return { id: `p:${key}`, label: key, orderBy: `params.\`${key}\``, kind: "param", text: (r) => r.params[key] ?? "" };
}

export function metricColumn(key: string): Column {
  return { id: `m:${key}`, label: key, orderBy: `metrics.\`${key}\``, kind: "metric", text: (r) => metricText(r, key) };
}

export function tagColumn(key: string): Column {
  return { id: `t:${key}`, label: key, orderBy: `tags.\`${key}\``, kind: "tag", text: (r) => r.tags[key] ?? "" };
}

/** The column an address's `cols` entry names, or undefined for one this console does not know. */
export function columnOf(id: string): Column | undefined {
  const key = id.slice(2);
  if (id.startsWith("a:")) return optionalColumns.find((c) => c.id === id);
  if (!key) return undefined;
  if (id.startsWith("p:")) return paramColumn(key);
  if (id.startsWith("m:")) return metricColumn(key);
  if (id.startsWith("t:")) return tagColumn(key);
  return undefined;
}

/** The keys seen in an experiment's loaded runs. They only grow while the experiment is shown, so a filter that hides
 *  runs does not take their columns away. */
export interface SeenKeys { params: string[]; metrics: string[]; tags: string[] }

export function useSeenKeys(runs: Run[]): SeenKeys {
  const seen = useRef({ params: new Set<string>(), metrics: new Set<string>(), tags: new Set<string>() });
  return useMemo(() => {
    const { params, metrics, tags } = seen.current;
    for (const run of runs) {
      for (const key in run.params) params.add(key);
      for (const m of run.metrics) metrics.add(m.key);
      for (const key in run.tags) if (!key.startsWith("mlflow.")) tags.add(key);
    }
    return { params: [...params].sort(), metrics: [...metrics].sort(), tags: [...tags].sort() };
  }, [runs]);
}

/** A run's filter with the table's status and start-time choices added (MLflow's grammar joins them with AND). */
export function combinedFilter(filter: string, status: string, startedAfter: string): string {
  const parts = [filter.trim()];
  if (status) parts.push(`attributes.status = '${status}'`);
  const after = startedAfter ? new Date(startedAfter).getTime() : NaN;
  if (!Number.isNaN(after)) parts.push(`attributes.start_time >= ${after}`);
  return parts.filter(Boolean).join(" AND ");
}

function normalized(name: string): string {
  return name.replace(/`/g, "").replace(/^attributes\./i, "").replace(/^(run_name|name)$/i, "run_name")
    .replace(/^(start_time|created)$/i, "start_time").toLowerCase();
}

/** How an applied `order_by` text sorts `column`: "ascending", "descending" or "none" (for aria-sort). */
export function sortOf(orderBy: string, column: Column): "ascending" | "descending" | "none" {
  if (!column.orderBy) return "none";
  const match = /^(.*?)(?:\s+(ASC|DESC))?$/i.exec(orderBy.trim());
  if (!match || !match[1] || normalized(match[1]) !== normalized(column.orderBy)) return "none";
  return match[2]?.toUpperCase() === "DESC" ? "descending" : "ascending";
}

/** The next `order_by` after clicking a column's header: metrics start highest first, the rest A→Z; a second click flips. */
export function nextSort(orderBy: string, column: Column): string {
  const now = sortOf(orderBy, column);
  const descending = now === "none" ? column.kind === "metric" || column.id === "start" : now === "ascending";
  return `${column.orderBy ?? ""} ${descending ? "DESC" : "ASC"}`;
}

export interface RunPages { runs: Run[]; hasMore: boolean; loading: boolean; problem: string | null; loadMore: () => void }

/** An experiment's runs as the server filters and orders them, a page at a time: the first page on a new query,
 *  the next ones when `loadMore` is called (the table calls it when scrolled near the end). A new query keeps the
 *  old rows on screen until its first page arrives (and drops them if it fails); answers to superseded queries are
 *  dropped. */
export function useRunPages(experimentId: string, filter: string, orderBy: string): RunPages {
  const [runs, setRuns] = useState<Run[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<string | null>(null);
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    setProblem(null);
    api.runs(experimentId, filter, orderBy, undefined, pageSize).then((page) => {
      if (mine !== generation.current) return;
      setRuns(page.items);
      setNext(page.next_cursor);
    }).catch((error) => {
      if (mine !== generation.current) return;
      // The old rows answered another query: showing them under this one's error would mislead.
      setRuns([]);
      setNext(undefined);
      setProblem(error instanceof Error ? error.message : String(error));
    }).finally(() => { if (mine === generation.current) setLoading(false); });
  }, [experimentId, filter, orderBy]);

  const loadMore = useCallback(() => {
    if (loading || !next) return;
    const mine = generation.current;
    setLoading(true);
    api.runs(experimentId, filter, orderBy, next, pageSize).then((page) => {
      if (mine !== generation.current) return;
      setRuns((before) => [...before, ...page.items]);
      setNext(page.next_cursor);
    }).catch((error) => {
      if (mine === generation.current) setProblem(error instanceof Error ? error.message : String(error));
    }).finally(() => { if (mine === generation.current) setLoading(false); });
  }, [experimentId, filter, orderBy, next, loading]);

  return { runs, hasMore: next !== undefined, loading, problem, loadMore };
}

/** Runs named by an address (a run opened, runs compared), in the order given: taken from the loaded table where they
 *  are there, otherwise read by id (a link may name a run beyond the loaded pages, or one the filter hides).
 *  `runs` is null until every one is known (and when none is asked for); `problem` says why one could not be read. */
export function useRunsById(ids: string[], loaded: Run[]): { runs: Run[] | null; problem: string | null } {
  const [fetched, setFetched] = useState<Map<string, Run>>(new Map());
  const [problem, setProblem] = useState<string | null>(null);
  const missing = ids.filter((id) => !fetched.has(id) && !loaded.some((r) => r.id === id)).join(",");

  useEffect(() => {
    setProblem(null);
    if (!missing) return;
    let live = true;
    Promise.all(missing.split(",").map((id) => api.run(id)))
      .then((runs) => { if (live) setFetched((before) => new Map([...before, ...runs.map((r): [string, Run] => [r.id, r])])); })
      .catch((error) => { if (live) setProblem(error instanceof Error ? error.message : String(error)); });
    return () => { live = false; };
  }, [missing]);

  const runs = useMemo(() => {
    if (ids.length === 0) return null;
    const found = ids.map((id) => loaded.find((r) => r.id === id) ?? fetched.get(id));
    return found.every((r): r is Run => r !== undefined) ? found : null;
  }, [ids, loaded, fetched]);
  return { runs, problem };
}
