import { useEffect, useMemo, useRef, useState } from "react";
import { MetricSeries, Run, RunDatasetInput, RunModelVersionList } from "../../api";
import { api, showError } from "../../store";
import { MetricChart, palette } from "../../components/Charts";
import { Tabs } from "../../components/Tabs";
import { ArtifactBrowser } from "./ArtifactBrowser";
import { Link, to } from "../../router";
import { chartPoints, durationText, metricText, useZoomedLines } from "./runs";

export const runTabs = [
  { id: "metrics", label: "Params and metrics" },
  { id: "artifacts", label: "Artifacts" },
] as const;
export type RunTab = (typeof runTabs)[number]["id"];

/** One run: its params and a chart per metric (downsampled by the server), or its artifacts. The tab is part of the
 *  address (…/runs/<run_id>?tab=artifacts), so `onTab` navigates. */
export function RunDetail({ run, tab, onTab }: { run: Run; tab: RunTab; onTab: (tab: RunTab) => void }) {
  const [series, setSeries] = useState<MetricSeries[]>([]);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    setSeries([]);
    let live = true;
    Promise.all(run.metrics.slice(0, 8).map((m) => api.metricSeries(run.id, m.key, chartPoints)))
      .then((loaded) => { if (live) setSeries(loaded); }).catch(showError);
    return () => { live = false; };
  }, [run.id]);
  // Opened from the table or by its address, focus moves to the run (keyboard and screen-reader users land on it).
  useEffect(() => { heading.current?.focus(); }, [run.id]);
  const [registered, setRegistered] = useState<RunModelVersionList["items"] | null>(null);
  useEffect(() => {
    setRegistered(null);
    let live = true;
    // Without the registry's read permission there is nothing to list: the section is left out, not an error.
    api.runModelVersions(run.id).then((found) => { if (live) setRegistered(found.items); }).catch(() => {});
    return () => { live = false; };
  }, [run.id]);
  return (
    <div className="card wide" aria-label={`Run ${run.name}`}>
      <h2 ref={heading} tabIndex={-1}>{run.name}</h2>
      <p className="muted"><code>{run.id}</code> · {run.status} · {run.user ?? ""} · {durationText(run)}
        {run.tags["mlflow.source.name"] && <> · source <code>{run.tags["mlflow.source.name"]}</code></>}</p>
      <Tabs label="Run views" tabs={runTabs} active={tab} onSelect={onTab} idPrefix="run-">
        {tab === "metrics" ? (
          <>
            <h3>Params</h3>
            <ul className="pairs">{Object.entries(run.params).map(([k, v]) => <li key={k}><code>{k}</code> {v}</li>)}</ul>
            {Object.keys(run.params).length === 0 && <p className="muted">No params logged.</p>}
            <h3>Tags</h3>
            <ul className="pairs" aria-label="Tags">{userTags(run).map(([k, v]) => <li key={k}><code>{k}</code> {v}</li>)}</ul>
            {userTags(run).length === 0 && <p className="muted">No tags set.</p>}
            <RunInputsAndModels run={run} registered={registered} />
            <h3>Metrics</h3>
            <div className="charts">
              {series.map((s) => s.total_points === 1
                ? <MetricValue key={s.key} run={run} series={s} />
                : <SeriesChart key={s.key} run={run} series={s} />)}
              {run.metrics.length === 0 && <p className="muted">No metrics logged.</p>}
            </div>
          </>
        ) : (
          <ArtifactBrowser run={run} />
        )}
      </Tabs>
    </div>
  );
}

/** A chart's title says how many points are stored and how many were drawn. */
export function seriesTitle(key: string, total: number, drawn: number): string {
  return drawn < total ? `${key} (${total.toLocaleString()} points, ${drawn.toLocaleString()} drawn)` : `${key} (${total.toLocaleString()} points)`;
}

/** The run's own tags; MLflow's `mlflow.*` tags (run name, source, user) are shown where they belong, not here. */
function userTags(run: Run): [string, string][] {
  return Object.entries(run.tags).filter(([key]) => !key.startsWith("mlflow.")).sort(([a], [b]) => a.localeCompare(b));
}

/** A metric logged once (a test score, a final accuracy) is a number, not a one-point chart. */
function MetricValue({ run, series }: { run: Run; series: MetricSeries }) {
  const point = series.points[0];
  return (
    <figure className="metric-value" aria-label={`${series.key}: ${metricText(run, series.key)}`}>
      <figcaption>{series.key}</figcaption>
      <p className="value">{metricText(run, series.key)}</p>
      <p className="muted">{point ? `step ${point.step.toLocaleString()}` : ""}</p>
    </figure>
  );
}

function SeriesChart({ run, series }: { run: Run; series: MetricSeries }) {
  const base = useMemo(() => [{ label: run.name, color: palette[0], points: series.points }], [run.name, series]);
  const runIds = useMemo(() => [run.id], [run.id]);
  const { lines, zoom, total } = useZoomedLines(base, runIds, series.key);
  const title = seriesTitle(series.key, total ?? series.total_points, lines[0].points.length);
  return <MetricChart title={title} series={lines} zoom={zoom} />;
}

/** The datasets the run used (MLflow's `log_input`), the logged models it used or produced (MLflow 3) and the
 *  registered model versions made from it. */
function RunInputsAndModels({ run, registered }: { run: Run; registered: RunModelVersionList["items"] | null }) {
  return (
    <>
      <h3>Datasets</h3>
      {run.datasets.length === 0 ? <p className="muted">No dataset inputs logged.</p> : (
        <table className="table" aria-label="Dataset inputs">
          <thead><tr><th>Name</th><th>Context</th><th>Digest</th><th>Source</th><th>Rows</th></tr></thead>
          <tbody>
            {run.datasets.map((d, index) => (
              <tr key={`${d.name}-${d.digest}-${index}`}>
                <td>{d.name}</td><td>{d.context ?? ""}</td><td><code>{d.digest}</code></td>
                <td title={d.source}>{[d.source_type, sourceText(d)].filter(Boolean).join(": ")}</td>
                <td>{profileRows(d)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>Models</h3>
      {run.models.length === 0 ? <p className="muted">No logged models.</p> : (
        <ul className="pairs" aria-label="Logged models">
          {run.models.map((m, index) => (
            <li key={`${m.model_id}-${m.direction}-${index}`}>
              <code>{m.model_id}</code> {m.direction === "output" ? `produced${m.step !== undefined ? ` at step ${m.step}` : ""}` : "used"}
            </li>
          ))}
        </ul>
      )}
      {registered && registered.length > 0 && (
        <ul className="pairs" aria-label="Registered versions">
          {registered.map(({ model_name, project_id, version }) => (
            <li key={version.id}>
              registered as <Link to={to("modelVersion", { model: model_name, version: String(version.version) }, { project: project_id })}>
                {model_name} v{version.version}</Link>{version.aliases.length > 0 && ` (${version.aliases.join(", ")})`}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** MLflow records a dataset's source and profile as JSON text: where it came from and `num_rows` are what a person reads. */
function parsed(text: string | undefined): Record<string, unknown> {
  try { const value = JSON.parse(text ?? ""); return value && typeof value === "object" ? value : {}; } catch { return {}; }
}

function sourceText(d: RunDatasetInput): string {
  const source = parsed(d.source);
  const where = source["uri"] ?? source["url"];  // files and S3 name a uri, HTTP sources a url
  return typeof where === "string" ? where : "";
}

function profileRows(d: RunDatasetInput): string {
  const rows = parsed(d.profile)["num_rows"];
  return typeof rows === "number" ? rows.toLocaleString() : "";
}
