import { FormEvent, useEffect, useState } from "react";
import { AgentExecution, AgentPlan, AgentTool } from "../api";
import { api, showError, useStore } from "../store";
import { when } from "../components/Form";
import { to } from "../router";

/** The agent API from the console (docs/agent.md): ask in words and see the plan — the tool, its arguments, what is
 *  missing — before anything runs; run it (a destructive or costly tool asks for its confirmation first); the tool
 *  catalogue with each tool's risk and permission; your executions; the calls of others waiting for your approval
 *  (an organization's settings.agent_approval). Address: #/agent. */
export function AgentPage() {
  const projectId = useStore((s) => s.projectId);
  const [tools, setTools] = useState<AgentTool[]>([]);
  const [area, setArea] = useState("");
  const [executions, setExecutions] = useState<AgentExecution[]>([]);
  const [words, setWords] = useState("");
  const [plan, setPlan] = useState<AgentPlan | null>(null);
  const [outcome, setOutcome] = useState<AgentExecution | null>(null);
  const [busy, setBusy] = useState(false);
  const [approvals, setApprovals] = useState<AgentExecution[]>([]);

  const reloadExecutions = () => api.agentExecutions().then((page) => setExecutions(page.items)).catch(showError);
  // Only owners and admins may approve (403 for the others): no list, no error.
  const reloadApprovals = () => api.agentApprovals().then((page) => setApprovals(page.items)).catch(() => setApprovals([]));
  useEffect(() => {
    api.agentTools().then((answer) => setTools(answer.tools)).catch(showError);
    reloadExecutions();
    reloadApprovals();
  }, []);

  async function decide(execution: AgentExecution, approve: boolean) {
    const comment = window.prompt(approve ? "Approve: a comment (optional)" : "Reject: why?") ?? undefined;
    if (comment === undefined) return;
    try { await api.agentDecide(execution.execution_id, approve, comment); reloadApprovals(); } catch (error) { showError(error); }
  }

  async function ask(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setOutcome(null);
    try { setPlan(await api.agentPlan(words, projectId)); } catch (error) { showError(error); } finally { setBusy(false); }
  }

  async function run(confirmationToken?: string) {
    if (!plan?.intent) return;
    setBusy(true);
    try {
      setOutcome(await api.agentExecute(plan.intent, plan.params, confirmationToken));
      reloadExecutions();
    } catch (error) { showError(error); } finally { setBusy(false); }
  }

  const areas = [...new Set(tools.map((t) => t.area))].sort();
  const shown = tools.filter((t) => !area || t.area === area);
  return (
    <section>
      <h1>Agent</h1>
      <p className="muted">Every operation of the API is a tool, run with your own rights. Ask in words to see the plan first;
        destructive and costly tools run only after you confirm.</p>
      <form className="inline-form" aria-label="Ask" onSubmit={ask}>
        <input name="words" value={words} onChange={(e) => setWords(e.target.value)} placeholder="e.g. scale service churn-api to 3 replicas"
          aria-label="What to do" style={{ minWidth: "28rem" }} />
        <button type="submit" disabled={busy || !words.trim()}>Plan</button>
      </form>
      {plan && (
        <div aria-label="Plan">
          {plan.understood ? (
            <dl className="facts">
              <dt>Tool</dt><dd><code aria-label="Intent">{plan.intent}</code> · {plan.risk}</dd>
              <dt>Arguments</dt><dd><code aria-label="Arguments">{JSON.stringify(plan.params)}</code></dd>
              <dt>What it does</dt><dd>{plan.explanation}</dd>
            </dl>
          ) : <p className="muted">{plan.explanation}</p>}
          {plan.questions.length > 0 && <ul aria-label="Questions">{plan.questions.map((q) => <li key={q}>{q}</li>)}</ul>}
          {plan.understood && plan.missing.length === 0 && plan.questions.length === 0 && !outcome &&
            <button type="button" disabled={busy} onClick={() => run()}>Run</button>}
        </div>
      )}
      {outcome && (
        <div aria-label="Outcome">
          <p><span className={`status status-${outcome.status}`} aria-label="Execution status">{outcome.status.replace("_", " ")}</span>
            {outcome.http_status !== undefined && <> · the operation answered {outcome.http_status}</>}{outcome.error && <> · {outcome.error}</>}</p>
          {outcome.status === "awaiting_approval" &&
            <p>Your organization asks {outcome.approvals_required} approval{outcome.approvals_required === 1 ? "" : "s"} for this call: nothing
              ran yet.{" "}<button type="button" disabled={busy} onClick={() => run(outcome.confirmation_token)}>Run once approved</button></p>}
          {outcome.status === "awaiting_confirmation" && outcome.confirmation_token &&
            <p>This tool is {outcome.risk}: nothing ran yet.{" "}
              <button type="button" className="danger" disabled={busy} onClick={() => run(outcome.confirmation_token)}>Confirm and run</button></p>}
          {outcome.result !== undefined && <pre className="preview-text" aria-label="Result">{JSON.stringify(outcome.result, null, 2).slice(0, 4000)}</pre>}
        </div>
      )}

      <h2>Your executions</h2>
      <p className="muted">Each is audited as <a href={to("audit", {}, { action: "agent.execute" })}>agent.execute</a>, beside the
        operation's own entry (the audit log needs audit:read).</p>
      <table className="table" aria-label="Executions">
        <thead><tr><th>When</th><th>Tool</th><th>Status</th><th>Answer</th></tr></thead>
        <tbody>
          {executions.map((e) => (
            <tr key={e.execution_id}><td>{when(e.created_at)}</td><td><code>{e.tool}</code></td>
              <td><span className={`status status-${e.status}`}>{e.status.replace("_", " ")}</span></td><td>{e.http_status ?? ""} {e.error ?? ""}</td></tr>
          ))}
          {executions.length === 0 && <tr><td colSpan={4} className="muted">No executions yet.</td></tr>}
        </tbody>
      </table>

      {approvals.length > 0 && (<>
        <h2>Waiting for your approval</h2>
        <table className="table" aria-label="Approvals">
          <thead><tr><th>When</th><th>Tool</th><th>Arguments</th><th>Decisions</th><th></th></tr></thead>
          <tbody>
            {approvals.map((e) => (
              <tr key={e.execution_id}><td>{when(e.created_at)}</td><td><code>{e.tool}</code> · {e.risk}</td>
                <td><code>{JSON.stringify(e.params)}</code></td>
                <td>{(e.approvals ?? []).filter((a) => a.approved).length} of {e.approvals_required}</td>
                <td><button type="button" onClick={() => decide(e, true)}>Approve</button>{" "}
                  <button type="button" className="danger" onClick={() => decide(e, false)}>Reject</button></td></tr>
            ))}
          </tbody>
        </table>
      </>)}

      <h2>Tools</h2>
      <label>Area <select aria-label="Area" value={area} onChange={(e) => setArea(e.target.value)}>
        <option value="">all</option>{areas.map((a) => <option key={a} value={a}>{a}</option>)}
      </select></label>
      <table className="table" aria-label="Tools">
        <thead><tr><th>Tool</th><th>Risk</th><th>Needs</th><th>What it does</th></tr></thead>
        <tbody>
          {shown.map((t) => (
            <tr key={t.name}><td><code>{t.name}</code></td><td>{t.risk}</td><td>{t.permission}</td>
              <td>{t.executable ? t.description.split(" Risk:")[0] : <span className="muted">{t.not_executable}</span>}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
