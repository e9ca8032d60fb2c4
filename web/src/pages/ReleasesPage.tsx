import { useEffect, useState } from "react";
import { Release } from "../api";
import { api, showError, useStore } from "../store";
import { when } from "../components/Form";
import { Link, navigate, to, useProjectOf, useRoute } from "../router";
import { errorText } from "./datasets/format";
import { LiveVersionCharts, useLiveMetrics } from "../components/LiveVersions";

/** Releases of the selected project; one release: its pipeline — the stages with the one it serves, the canary's
 *  share now, live charts of the canary against the other versions of its service (what the analysis judges), the
 *  gates with their evidence, the approvals, the timeline — and its acts (approve, deploy or resume,
 *  promote, roll back). Addresses: #/releases and #/releases/<release_id>. Releases are created with
 *  `aitip release create` or the API. */
export function ReleasesPage() {
  const projectId = useStore((s) => s.projectId);
  const { releaseId } = useRoute().params;
  const [releases, setReleases] = useState<Release[]>([]);

  useEffect(() => {
    if (!projectId || releaseId) return;
    api.releases(projectId).then((page) => setReleases(page.items)).catch(showError);
  }, [projectId, releaseId]);

  if (releaseId) return <section><ReleaseDetail releaseId={releaseId} /></section>;
  if (!projectId) return <section><h1>Releases</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Releases</h1>
      <table className="table" aria-label="Releases">
        <thead><tr><th>Name</th><th>Version</th><th>What</th><th>Status</th><th>Stage</th><th>Created</th></tr></thead>
        <tbody>
          {releases.map((r) => (
            <tr key={r.id}>
              <td><Link to={to("release", { releaseId: r.id })}>{r.name}</Link></td>
              <td>{r.version}</td><td>{whatOf(r)}</td><td><span className={`status status-${r.status}`}>{r.status.replace("_", " ")}</span></td>
              <td>{r.current_stage > 0 ? `${r.current_stage} of ${r.canary_stages.length}` : "–"}</td>
              <td>{when(r.created_at)}</td>
            </tr>
          ))}
          {releases.length === 0 && <tr><td colSpan={6} className="muted">No releases yet: create one with aitip release create.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function ReleaseDetail({ releaseId }: { releaseId: string }) {
  const [release, setRelease] = useState<Release | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setRelease(null);
    setProblem(null);
    let timer: number | undefined;
    const poll = () =>
      api.release(releaseId)
        .then((found) => { setRelease(found); timer = window.setTimeout(poll, found.status === "canary" || found.status === "paused" ? 1000 : 5000); })
        .catch((error) => setProblem(errorText(error)));
    poll();
    return () => window.clearTimeout(timer);
  }, [releaseId]);
  useProjectOf(release?.project_id, () => navigate(to("releases")));
  const live = useLiveMetrics(release?.service_id);
  if (problem) return <><h1>Release</h1><p role="alert">{problem}</p></>;
  if (!release) return <p className="muted">Loading…</p>;
  const r = release;
  async function act(name: "approve" | "deploy" | "promote" | "rollback", body: object = {}) {
    setBusy(true);
    try { setRelease(await api.releaseAct(r.id, name, body)); } catch (error) { showError(error); } finally { setBusy(false); }
  }
  const rolling = r.status === "canary" || r.status === "paused";
  return (
    <>
      <p><Link to={to("releases")}>Releases</Link></p>
      <h1>{r.name} {r.version}</h1>
      <p>
        <span className={`status status-${r.status}`} aria-label="Status">{r.status.replace("_", " ")}</span> · {r.release_type} · {whatOf(r)} · {r.strategy}
        {r.canary_percentage !== undefined && <> · canary takes <strong aria-label="Canary share">{r.canary_percentage} %</strong></>}
      </p>
      <p className="muted" aria-label="Why">{r.status_reason}</p>
      <ol className="stages" aria-label="Stages">
        {r.canary_stages.map((percent, index) => (
          <li key={percent} className={index + 1 < r.current_stage || r.status === "production" ? "done" : index + 1 === r.current_stage ? "current" : ""}>
            {percent} %
          </li>
        ))}
      </ol>
      <p>
        {(r.status === "pending_approval" || r.status === "approved") &&
          <button type="button" disabled={busy} onClick={() => act("approve", { comment: "" })}>Approve</button>}{" "}
        {(r.status === "approved" || r.status === "rolled_back" || r.status === "paused") &&
          <button type="button" disabled={busy} onClick={() => act("deploy")}>{r.status === "paused" ? "Resume" : "Deploy"}</button>}{" "}
        {rolling && <button type="button" disabled={busy} onClick={() => act("promote")}>Promote</button>}{" "}
        {r.rollback_available &&
          <button type="button" className="danger" disabled={busy} onClick={() => act("rollback", { reason: "rolled back from the console" })}>Roll back</button>}
      </p>
      {r.service_id && r.canary_service_id ? <>
        <h2>Canary against stable, live</h2>
        <p className="muted">What the gateway sees of each version of the service now; the analysis compares the canary with
          the version that served before, every {r.analysis.interval_seconds ?? 30} s.</p>
        <LiveVersionCharts metrics={live.metrics} history={live.history}
          labels={{ [r.canary_service_id]: `canary ${r.model_uri}`, [r.service_id]: "stable" }} />
      </> : r.artifact && r.deploy_target && <>
        <h2>Artifact and deploy step</h2>
        <dl className="facts" aria-label="Deploy step">
          <dt>Artifact</dt><dd>{r.artifact.dataset} {r.artifact.version} / {r.artifact.path} ({r.artifact.size_bytes.toLocaleString()} bytes)
            <br /><code>sha256 {r.artifact.sha256}</code></dd>
          <dt>Each stage</dt><dd>{r.deploy_target.type === "webhook"
            ? <>POST to <code>{r.deploy_target.url}</code>{r.deploy_target.has_secret ? ", signed" : ", unsigned"}</>
            : <>runs <code>{r.deploy_target.command}</code> in the job sandbox</>}</dd>
          <dt>In place</dt><dd aria-label="Applied stage">{(r.applied_stage ?? 0) > 0 ? `${r.canary_stages[(r.applied_stage ?? 1) - 1]} % of the fleet` : "not yet"}</dd>
        </dl>
      </>}
      <h2>Gates</h2>
      <table className="table" aria-label="Gates">
        <thead><tr><th>Gate</th><th>Evidence</th><th>Verdict</th><th>Why</th></tr></thead>
        <tbody>
          {(r.gate_checks ?? []).map((g) => (
            <tr key={g.gate}><td>{g.gate}</td><td><code>{g.evidence_id.slice(-8)}</code></td>
              <td className={g.passed ? "pass" : "fail"}>{g.passed ? "pass" : "blocks"}</td><td>{g.detail}</td></tr>
          ))}
          {(r.gate_checks ?? []).length === 0 && <tr><td colSpan={4} className="muted">No gates.</td></tr>}
        </tbody>
      </table>
      <h2>Approvals</h2>
      <p className="muted">{r.approval_policy.required ?? 1} needed{(r.approval_policy.roles ?? []).length > 0 && ` from ${(r.approval_policy.roles ?? []).join(", ")}`}.</p>
      <ul aria-label="Approvals">
        {(r.approvals ?? []).map((a) => <li key={a.username}>{a.username}: {a.approved ? "approved" : "rejected"}{a.comment && ` — ${a.comment}`} ({when(a.at)})</li>)}
      </ul>
      <h2>Timeline</h2>
      <table className="table" aria-label="Timeline">
        <thead><tr><th>When</th><th>Who</th><th>What</th><th>Status</th><th>Detail</th></tr></thead>
        <tbody>
          {(r.timeline ?? []).map((e, index) => (
            <tr key={index}><td>{when(e.at)}</td><td>{e.actor}</td><td>{e.kind.replace("_", " ")}</td>
              <td>{e.from_status && e.to_status && e.from_status !== e.to_status ? `${e.from_status} → ${e.to_status}` : e.to_status ?? ""}</td><td>{e.detail}</td></tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** What a release rolls out: its model version, or its artifact. */
function whatOf(r: Release): string {
  return r.model_uri ?? (r.artifact ? `${r.artifact.dataset}/${r.artifact.version}/${r.artifact.path}` : "");
}
