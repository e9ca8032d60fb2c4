import { KeyboardEvent, useEffect, useState } from "react";
import { DatasetVersion, LineageDirection, LineageEdge, LineageGraph, LineageKind, LineageNode } from "../../api";
import { api } from "../../store";
import { when } from "../../components/Form";
import { errorText } from "./format";

const nodeWidth = 190, nodeHeight = 46, columnGap = 110, rowGap = 22, pad = 16;
const kindNames: Record<LineageKind, string> = {
  dataset_version: "dataset version", training_job: "training job", model_version: "model version", evaluation: "evaluation",
  simulation: "simulation", release: "release", inference_service: "inference service",
};

type Ref = { kind: LineageKind; id: string };
const keyOf = (ref: Ref) => `${ref.kind}:${ref.id}`;

interface Placed { node: LineageNode; column: number; row: number; x: number; y: number; root: boolean }
interface Layout { placed: Map<string, Placed>; width: number; height: number }

/** Columns by signed BFS distance from the roots (upstream negative, downstream positive); rows ordered by the
 *  mean row of each node's neighbours in the column nearer the middle, which keeps most edges from crossing. */
function layoutLineage(graph: LineageGraph): Layout {
  const column = new Map<string, number>();
  for (const root of graph.roots) column.set(keyOf(root), 0);
  for (const downstream of [true, false]) {
    let frontier = graph.roots.map(keyOf);
    while (frontier.length) {
      const here = new Set(frontier);
      const next: string[] = [];
      for (const edge of graph.edges) {
        const [from, to] = downstream ? [keyOf(edge.source), keyOf(edge.target)] : [keyOf(edge.target), keyOf(edge.source)];
        if (!here.has(from) || column.has(to)) continue;
        column.set(to, column.get(from)! + (downstream ? 1 : -1));
        next.push(to);
      }
      frontier = next;
    }
  }
  // Nodes reached some other way sit next to a placed neighbour; any left over go in the middle.
  for (let changed = true; changed;) {
    changed = false;
    for (const edge of graph.edges) {
      const [source, target] = [keyOf(edge.source), keyOf(edge.target)];
      if (column.has(source) && !column.has(target)) { column.set(target, column.get(source)! + 1); changed = true; }
      if (column.has(target) && !column.has(source)) { column.set(source, column.get(target)! - 1); changed = true; }
    }
  }
  const nodes = new Map(graph.nodes.map((n) => [keyOf(n), n]));
  for (const root of graph.roots) nodes.set(keyOf(root), root);
  for (const key of nodes.keys()) if (!column.has(key)) column.set(key, 0);

  const byColumn = new Map<number, string[]>();
  for (const [key, c] of column) if (nodes.has(key)) byColumn.set(c, [...(byColumn.get(c) ?? []), key]);
  const columns = [...byColumn.keys()].sort((a, b) => a - b);
  const minColumn = columns[0] ?? 0;
  const rowOf = new Map<string, number>();
  const neighbours = (key: string) => graph.edges.flatMap((e) => (keyOf(e.source) === key ? [keyOf(e.target)] : keyOf(e.target) === key ? [keyOf(e.source)] : []));
  const roots = new Set(graph.roots.map(keyOf));
  const order = [...columns].sort((a, b) => Math.abs(a) - Math.abs(b));
  for (const c of order) {
    const keys = byColumn.get(c)!;
    const weight = (key: string) => {
      const rows = neighbours(key).map((n) => rowOf.get(n)).filter((r): r is number => r !== undefined);
      return roots.has(key) ? -1 : rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Number.MAX_SAFE_INTEGER;
    };
    const weights = new Map(keys.map((k) => [k, weight(k)]));
    keys.sort((a, b) => weights.get(a)! - weights.get(b)! || nodes.get(a)!.label.localeCompare(nodes.get(b)!.label));
    keys.forEach((k, i) => rowOf.set(k, i));
  }
  const tallest = Math.max(1, ...[...byColumn.values()].map((keys) => keys.length));
  const placed = new Map<string, Placed>();
  for (const [c, keys] of byColumn) {
    const offset = ((tallest - keys.length) * (nodeHeight + rowGap)) / 2;
    keys.forEach((key, row) => placed.set(key, {
      node: nodes.get(key)!, column: c, row, root: roots.has(key),
      x: pad + (c - minColumn) * (nodeWidth + columnGap), y: pad + offset + row * (nodeHeight + rowGap),
    }));
  }
  return {
    placed,
    width: 2 * pad + columns.length * nodeWidth + Math.max(0, columns.length - 1) * columnGap,
    height: 2 * pad + tallest * nodeHeight + (tallest - 1) * rowGap,
  };
}

/** A cubic curve between two nodes and the point halfway along it (for the relation's label). */
function edgePath(from: Placed, to: Placed): { d: string; mid: [number, number] } {
  let p0: [number, number], p1: [number, number], p2: [number, number], p3: [number, number];
  if (to.x > from.x) {
    p0 = [from.x + nodeWidth, from.y + nodeHeight / 2];
    p3 = [to.x - 2, to.y + nodeHeight / 2];
    const bend = (p3[0] - p0[0]) / 2;
    p1 = [p0[0] + bend, p0[1]];
    p2 = [p3[0] - bend, p3[1]];
  } else {  // same column or backwards: loop out on the right
    p0 = [from.x + nodeWidth, from.y + nodeHeight / 2];
    p3 = [to.x + nodeWidth + 2, to.y + nodeHeight / 2];
    p1 = [p0[0] + 60, p0[1]];
    p2 = [p3[0] + 60, p3[1]];
  }
  const mid: [number, number] = [(p0[0] + 3 * p1[0] + 3 * p2[0] + p3[0]) / 8, (p0[1] + 3 * p1[1] + 3 * p2[1] + p3[1]) / 8];
  return { d: `M${p0.join(",")} C${p1.join(",")} ${p2.join(",")} ${p3.join(",")}`, mid };
}

function shorten(text: string, length: number) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

interface Props { datasetId: string; version: DatasetVersion; versionIds: string[]; onSelectVersion: (versionId: string) => void }

/** The lineage around one version: what it was made from (left), what was made from it (right). */
export function LineageView({ datasetId, version, versionIds, onSelectVersion }: Props) {
  const [direction, setDirection] = useState<LineageDirection>("both");
  const [depth, setDepth] = useState(3);
  const [graph, setGraph] = useState<LineageGraph | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    setProblem(null);
    api.datasetLineage(datasetId, version.version, direction, depth).then(setGraph).catch((error) => setProblem(errorText(error)));
  }, [datasetId, version.version, direction, depth]);

  return (
    <>
      <form className="filters" aria-label="Lineage options" onSubmit={(e) => e.preventDefault()}>
        <label>Direction <select name="lineage-direction" value={direction} onChange={(e) => setDirection(e.target.value as LineageDirection)}>
          <option value="both">upstream and downstream</option><option value="upstream">upstream: made from</option>
          <option value="downstream">downstream: depends on it</option>
        </select></label>
        <label>Depth <select name="lineage-depth" value={depth} onChange={(e) => setDepth(Number(e.target.value))}>
          {[1, 2, 3, 5, 10].map((d) => <option key={d} value={d}>{d}</option>)}
        </select></label>
      </form>
      {problem && <p className="form-failure" role="alert">{problem}</p>}
      {graph && <Graph graph={graph} versionIds={versionIds} onSelectVersion={onSelectVersion} />}
    </>
  );
}

function Graph({ graph, versionIds, onSelectVersion }: { graph: LineageGraph; versionIds: string[]; onSelectVersion: (id: string) => void }) {
  const { placed, width, height } = layoutLineage(graph);
  const label = (ref: Ref) => placed.get(keyOf(ref))?.node.label ?? ref.id.slice(0, 8);
  const selectable = (node: LineageNode) => node.kind === "dataset_version" && versionIds.includes(node.id);
  const keys = (node: LineageNode) => (event: KeyboardEvent) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onSelectVersion(node.id); }
  };
  return (
    <>
      <div className="lineage-scroll">
        <svg className="lineage" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="group"
          aria-label={`Lineage graph: ${placed.size} nodes, ${graph.edges.length} edges`}>
          <defs>
            <marker id="lineage-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" className="lineage-arrow" />
            </marker>
          </defs>
          {graph.edges.map((edge: LineageEdge) => {
            const from = placed.get(keyOf(edge.source)), to = placed.get(keyOf(edge.target));
            if (!from || !to) return null;
            const { d, mid } = edgePath(from, to);
            return (
              <g key={edge.id} className="lineage-edge">
                <title>{`${from.node.label} → ${edge.relation} → ${to.node.label}`}</title>
                <path d={d} markerEnd="url(#lineage-arrow)" />
                <text x={mid[0]} y={mid[1] - 5} textAnchor="middle">{edge.relation}</text>
              </g>
            );
          })}
          {[...placed.values()].map((p) => {
            const interactive = selectable(p.node) && !p.root;
            return (
              <g key={keyOf(p.node)} transform={`translate(${p.x},${p.y})`}
                className={`lineage-node kind-${p.node.kind}${p.root ? " root" : ""}${interactive ? " interactive" : ""}`}
                {...(interactive ? { tabIndex: 0, role: "button", "aria-label": `Show ${p.node.label}`, onClick: () => onSelectVersion(p.node.id), onKeyDown: keys(p.node) } : {})}>
                <title>{`${kindNames[p.node.kind] ?? p.node.kind}: ${p.node.label}`}</title>
                <rect width={nodeWidth} height={nodeHeight} rx={8} />
                <text x={10} y={17} className="lineage-kind">{kindNames[p.node.kind] ?? p.node.kind}{p.root ? " · selected" : ""}</text>
                <text x={10} y={35} className="lineage-label">{shorten(p.node.label, 24)}</text>
              </g>
            );
          })}
        </svg>
      </div>
      {graph.edges.length === 0 ? (
        <p className="muted">No recorded lineage in this direction. Versions pushed with derived_from, annotation exports and model
          versions trained on a version appear here.</p>
      ) : (
        <table className="table" aria-label="Lineage edges">
          <thead><tr><th>From</th><th>Relation</th><th>To</th><th>Recorded</th></tr></thead>
          <tbody>
            {graph.edges.map((e) => (
              <tr key={e.id}>
                <td>{label(e.source)} <span className="muted">({kindNames[e.source.kind] ?? e.source.kind})</span></td>
                <td>{e.relation}{e.transformation ? <> <code>{JSON.stringify(e.transformation)}</code></> : null}</td>
                <td>{label(e.target)} <span className="muted">({kindNames[e.target.kind] ?? e.target.kind})</span></td>
                <td>{when(e.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
