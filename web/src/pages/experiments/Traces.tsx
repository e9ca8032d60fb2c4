import { useEffect, useMemo, useState } from "react";
import { Trace, TraceDetail, TraceSpan } from "../../api";
import { api } from "../../store";
import { navigate, Route, to } from "../../router";
import { errorText } from "../datasets/format";
import { shortId } from "../../components/Form";

/** MLflow 3 traces of an experiment (what `@mlflow.trace` and `mlflow.start_span` recorded): a list searched by the
 *  server with MLflow's trace grammar, and one trace as a span tree on a timeline, with the chosen span's inputs,
 *  outputs, attributes and events. Addresses: …/traces?filter=, …/traces/<trace_id>?span=<span id>. */
export function Traces({ experimentId, route }: { experimentId: string; route: Route }) {
  const applied = route.query.filter ?? "";
  const [filter, setFilter] = useState(applied);
  useEffect(() => setFilter(applied), [applied]);
  const [page, setPage] = useState<{ key: string; traces?: Trace[]; more?: boolean; problem?: string } | null>(null);
  const key = `${experimentId}\n${applied}`;

  useEffect(() => {
    let live = true;
    api.traces(experimentId, applied)
      .then((found) => { if (live) setPage({ key, traces: found.items, more: !!found.next_cursor }); })
      .catch((error) => { if (live) setPage({ key, problem: errorText(error) }); });
    return () => { live = false; };
  }, [key]);

  const traceId = route.name === "trace" ? route.params.traceId : null;
  const current = page?.key === key ? page : null;  // never the previous search's rows under a new filter
  return (
    <>
      <form className="filters" role="search" aria-label="Search traces"
        onSubmit={(e) => { e.preventDefault(); navigate(to("traces", { experimentId }, { filter: filter.trim() })); }}>
        <label>Filter <input name="trace-filter" size={40} placeholder="status = 'ERROR' AND tags.team = 'search'" value={filter}
          onChange={(e) => setFilter(e.target.value)} /></label>
        <button type="submit">Search</button>
      </form>
      {current?.problem && <p className="form-failure" role="alert">{current.problem}</p>}
      {current?.traces && (
        <table className="table" aria-label="Traces">
          <thead><tr><th>Trace</th><th>Name</th><th>State</th><th>Started</th><th>Duration</th><th>Request</th><th>Run</th></tr></thead>
          <tbody>
            {current.traces.map((t) => (
              <tr key={t.trace_id} className={t.trace_id === traceId ? "selected" : undefined}>
                <td><button type="button" className="link" onClick={() => navigate(to("trace", { experimentId, traceId: t.trace_id }, { filter: applied }))}>
                  <code>{t.trace_id}</code></button></td>
                <td>{t.name ?? ""}</td>
                <td><span className={`status trace-${t.state.toLowerCase()}`}>{t.state}</span></td>
                <td>{new Date(t.request_time).toLocaleString()}</td>
                <td>{duration(t.execution_ms)}</td>
                <td className="preview">{t.request_preview ?? ""}</td>
                <td>{t.run_id ? <a href={`#/${to("run", { experimentId, runId: t.run_id })}`}><code title={t.run_id}>{shortId(t.run_id)}</code></a> : ""}</td>
              </tr>
            ))}
            {current.traces.length === 0 && <tr><td colSpan={7} className="muted">
              {applied ? "No trace matches this filter." : "No traces yet: decorate a function with @mlflow.trace (see docs/tracking.md)."}</td></tr>}
          </tbody>
        </table>
      )}
      {current?.more && <p className="muted">Showing the newest {current.traces?.length}; narrow the filter to see older ones.</p>}
      {traceId && <TraceView key={traceId} traceId={traceId} spanId={route.query.span ?? null}
        onSpan={(span) => navigate(to("trace", { experimentId, traceId }, { filter: applied, span }), { replace: true })} />}
    </>
  );
}

function TraceView({ traceId, spanId, onSpan }: { traceId: string; spanId: string | null; onSpan: (spanId: string) => void }) {
  const [loaded, setLoaded] = useState<{ trace?: TraceDetail; problem?: string } | null>(null);
  useEffect(() => {
    let live = true;
    api.trace(traceId).then((trace) => { if (live) setLoaded({ trace }); }).catch((error) => { if (live) setLoaded({ problem: errorText(error) }); });
    return () => { live = false; };
  }, [traceId]);
  const rows = useMemo(() => (loaded?.trace ? spanRows(loaded.trace.spans) : []), [loaded?.trace]);

  if (!loaded) return <p className="muted">Loading trace…</p>;
  if (loaded.problem || !loaded.trace) return <p className="form-failure" role="alert">Trace <code>{traceId}</code>: {loaded.problem}</p>;
  const trace = loaded.trace;
  // A loop, not Math.min(...spans): a trace of a hundred thousand spans would overflow the argument list.
  let start = Infinity, end = -Infinity;
  for (const { span } of rows) {
    start = Math.min(start, span.start_ns);
    end = Math.max(end, span.end_ns ?? span.start_ns);
  }
  const chosen = rows.find((r) => r.span.span_id === spanId)?.span ?? rows[0]?.span;
  return (
    <section className="card wide" aria-label={`Trace ${trace.trace_id}`}>
      <h3>{trace.name ?? "Trace"} <span className={`status trace-${trace.state.toLowerCase()}`}>{trace.state}</span></h3>
      <dl className="facts">
        <dt>Trace id</dt><dd><code>{trace.trace_id}</code></dd>
        <dt>Started</dt><dd>{new Date(trace.request_time).toLocaleString()}</dd>
        <dt>Duration</dt><dd>{duration(trace.execution_ms)}</dd>
        {Object.entries(trace.tags).filter(([k]) => !k.startsWith("mlflow.")).map(([k, v]) => <TagFact key={k} name={k} value={v} />)}
      </dl>
      {!trace.spans_available && <p className="muted">The client has not uploaded this trace's spans (it may still be sending them, or it failed).</p>}
      {rows.length > 0 && (
        <div className="trace-layout">
          <ol className="span-tree" aria-label="Spans">
            {rows.map(({ span, depth }) => {
              const left = end > start ? ((span.start_ns - start) / (end - start)) * 100 : 0;
              const width = end > start ? Math.max((((span.end_ns ?? span.start_ns) - span.start_ns) / (end - start)) * 100, 0.5) : 100;
              return (
                <li key={span.span_id}>
                  <button type="button" className={span === chosen ? "span-row selected" : "span-row"} aria-current={span === chosen}
                    style={{ paddingLeft: `${0.4 + depth * 1.1}rem` }} onClick={() => onSpan(span.span_id)}>
                    <span className="span-name">{span.name}</span>
                    <span className="muted">{spanType(span)}</span>
                    <span className="span-time">{duration(spanMs(span))}</span>
                    <span className="span-bar" aria-hidden="true">
                      <span className={span.status_code === "STATUS_CODE_ERROR" ? "error" : undefined} style={{ left: `${left}%`, width: `${width}%` }} />
                    </span>
                  </button>
                </li>
              );
            })}
          </ol>
          {chosen && <SpanDetail span={chosen} />}
        </div>
      )}
    </section>
  );
}

function TagFact({ name, value }: { name: string; value: string }) {
  return <><dt>{name}</dt><dd>{value}</dd></>;
}

function SpanDetail({ span }: { span: TraceSpan }) {
  const shown = Object.entries(span.attributes).filter(([k]) => !["mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.spanType", "mlflow.traceRequestId"].includes(k));
  return (
    <section className="span-detail" aria-label={`Span ${span.name}`}>
      <h4>{span.name}</h4>
      {span.status_code === "STATUS_CODE_ERROR" && <p className="form-failure">Failed{span.status_message ? `: ${span.status_message}` : ""}</p>}
      <h5>Inputs</h5>
      <pre className="log">{pretty(span.attributes["mlflow.spanInputs"])}</pre>
      <h5>Outputs</h5>
      <pre className="log">{pretty(span.attributes["mlflow.spanOutputs"])}</pre>
      {shown.length > 0 && <><h5>Attributes</h5><dl className="facts">{shown.map(([k, v]) => <TagFact key={k} name={k} value={v} />)}</dl></>}
      {span.events.length > 0 && <>
        <h5>Events</h5>
        <ul>{span.events.map((event, i) => <li key={i}><strong>{event.name}</strong> {Object.values(event.attributes).join(" · ")}</li>)}</ul>
      </>}
    </section>
  );
}

/** Spans in tree order (each after its parent, siblings by start time) with their depth. Iterative, so neither a wide
 *  nor a deep trace costs more than a sort: a span whose parent is missing is shown as a root. */
export function spanRows(spans: TraceSpan[]): { span: TraceSpan; depth: number }[] {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string, TraceSpan[]>();
  for (const span of spans) {
    const parent = span.parent_span_id && ids.has(span.parent_span_id) && span.parent_span_id !== span.span_id ? span.parent_span_id : "";
    const siblings = children.get(parent);
    if (siblings) siblings.push(span); else children.set(parent, [span]);
  }
  for (const siblings of children.values()) siblings.sort((a, b) => a.start_ns - b.start_ns);
  const rows: { span: TraceSpan; depth: number }[] = [];
  const stack = [...(children.get("") ?? [])].reverse().map((span) => ({ span, depth: 0 }));
  const placed = new Set<string>();
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (placed.has(next.span.span_id)) continue;  // a cycle in hostile parent ids ends here
    placed.add(next.span.span_id);
    rows.push(next);
    for (const child of [...(children.get(next.span.span_id) ?? [])].reverse()) stack.push({ span: child, depth: next.depth + 1 });
  }
  // Spans only reachable through a cycle of parent ids are still listed, at the top level.
  for (const span of spans) if (!placed.has(span.span_id)) rows.push({ span, depth: 0 });
  return rows;
}

function spanMs(span: TraceSpan): number {
  return span.end_ns === undefined ? 0 : (span.end_ns - span.start_ns) / 1e6;
}

/** The client writes attribute values as JSON text. */
function spanType(span: TraceSpan): string {
  const raw = span.attributes["mlflow.spanType"];
  try { return raw ? String(JSON.parse(raw)) : ""; } catch { return raw ?? ""; }
}

function pretty(raw: string | undefined): string {
  if (raw === undefined) return "—";
  try { return JSON.stringify(JSON.parse(raw), null, 2); } catch { return raw; }
}

function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}
