import { useEffect, useRef, useState } from "react";
import { InferenceServiceMetrics } from "../api";
import { api } from "../store";
import { MetricChart, Series, palette } from "./Charts";

/** How many seconds of live metrics the charts keep. */
const keptSeconds = 300;

type Version = InferenceServiceMetrics["versions"][number];
export type MetricsHistory = { at: number; metrics: InferenceServiceMetrics }[];

/** What the gateway saw of a stable service's versions (the service and its canaries), read every 2 s while shown,
 *  with the last five minutes kept for the charts (x: seconds since the page opened). */
export function useLiveMetrics(serviceId: string | null | undefined): { metrics: InferenceServiceMetrics | null; history: MetricsHistory } {
  const [metrics, setMetrics] = useState<InferenceServiceMetrics | null>(null);
  const [history, setHistory] = useState<MetricsHistory>([]);
  const opened = useRef(Date.now());
  useEffect(() => {
    setMetrics(null);
    setHistory([]);
    opened.current = Date.now();
    if (!serviceId) return;
    let stopped = false;
    async function poll() {
      try {
        const figures = await api.inferenceMetrics(serviceId!);
        if (stopped) return;
        setMetrics(figures);
        const at = (Date.now() - opened.current) / 1000;
        setHistory((before) => [...before.filter((h) => at - h.at <= keptSeconds), { at, metrics: figures }]);
      } catch {
        // A failed read leaves a gap in the charts; the next one fills them again.
      }
    }
    poll();
    const timer = setInterval(poll, 2000);
    return () => { stopped = true; clearInterval(timer); };
  }, [serviceId]);
  return { metrics, history };
}

/** Live charts of the versions named by `versionIds` (all of them when absent): requests per second, the share of
 *  answers that were errors between two reads (what a release's analysis judges), and p99 latency. */
export function LiveVersionCharts({ metrics, history, versionIds, labels = {} }: {
  metrics: InferenceServiceMetrics | null; history: MetricsHistory; versionIds?: string[]; labels?: Record<string, string>;
}) {
  const versions = (metrics?.versions ?? []).filter((v) => !versionIds || versionIds.includes(v.service_id));
  const find = (h: MetricsHistory[number], version: Version) => h.metrics.versions.find((v) => v.service_id === version.service_id);
  const series = (pick: (now: Version, before: Version | undefined) => number | undefined): Series[] =>
    versions.map((version, index) => {
      const label = labels[version.service_id] ?? version.name;
      return {
        label, color: palette[index % palette.length],
        points: history.flatMap((h, at) => {
          const now = find(h, version);
          const value = now && pick(now, at > 0 ? find(history[at - 1], version) : undefined);
          return value === undefined ? [] : [{ key: label, value, step: Math.round(h.at), timestamp: 0 }];
        }),
      };
    });
  const errorPercent = (now: Version, before: Version | undefined) => {
    if (!before || now.requests < before.requests) return undefined;
    const requests = now.requests - before.requests;
    return requests === 0 ? undefined : ((now.errors - before.errors) * 100) / requests;
  };
  return (
    <div className="charts" aria-label="Live metrics">
      <MetricChart title="requests per second (x: seconds on this page)" series={series((v) => v.requests_per_second)} />
      <MetricChart title="errors, % of answers" series={series(errorPercent)} />
      <MetricChart title="p99 latency, ms" series={series((v) => v.latency_p99_ms)} />
    </div>
  );
}
