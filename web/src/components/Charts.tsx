// Chart.js (Debian's node-chart.js) wrapped for the console: a metric chart (one line per run, x = step) and a
// bar chart. Series arrive downsampled by the server, so Chart.js never sees more than a few hundred points per line;
// animation and parsing are off so a chart draws in one pass. Legends are HTML (readable by screen readers and tests).
// A metric chart zooms by dragging across it (the caller reads that step range again at full detail) and resets by
// double-click or its Reset button.
import { useEffect, useRef, useState } from "react";
import { BarController, BarElement, CategoryScale, Chart, LinearScale, LineController, LineElement, PointElement, Tooltip } from "chart.js";
import { MetricValue } from "../api";
import { useStore } from "../store";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, BarController, BarElement, Tooltip);

/** Distinct line colours, readable on both themes. */
export const palette = ["#2f6fed", "#e4572e", "#17a34a", "#a855f7", "#d97706", "#0891b2", "#db2777", "#65a30d", "#7c3aed", "#64748b"];

export interface Series { label: string; color: string; points: MetricValue[] }
export interface StepRange { min: number; max: number }
export interface Zoom { range: StepRange | null; onZoom: (range: StepRange | null) => void }
interface XY { x: number; y: number }

function themeColors() {
  const css = getComputedStyle(document.documentElement);
  return { text: css.getPropertyValue("--muted").trim() || "#666", grid: css.getPropertyValue("--line").trim() || "#ddd" };
}

function number(value: number): string {
  return Number(value.toPrecision(6)).toLocaleString(undefined, { maximumFractionDigits: 6 });
}

/** The point of `data` (sorted by x) nearest to `x`. */
function nearest(data: XY[], x: number): XY | undefined {
  let low = 0, high = data.length - 1;
  if (high < 0) return undefined;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (data[middle].x < x) low = middle + 1; else high = middle;
  }
  return low > 0 && Math.abs(data[low - 1].x - x) <= Math.abs(data[low].x - x) ? data[low - 1] : data[low];
}

/** Marks the figure once Chart.js has drawn, so tests and the benchmark can tell a drawn chart from an empty canvas. */
const drawnMarker = {
  id: "drawnMarker",
  afterRender(chart: Chart) {
    const figure = chart.canvas.closest("figure");
    if (figure) figure.dataset.drawn = String(chart.data.datasets.reduce((sum, d) => sum + d.data.length, 0));
  },
};

/** A metric over steps, one line per series; hovering shows each series' nearest value under the chart. With
 *  `zoom`, a drag across the chart selects a step range and a double-click resets it. */
export function MetricChart({ title, series, zoom }: { title: string; series: Series[]; zoom?: Zoom }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const theme = useStore((s) => s.theme);
  const [readout, setReadout] = useState("");
  const data = useRef<XY[][]>([]);
  const drawn = useRef<Chart | null>(null);
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const range = zoom?.range ?? null;

  useEffect(() => {
    data.current = series.map((s) => s.points.filter((p): p is MetricValue & { value: number } => p.value !== null).map((p) => ({ x: p.step, y: p.value })));
    const colors = themeColors();
    const chart = new Chart(canvas.current!, {
      type: "line",
      data: {
        datasets: series.map((s, i) => ({ label: s.label, data: data.current[i], borderColor: s.color, backgroundColor: s.color,
                                          borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 3 })),
      },
      options: {
        animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: range?.min, max: range?.max, ticks: { color: colors.text, maxTicksLimit: 6 }, grid: { color: colors.grid },
               title: { display: true, text: "step", color: colors.text } },
          y: { type: "linear", ticks: { color: colors.text, maxTicksLimit: 6 }, grid: { color: colors.grid } },
        },
        plugins: { tooltip: { enabled: true, callbacks: { title: (items) => (items[0] ? `step ${items[0].parsed.x.toLocaleString()}` : "") } } },
        onHover: (event, _elements, hovered) => {
          if (event.x === null) return;
          const step = hovered.scales.x.getValueForPixel(event.x);
          if (step === undefined) return;
          const values = series.map((s, i) => ({ label: s.label, point: nearest(data.current[i], step) }))
            .filter((v): v is { label: string; point: XY } => v.point !== undefined);
          if (values.length === 0) return;
          // Downsampled lines keep different steps: a run's own step is shown where it is not the first one's.
          const at = values[0].point.x;
          setReadout(`step ${at.toLocaleString()}: ${values.map((v) => `${v.label} ${number(v.point.y)}${v.point.x === at ? "" : ` (step ${v.point.x.toLocaleString()})`}`).join(", ")}`);
        },
      },
      plugins: [drawnMarker],
    });
    drawn.current = chart;
    return () => { chart.destroy(); drawn.current = null; };
  }, [series, theme, range?.min, range?.max]);

  /** The drag's ends as steps; a drag shorter than a few pixels is a click, not a zoom. */
  function finishDrag() {
    const scale = drawn.current?.scales.x;
    setDrag(null);
    if (!zoom || !drag || !scale || Math.abs(drag.to - drag.from) < 6) return;
    const [left, right] = [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)].map((x) => scale.getValueForPixel(x) ?? 0);
    if (Math.ceil(right) > Math.floor(left)) zoom.onZoom({ min: Math.max(0, Math.floor(left)), max: Math.ceil(right) });
  }

  const shown = series.reduce((sum, s) => sum + s.points.length, 0);
  return (
    <figure className="metric-chart" data-zoomed={range ? `${range.min}-${range.max}` : undefined}>
      <figcaption>
        {title}
        {range && <> · steps {range.min.toLocaleString()}–{range.max.toLocaleString()}{" "}
          <button type="button" className="link" onClick={() => zoom?.onZoom(null)}>Reset zoom</button></>}
      </figcaption>
      <div className="chart-box"
        onPointerDown={zoom ? (e) => {
          if (e.button !== 0) return;
          e.currentTarget.setPointerCapture(e.pointerId);
          setDrag({ from: e.nativeEvent.offsetX, to: e.nativeEvent.offsetX });
        } : undefined}
        onPointerMove={zoom ? (e) => { if (drag) setDrag({ ...drag, to: e.nativeEvent.offsetX }); } : undefined}
        onPointerUp={zoom ? finishDrag : undefined}
        onDoubleClick={zoom ? () => zoom.onZoom(null) : undefined}>
        <canvas ref={canvas} role="img" aria-label={`${title}: ${series.map((s) => s.label).join(", ")}; ${shown.toLocaleString()} points drawn`} />
        {drag && <div className="zoom-selection" style={{ left: Math.min(drag.from, drag.to), width: Math.abs(drag.to - drag.from) }} />}
      </div>
      <p className="chart-readout muted" aria-live="polite">{readout || "Point at the chart to read values."}</p>
    </figure>
  );
}

export interface Bars { label: string; color: string; values: number[]; axis?: "y" | "y1" }

/** Grouped bars over categories; a second value axis on the right when a dataset asks for `y1`. */
export function BarChart({ title, labels, bars }: { title: string; labels: string[]; bars: Bars[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const theme = useStore((s) => s.theme);
  useEffect(() => {
    const colors = themeColors();
    const axis = (position: "left" | "right", text: string, grid: boolean) => ({
      type: "linear" as const, position, beginAtZero: true, ticks: { color: colors.text }, title: { display: true, text, color: colors.text },
      grid: { color: colors.grid, drawOnChartArea: grid },
    });
    const right = bars.find((b) => b.axis === "y1");
    const chart = new Chart(canvas.current!, {
      type: "bar",
      data: { labels, datasets: bars.map((b) => ({ label: b.label, data: b.values, backgroundColor: b.color, yAxisID: b.axis ?? "y" })) },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {
          x: { ticks: { color: colors.text }, grid: { display: false } },
          y: axis("left", bars.find((b) => (b.axis ?? "y") === "y")?.label ?? "", true),
          ...(right ? { y1: axis("right", right.label, false) } : {}),
        },
        plugins: { tooltip: { enabled: true } },
      },
      plugins: [drawnMarker],
    });
    return () => chart.destroy();
  }, [labels, bars, theme]);
  return (
    <figure className="bar-chart">
      <figcaption>{title}</figcaption>
      <Legend entries={bars} />
      <div className="chart-box tall">
        <canvas ref={canvas} role="img" aria-label={`${title}: ${bars.map((b) => b.label).join(" and ")} for ${labels.length} groups (the table below has the numbers)`} />
      </div>
    </figure>
  );
}

/** Colour swatches with names, as HTML. */
export function Legend({ entries, label = "Legend" }: { entries: { label: string; color: string }[]; label?: string }) {
  return (
    <ul className="legend" aria-label={label}>
      {entries.map((e) => <li key={e.label}><span className="swatch" style={{ background: e.color }} aria-hidden="true" />{e.label}</li>)}
    </ul>
  );
}
