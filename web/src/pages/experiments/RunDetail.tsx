import { useEffect, useMemo, useState } from "react";
import { MetricSeries, Run } from "../../api";
import { api, showError } from "../../store";
import { MetricChart, palette } from "../../components/Charts";
import { ArtifactBrowser } from "./ArtifactBrowser";
import { chartPoints } from "./runs";

/** One run: its params, a chart per metric (downsampled by the server) and its artifacts. */
export function RunDetail({ run }: { run: Run }) {
  const [series, setSeries] = useState<MetricSeries[]>([]);
  useEffect(() => {
    setSeries([]);
    let live = true;
    Promise.all(run.metrics.slice(0, 8).map((m) => api.metricSeries(run.id, m.key, chartPoints)))
      .then((loaded) => { if (live) setSeries(loaded); }).catch(showError);
    return () => { live = false; };
  }, [run.id]);
  return (
    <div className="card wide" aria-label={`Run ${run.name}`}>
      <h2>{run.name}</h2>
      <p className="muted"><code>{run.id}</code> · {run.status} · {run.user ?? ""}</p>
      <h3>Params</h3>
      <ul className="pairs">{Object.entries(run.params).map(([k, v]) => <li key={k}><code>{k}</code> {v}</li>)}</ul>
      <h3>Metrics</h3>
      <div className="charts">
        {series.map((s) => <SeriesChart key={s.key} run={run} series={s} />)}
        {run.metrics.length === 0 && <p className="muted">No metrics logged.</p>}
      </div>
      <h3>Artifacts</h3>
      <ArtifactBrowser run={run} />
    </div>
  );
}

/** A chart's title says how many points are stored and how many were drawn. */
export function seriesTitle(key: string, total: number, drawn: number): string {
  return drawn < total ? `${key} (${total.toLocaleString()} points, ${drawn.toLocaleString()} drawn)` : `${key} (${total.toLocaleString()} points)`;
}

function SeriesChart({ run, series }: { run: Run; series: MetricSeries }) {
  const lines = useMemo(() => [{ label: run.name, color: palette[0], points: series.points }], [run.name, series]);
  return <MetricChart title={seriesTitle(series.key, series.total_points, series.points.length)} series={lines} />;
}
