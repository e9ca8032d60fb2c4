import { useEffect, useMemo, useRef, useState } from "react";
import { MetricSeries, Run } from "../../api";
import { api, showError } from "../../store";
import { Legend, MetricChart, palette, Series } from "../../components/Charts";
import { chartPoints, metricText, runLabels, useZoomedLines } from "./runs";

/** Metric keys to chart first: those most of the runs have, A→Z, four of them. */
function defaultKeys(runs: Run[]): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) for (const m of run.metrics) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 4).map(([key]) => key).sort();
}

/** Chosen runs side by side: a chart per chosen metric with a line per run, their params with the differing ones
 *  marked, and their latest metric values. */
export function RunCompare({ runs, onClose }: { runs: Run[]; onClose: () => void }) {
  const labels = useMemo(() => runLabels(runs), [runs]);
  const colors = useMemo(() => new Map(runs.map((r, i) => [r.id, palette[i % palette.length]])), [runs]);
  const allKeys = useMemo(() => [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.key)))].sort(), [runs]);
  const [keys, setKeys] = useState<string[]>(() => defaultKeys(runs));
  const [onlyDiffering, setOnlyDiffering] = useState(false);
  const [charts, setCharts] = useState<Record<string, { runs: string; ids: string[]; lines: Series[] }>>({});
  const cache = useRef(new Map<string, Promise<MetricSeries>>());
  const drawn = useRef(charts);
  drawn.current = charts;
  const runIds = runs.map((r) => r.id).join(",");
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => { heading.current?.focus(); }, []);
  useEffect(() => {
    let live = true;
    const fetchSeries = (run: Run, key: string) => {
      const id = `${run.id}\n${key}`;
      if (!cache.current.has(id)) cache.current.set(id, api.metricSeries(run.id, key, chartPoints));
      return cache.current.get(id)!;
    };
    for (const key of keys) {
      if (drawn.current[key]?.runs === runIds) continue;  // already drawn for these runs
      const having = runs.filter((r) => r.metrics.some((m) => m.key === key));
      Promise.all(having.map((r) => fetchSeries(r, key))).then((loaded) => {
        if (!live) return;
        const lines = loaded.map((s, i) => ({ label: labels.get(having[i].id)!, color: colors.get(having[i].id)!, points: s.points }));
        setCharts((before) => ({ ...before, [key]: { runs: runIds, ids: having.map((r) => r.id), lines } }));
      }).catch((error) => { cache.current.clear(); showError(error); });
    }
    return () => { live = false; };
  }, [runIds, keys, labels, colors]);

  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const differs = (key: string) => new Set(runs.map((r) => r.params[key] ?? "\u0000missing")).size > 1;
  const shownParams = onlyDiffering ? paramKeys.filter(differs) : paramKeys;
  const legend = runs.map((r) => ({ label: labels.get(r.id)!, color: colors.get(r.id)! }));

  return (
    <section className="card wide compare" aria-label="Run comparison">
      <div className="compare-head">
        <h2 ref={heading} tabIndex={-1}>Comparing {runs.length} runs</h2>
        <button type="button" className="secondary" onClick={onClose}>Close comparison</button>
      </div>
      <Legend entries={legend} label="Runs compared" />
      <fieldset className="metric-picker">
        <legend>Metrics to chart</legend>
        {allKeys.map((key) => (
          <label key={key}>
            <input type="checkbox" checked={keys.includes(key)}
              onChange={(e) => setKeys(e.target.checked ? [...keys, key].sort() : keys.filter((k) => k !== key))} /> {key}
          </label>
        ))}
        {allKeys.length === 0 && <span className="muted">These runs logged no metrics.</span>}
      </fieldset>
      <div className="charts">
        {keys.map((key) => charts[key]?.runs === runIds
          ? <ComparedChart key={key} metric={key} ids={charts[key].ids} lines={charts[key].lines} />
          : <p key={key} className="muted" role="status">Loading {key}…</p>)}
      </div>

      <h3>Params</h3>
      <label className="inline-check"><input type="checkbox" checked={onlyDiffering} onChange={(e) => setOnlyDiffering(e.target.checked)} /> Only params that differ</label>
      <table className="table compare-table" aria-label="Params compared">
        <thead><tr><th>Param</th>{runs.map((r) => <th key={r.id}><span className="swatch" style={{ background: colors.get(r.id) }} aria-hidden="true" />{labels.get(r.id)}</th>)}</tr></thead>
        <tbody>
          {shownParams.map((key) => {
            const different = differs(key);
            return (
              <tr key={key} className={different ? "differs" : undefined}>
                <th scope="row"><code>{key}</code>{different && <span className="differs-mark" title="The runs differ here"> ≠<span className="visually-hidden"> (differs)</span></span>}</th>
                {runs.map((r) => <td key={r.id}>{r.params[key] ?? <span className="muted">—</span>}</td>)}
              </tr>
            );
          })}
          {shownParams.length === 0 && <tr><td colSpan={runs.length + 1} className="muted">{onlyDiffering ? "All params are the same." : "No params logged."}</td></tr>}
        </tbody>
      </table>

      <h3>Latest metrics</h3>
      <table className="table compare-table" aria-label="Metrics compared">
        <thead><tr><th>Metric</th>{runs.map((r) => <th key={r.id}>{labels.get(r.id)}</th>)}</tr></thead>
        <tbody>
          {allKeys.map((key) => (
            <tr key={key}><th scope="row"><code>{key}</code></th>{runs.map((r) => <td key={r.id} className="metric">{metricText(r, key) || <span className="muted">—</span>}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One metric of the compared runs, zoomable: a zoomed range is read again for every run at full detail. */
function ComparedChart({ metric, ids, lines }: { metric: string; ids: string[]; lines: Series[] }) {
  const zoomed = useZoomedLines(lines, ids, metric);
  return <MetricChart title={metric} series={zoomed.lines} zoom={zoomed.zoom} />;
}
