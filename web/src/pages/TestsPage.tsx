import { useEffect, useState } from "react";
import { TestCaseHistory, TestCaseList, TestExecution, TestPlan } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { when } from "../components/Form";
import { Link, navigate, to, useProjectOf, useRoute } from "../router";
import { BarChart } from "../components/Charts";
import { errorText, saveBlob } from "./datasets/format";

/** Test plans of the selected project, and one plan: its executions over time (passed, failed and skipped cases
 *  per execution), each case's recent history with the flaky ones marked, an execution's failing cases with their
 *  messages, its PDF report, and Run now. Addresses: #/tests, and #/tests/<plan_id>?execution=<execution_id>. */
export function TestsPage() {
  const projectId = useStore((s) => s.projectId);
  const route = useRoute();
  const planId = route.params.planId ?? null;
  const [plans, setPlans] = useState<TestPlan[]>([]);

  useEffect(() => {
    if (!projectId || planId) return;
    api.testPlans(projectId).then((page) => setPlans(page.items)).catch(showError);
  }, [projectId, planId]);

  if (planId) return <section><PlanDetail key={planId} planId={planId} executionId={route.query.execution} /></section>;
  if (!projectId) return <section><h1>Tests</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Test plans</h1>
      <table className="table" aria-label="Test plans">
        <thead><tr><th>Name</th><th>Type</th><th>Command</th><th>Schedule</th><th>Next run</th></tr></thead>
        <tbody>
          {plans.map((p) => (
            <tr key={p.id}>
              <td><Link to={to("testPlan", { planId: p.id })}>{p.name}</Link></td>
              <td>{p.test_type}</td>
              <td><code>{p.config.command}</code></td>
              <td>{p.schedule ?? <span className="muted">on demand</span>}</td>
              <td>{when(p.next_run_at)}</td>
            </tr>
          ))}
          {plans.length === 0 && <tr><td colSpan={5} className="muted">No test plans yet: create one with aitip test create.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function statusTone(execution: TestExecution) {
  if (execution.status === "completed") return execution.passed ? "pass" : "fail";
  return execution.status === "failed" ? "fail" : "muted";
}

function PlanDetail({ planId, executionId }: { planId: string; executionId?: string }) {
  const [plan, setPlan] = useState<TestPlan | null>(null);
  const [executions, setExecutions] = useState<TestExecution[]>([]);
  const [history, setHistory] = useState<TestCaseHistory[]>([]);
  const [cases, setCases] = useState<TestCaseList | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  function reload() {
    Promise.all([api.testPlan(planId), api.testExecutions(planId), api.testCaseHistory(planId)])
      .then(([found, page, caseHistory]) => { setPlan(found); setExecutions(page.items); setHistory(caseHistory.items); })
      .catch((error) => setProblem(errorText(error)));
  }
  useEffect(reload, [planId]);
  useProjectOf(plan?.project_id, () => navigate(to("testPlans")));
  const shown = executionId ?? executions[0]?.id;
  useEffect(() => {
    setCases(null);
    if (shown) api.testCases(shown).then(setCases).catch(showError);
  }, [shown]);

  if (problem) return <><h1>Test plan</h1><p role="alert">{problem}</p></>;
  if (!plan) return <p className="muted">Loading…</p>;
  const oldestFirst = [...executions].reverse();
  const failingNow = new Set((cases?.items ?? []).filter((c) => c.status === "failed" || c.status === "error").map((c) => `${c.classname}.${c.name}`));
  async function runNow() {
    try { await api.runTestPlan(planId); showInfo(`Test plan “${plan!.name}” queued.`); reload(); } catch (error) { showError(error); }
  }
  async function download(execution: TestExecution) {
    try { saveBlob(await api.downloadReport(execution.report_url), `${plan!.name}-${execution.id}.pdf`); } catch (error) { showError(error); }
  }
  return (
    <>
      <p><Link to={to("testPlans")}>Test plans</Link></p>
      <h1>{plan.name}</h1>
      <p>{plan.test_type} · <code>{plan.config.command}</code> · {plan.schedule ? `cron ${plan.schedule} (UTC), next ${when(plan.next_run_at)}` : "on demand"}</p>
      <p><button type="button" onClick={runNow}>Run now</button></p>
      {oldestFirst.length > 0 && (
        <BarChart title="Cases per execution" labels={oldestFirst.map((e) => when(e.created_at))} bars={[
          { label: "passed", color: "#17a34a", values: oldestFirst.map((e) => e.passed_cases) },
          { label: "failed", color: "#e4572e", values: oldestFirst.map((e) => e.failed_cases) },
          { label: "skipped", color: "#64748b", values: oldestFirst.map((e) => e.skipped_cases) },
        ]} />
      )}
      <table className="table" aria-label="Executions">
        <thead><tr><th>Started</th><th>Trigger</th><th>Status</th><th>Cases</th><th>Coverage</th><th>Report</th></tr></thead>
        <tbody>
          {executions.map((e) => (
            <tr key={e.id} aria-selected={e.id === shown}>
              <td><Link to={to("testPlan", { planId }, { execution: e.id })}>{when(e.created_at)}</Link></td>
              <td>{e.trigger_type}</td>
              <td className={statusTone(e)}>{e.status}{e.result_error ? `: ${e.result_error}` : ""}</td>
              <td>{e.passed_cases} passed, {e.failed_cases} failed, {e.skipped_cases} skipped</td>
              <td>{e.coverage_percent === undefined ? "–" : `${e.coverage_percent.toFixed(1)} %`}</td>
              <td>{e.status === "completed" && <button type="button" className="link" onClick={() => download(e)}>PDF</button>}</td>
            </tr>
          ))}
          {executions.length === 0 && <tr><td colSpan={6} className="muted">No executions yet.</td></tr>}
        </tbody>
      </table>
      {cases && cases.items.some((c) => c.status === "failed" || c.status === "error") && (
        <table className="table" aria-label="Failing cases">
          <caption>Failing cases of the execution shown</caption>
          <thead><tr><th>Case</th><th>Status</th><th>Message</th></tr></thead>
          <tbody>
            {cases.items.filter((c) => c.status === "failed" || c.status === "error").map((c) => (
              <tr key={`${c.classname}.${c.name}`}><td>{c.classname}.{c.name}</td><td className="fail">{c.status}</td><td><pre>{c.message}</pre></td></tr>
            ))}
          </tbody>
        </table>
      )}
      <table className="table" aria-label="Case history">
        <caption>Each case over the recent executions, oldest first</caption>
        <thead><tr><th>Case</th><th>History</th><th>Flaky</th></tr></thead>
        <tbody>
          {history.map((h) => {
            const key = `${h.classname}.${h.name}`;
            return (
              <tr key={key} className={failingNow.has(key) ? "highlight" : undefined}>
                <td>{key}</td>
                <td aria-label={`History of ${key}`}>
                  {h.outcomes.map((o) => (
                    <span key={o.execution_id} title={`${o.status}${o.message ? `: ${o.message}` : ""}`}
                      className={o.status === "passed" ? "pass" : o.status === "skipped" ? "muted" : "fail"}>{o.status === "passed" ? "●" : o.status === "skipped" ? "○" : "✕"}</span>
                  ))}
                </td>
                <td>{h.flaky ? <span className="fail">flaky ({h.flips} flips)</span> : <span className="muted">no</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
