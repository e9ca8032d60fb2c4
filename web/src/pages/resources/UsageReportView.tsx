import { useEffect, useMemo, useState } from "react";
import { Project, UsageGrouping, usageGroupings, UsageReport } from "../../api";
import { api, useStore } from "../../store";
import { BarChart, Bars, palette } from "../../components/Charts";
import { navigate, to, useRoute } from "../../router";

const groupingLabels: Record<UsageGrouping, string> = { project: "Project", user: "User", gpu_type: "GPU type", day: "Day", organization: "Organization" };

function utcDay(date: Date): string { return date.toISOString().slice(0, 10); }

/** GPU-hours: short jobs use thousandths of an hour, so small values keep three significant digits. */
function hours(value: number): string {
  return value > 0 && value < 1 ? Number(value.toPrecision(3)).toString() : value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** GPU-hours (`/resources/usage`) and their cost (`/resources/costs`) of the current organization between two UTC days,
 *  grouped by project, user, GPU type, day or organization: a bar chart per group and the table by group and GPU type.
 *  The report's days and grouping are the address's (#/resources?from=2025-01-01&to=2025-01-31&group=user); without
 *  them, this month so far by project. */
export function UsageReportView({ orgNames, projects }: { orgNames: Record<string, string>; projects: Project[] }) {
  const orgId = useStore((s) => s.orgId);
  const address = useRoute().query;
  const today = utcDay(new Date());
  const day = (text: string | undefined, fallback: string) => (text && /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : fallback);
  const groupBy = usageGroupings.find((g) => g === address.group) ?? "project";
  const from = day(address.from, `${today.slice(0, 8)}01`), until = day(address.to, today);
  const query = useMemo(() => ({ from, to: until, groupBy }), [from, until, groupBy]);
  function show(change: { from?: string; to?: string; groupBy?: UsageGrouping }) {
    const group = change.groupBy ?? groupBy;
    navigate(to("resources", {}, { from: change.from ?? address.from, to: change.to ?? address.to, group: group === "project" ? undefined : group }));
  }
  /** The dates being edited; the report follows them when the form is sent (typing a date passes through others). */
  const [range, setRange] = useState({ from: query.from, to: query.to });
  useEffect(() => setRange({ from: query.from, to: query.to }), [query.from, query.to]);
  const [report, setReport] = useState<{ usage: UsageReport; costs: UsageReport } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [users, setUsers] = useState<Record<string, string>>({});

  useEffect(() => {
    if (!orgId) return;
    let live = true;
    setProblem(null);
    const ask = { org_id: orgId, from: query.from, to: query.to, group_by: query.groupBy };
    Promise.all([api.usage("usage", ask), api.usage("costs", ask)])
      .then(([usage, costs]) => { if (live) setReport({ usage, costs }); })
      .catch((error) => { if (live) { setReport(null); setProblem(error instanceof Error ? error.message : String(error)); } });
    return () => { live = false; };
  }, [orgId, query]);
  useEffect(() => {
    if (!orgId || query.groupBy !== "user") return;
    api.members(orgId).then((page) => setUsers(Object.fromEntries(page.items.map((m) => [m.user_id, m.username])))).catch(() => undefined);
  }, [orgId, query.groupBy]);

  const name = (key: string) => {
    switch (report?.usage.group_by) {
      case "project": return projects.find((p) => p.id === key)?.name ?? key.slice(0, 8);
      case "user": return users[key] ?? (key === "unknown" ? key : key.slice(0, 8));
      case "organization": return orgNames[key] ?? key.slice(0, 8);
      default: return key;
    }
  };

  /** Per group: GPU-hours from the usage report, cost from the costs report (both summed over GPU types). */
  const chart = useMemo(() => {
    if (!report) return null;
    const groups = [...new Set([...report.usage.lines, ...report.costs.lines].map((l) => l.key))].sort();
    const sum = (r: UsageReport, key: string, pick: (l: UsageReport["lines"][number]) => number) =>
      r.lines.filter((l) => l.key === key).reduce((total, l) => total + pick(l), 0);
    const bars: Bars[] = [
      { label: "GPU-hours", color: palette[0], values: groups.map((g) => sum(report.usage, g, (l) => l.gpu_hours)) },
      { label: `Cost (${report.costs.currency})`, color: palette[1], values: groups.map((g) => sum(report.costs, g, (l) => l.cost)), axis: "y1" },
    ];
    return { groups, bars };
  }, [report]);
  const labels = useMemo(() => chart?.groups.map(name) ?? [], [chart, users, projects, orgNames]);

  const costOf = (key: string, gpuType: string) => report?.costs.lines.find((l) => l.key === key && l.gpu_type === gpuType)?.cost ?? 0;
  const money = (value: number) => value.toLocaleString(undefined, {
    style: "currency", currency: report?.costs.currency || "USD", maximumSignificantDigits: value > 0 && value < 1 ? 3 : undefined });
  return (
    <>
      <h2>Usage and costs</h2>
      <form className="filters inline-form" aria-label="Usage report" onSubmit={(e) => { e.preventDefault(); show(range); }}>
        <label>From (UTC) <input type="date" name="usage-from" value={range.from} max={range.to} required
          onChange={(e) => setRange({ ...range, from: e.target.value })} /></label>
        <label>To <input type="date" name="usage-to" value={range.to} min={range.from} required
          onChange={(e) => setRange({ ...range, to: e.target.value })} /></label>
        <button type="submit" disabled={range.from === query.from && range.to === query.to}>Show</button>
        <label>Group by <select name="group-by" value={query.groupBy} onChange={(e) => show({ groupBy: e.target.value as UsageGrouping })}>
          {usageGroupings.map((g) => <option key={g} value={g}>{groupingLabels[g]}</option>)}
        </select></label>
      </form>
      {problem && <p className="form-failure" role="alert">{problem}</p>}
      {report && chart && (
        <>
          {chart.groups.length > 0
            ? <BarChart title={`GPU-hours and cost by ${groupingLabels[query.groupBy].toLowerCase()}, ${report.usage.from} to ${report.usage.to} (UTC)`}
                labels={labels} bars={chart.bars} />
            : <p className="muted">No GPU time was used between {report.usage.from} and {report.usage.to}.</p>}
          <table className="table numeric usage" aria-label="Usage and costs">
            <thead><tr><th>{groupingLabels[query.groupBy]}</th><th>GPU type</th><th>GPU-hours</th><th>Cost</th></tr></thead>
            <tbody>
              {report.usage.lines.map((l) => (
                <tr key={`${l.key}/${l.gpu_type}`}><td title={l.key}>{name(l.key)}</td><td>{l.gpu_type}</td><td>{hours(l.gpu_hours)}</td><td>{money(costOf(l.key, l.gpu_type))}</td></tr>
              ))}
            </tbody>
            <tfoot><tr><td>Total</td><td /><td>{hours(report.usage.total_gpu_hours)}</td><td>{money(report.costs.total_cost)}</td></tr></tfoot>
          </table>
        </>
      )}
    </>
  );
}
