import { MetricValue } from "../api";

/** A metric series as an SVG line (points already downsampled by the server). Non-finite values are skipped. */
export function LineChart({ points, label }: { points: MetricValue[]; label: string }) {
  const finite = points.filter((p): p is MetricValue & { value: number } => p.value !== null);
  if (finite.length === 0) return <p className="muted">No finite values.</p>;
  const width = 480, height = 160, pad = 28;
  const steps = finite.map((p) => p.step), values = finite.map((p) => p.value);
  const [minX, maxX] = [Math.min(...steps), Math.max(...steps)];
  const [minY, maxY] = [Math.min(...values), Math.max(...values)];
  const x = (step: number) => pad + ((step - minX) / (maxX - minX || 1)) * (width - 2 * pad);
  const y = (value: number) => height - pad - ((value - minY) / (maxY - minY || 1)) * (height - 2 * pad);
  const path = finite.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${finite.length} points from step ${minX} to ${maxX}`}>
      <path d={path} fill="none" stroke="var(--accent)" strokeWidth="1.5" />
      <text x={pad} y={14} className="chart-label">{label}</text>
      <text x={width - pad} y={14} textAnchor="end" className="chart-label">{`${minY.toPrecision(3)} … ${maxY.toPrecision(3)}`}</text>
      <text x={pad} y={height - 8} className="chart-label">{`step ${minX}`}</text>
      <text x={width - pad} y={height - 8} textAnchor="end" className="chart-label">{`step ${maxX}`}</text>
    </svg>
  );
}
