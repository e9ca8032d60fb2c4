import { useEffect, useState } from "react";
import { EvaluationJob, EvaluationResults } from "../api";
import { api, showError, useStore } from "../store";
import { when } from "../components/Form";
import { Link, navigate, to, useProjectOf, useRoute } from "../router";
import { errorText, saveBlob } from "./datasets/format";

type Values = NonNullable<EvaluationResults["candidate"]>;

function figure(value?: number) { return value === undefined ? "–" : Number(value.toPrecision(4)).toString(); }

function withInterval(value?: { value: number; ci_low?: number; ci_high?: number }) {
  if (!value) return "–";
  return value.ci_low === undefined ? figure(value.value) : `${figure(value.value)} [${figure(value.ci_low)}, ${figure(value.ci_high)}]`;
}

/** The verdict of a job as a word: passed, failed, no results, or where it is. */
export function verdict(job: EvaluationJob): { text: string; tone: "pass" | "fail" | "muted" } {
  if (job.result_state === "ready") return job.gate_passed ? { text: "gate passed", tone: "pass" } : { text: "gate failed", tone: "fail" };
  if (job.result_state === "failed") return { text: "no results", tone: "fail" };
  return { text: job.status, tone: "muted" };
}

/** Evaluation jobs of the selected project with their gate verdicts, and one job: the gate's checks, the model's
 *  metrics against its baseline with their intervals, the slices, and its PDF report. Addresses: #/evaluations, and
 *  #/evaluations/<evaluation_id>. Jobs are started with `aitip eval run` or the API (docs/evaluation.md). */
export function EvaluationsPage() {
  const projectId = useStore((s) => s.projectId);
  const evaluationId = useRoute().params.evaluationId ?? null;
  const [jobs, setJobs] = useState<EvaluationJob[]>([]);
  const [job, setJob] = useState<EvaluationJob | null>(null);
  const [results, setResults] = useState<EvaluationResults | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!projectId) return;
    api.evaluations(projectId).then((page) => setJobs(page.items)).catch(showError);
  }, [projectId]);
  useProjectOf(job?.id === evaluationId ? job?.project_id : undefined, () => navigate(to("evaluations")));
  useEffect(() => {
    setJob(null);
    setResults(null);
    setProblem(null);
    if (!evaluationId) return;
    Promise.all([api.evaluation(evaluationId), api.evaluationResults(evaluationId)])
      .then(([found, scored]) => { setJob(found); setResults(scored); })
      .catch((error) => setProblem(errorText(error)));
  }, [evaluationId]);

  if (evaluationId) {
    if (problem) return <section><h1>Evaluation</h1><p role="alert">{problem}</p></section>;
    if (!job) return <section><p className="muted">Loading…</p></section>;
    return <section><EvaluationDetail job={job} results={results} /></section>;
  }
  if (!projectId) return <section><h1>Evaluations</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Evaluations</h1>
      <table className="table" aria-label="Evaluations">
        <thead><tr><th>Name</th><th>Model</th><th>Baseline</th><th>Benchmark</th><th>Dataset</th><th>Verdict</th><th>Created</th></tr></thead>
        <tbody>
          {jobs.map((j) => {
            const { text, tone } = verdict(j);
            return (
              <tr key={j.id}>
                <td><Link to={to("evaluation", { evaluationId: j.id })}>{j.name}</Link></td>
                <td>{j.model}</td>
                <td>{j.baseline ?? <span className="muted">none</span>}</td>
                <td>{j.benchmark} v{j.benchmark_version}</td>
                <td>{j.dataset.name} {j.dataset.version}</td>
                <td className={tone}>{text}</td>
                <td>{when(j.created_at)}</td>
              </tr>
            );
          })}
          {jobs.length === 0 && <tr><td colSpan={7} className="muted">No evaluations yet: start one with aitip eval run.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function EvaluationDetail({ job, results }: { job: EvaluationJob; results: EvaluationResults | null }) {
  const { text, tone } = verdict(job);
  const names = results?.candidate ? Object.keys(results.candidate).sort() : [];
  async function download() {
    try { saveBlob(await api.downloadReport(job.report_url), `${job.name}.pdf`); } catch (error) { showError(error); }
  }
  return (
    <>
      <p><Link to={to("evaluations")}>Evaluations</Link></p>
      <h1>{job.name}</h1>
      <p>
        <span className={tone} aria-label="Verdict">{text}</span> · {job.model} against {job.baseline ?? "no baseline"}{" "}
        <span className="muted">({job.baseline_reason})</span> · {job.benchmark} v{job.benchmark_version} on {job.dataset.name}{" "}
        {job.dataset.version} ({job.dataset.path ?? "all files"})
        {job.target ? <>, target <code>{job.target}</code></> : ", scored by the job itself"}
      </p>
      {job.result_error && <p role="alert">{job.result_error}</p>}
      <p><button type="button" onClick={download} disabled={job.result_state === "pending"}>Download the PDF report</button></p>
      {results?.gate && results.gate.checks.length > 0 && (
        <table className="table" aria-label="Gate">
          <thead><tr><th>Metric</th><th>Verdict</th><th>Why</th></tr></thead>
          <tbody>
            {results.gate.checks.map((check) => (
              <tr key={check.metric}><td>{check.metric}</td><td className={check.passed ? "pass" : "fail"}>{check.passed ? "pass" : "fail"}</td><td>{check.reason}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      {results?.candidate && (
        <MetricsTable
          names={names} candidate={results.candidate} baseline={results.baseline} rows={results.rows}
          directions={results.directions ?? {}} scoredByAitip={Boolean(job.target)}
        />
      )}
      {results && results.slices.length > 0 && (
        <table className="table" aria-label="Slices">
          <thead><tr><th>Column</th><th>Value</th><th>Rows</th>{names.map((n) => <th key={n}>{n}</th>)}</tr></thead>
          <tbody>
            {results.slices.map((slice) => (
              <tr key={`${slice.column}=${slice.value}`}>
                <td>{slice.column}</td><td>{slice.value}</td><td>{slice.rows}</td>
                {names.map((n) => (
                  <td key={n}>{figure(slice.candidate[n]?.value)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** The metrics of the model and its baseline. Classification and regression intervals are aitip's bootstrap ones;
 *  a script's are what it reported, with the direction it declared (↑ greater is better, ↓ lower). */
function MetricsTable({ names, candidate, baseline, rows, directions, scoredByAitip }: {
  names: string[]; candidate: Values; baseline?: Values; rows?: number; directions: Record<string, boolean>; scoredByAitip: boolean;
}) {
  const arrow = (name: string) => (directions[name] === undefined ? "" : directions[name] ? " ↑" : " ↓");
  return (
    <table className="table" aria-label="Metrics">
      <caption>{rows ?? 0} rows · {scoredByAitip ? "95 % bootstrap intervals" : "intervals as the job reported them"}</caption>
      <thead><tr><th>Metric</th><th>Candidate</th>{baseline && <><th>Baseline</th><th>Change</th></>}</tr></thead>
      <tbody>
        {names.map((name) => (
          <tr key={name}>
            <td>{name}{arrow(name)}</td>
            <td>{withInterval(candidate[name])}</td>
            {baseline && (
              <>
                <td>{withInterval(baseline[name])}</td>
                <td>{baseline[name] ? figure(candidate[name].value - baseline[name].value) : "–"}</td>
              </>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
