import { useCallback, useEffect, useState } from "react";
import { AuditEntry } from "../api";
import { api, showError, useStore } from "../store";
import { shortId, when } from "../components/Form";
import { navigate, to, useRoute } from "../router";

/** The organization's audit log, newest first. The filters are the address's: #/audit?action=project.create&outcome=denied. */
export function AuditPage() {
  const orgId = useStore((s) => s.orgId);
  const query = useRoute().query;
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const outcome = query.outcome ?? "";
  const action = query.action ?? "";
  /** The action box as typed; the address follows it without a history entry per key. */
  const [typed, setTyped] = useState(action);
  useEffect(() => setTyped(action), [action]);
  const filter = (change: { action?: string; outcome?: string }, replace = false) =>
    navigate(to("audit", {}, { action: change.action ?? action, outcome: change.outcome ?? outcome }), { replace });

  const load = useCallback((cursor?: string) => {
    if (!orgId) return;
    api.audit(orgId, { action: action.trim(), outcome, cursor }).then((page) => {
      setEntries((current) => (cursor ? [...current, ...page.items] : page.items));
      setNext(page.next_cursor);
    }).catch(showError);
  }, [orgId, action, outcome]);
  useEffect(() => load(), [load]);

  return (
    <section>
      <h1>Audit log</h1>
      <div className="filters" role="search">
        <label>Action <input name="action" placeholder="e.g. project.create" value={typed} onChange={(e) => { setTyped(e.target.value); filter({ action: e.target.value }, true); }} /></label>
        <label>Outcome
          <select name="outcome" value={outcome} onChange={(e) => filter({ outcome: e.target.value })}>
            <option value="">any</option><option value="success">success</option><option value="failure">failure</option><option value="denied">denied</option>
          </select>
        </label>
      </div>
      <table className="table" aria-label="Audit entries">
        <thead><tr><th>Time</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th><th>Request</th></tr></thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.id}>
              <td>{when(e.created_at)}</td><td>{e.actor_name ?? "—"}</td><td><code>{e.action}</code></td>
              <td>{e.target_type}{e.target_id ? ` ${shortId(e.target_id)}` : ""}</td>
              <td className={`outcome ${e.outcome}`}>{e.outcome}{e.status_code ? ` (${e.status_code})` : ""}</td>
              <td><code title={e.detail ?? ""}>{e.request_id.slice(0, 8)}</code></td>
            </tr>
          ))}
          {entries.length === 0 && <tr><td colSpan={6} className="muted">No entries match.</td></tr>}
        </tbody>
      </table>
      {next && <button type="button" onClick={() => load(next)}>Load more</button>}
    </section>
  );
}
