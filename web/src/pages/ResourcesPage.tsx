import { FormEvent, useEffect, useState } from "react";
import { Project, Quota, QuotaSet } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit } from "../components/Form";
import { UsageReportView } from "./resources/UsageReportView";

const limits = [
  { field: "max_gpu_hours_month", label: "GPU-hours per month", integer: false },
  { field: "max_concurrent_jobs", label: "Concurrent jobs", integer: true },
  { field: "max_storage_gb", label: "Storage (GB)", integer: true },
  { field: "max_models", label: "Registered models", integer: true },
] as const;
type LimitField = (typeof limits)[number]["field"];
type QuotaForm = { orgId: string; projectId: string } & Record<LimitField, string>;

function number(value?: number): string {
  if (value === undefined) return "no limit";
  return value > 0 && value < 1 ? Number(value.toPrecision(3)).toString() : value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** Quotas of the user's organizations (set by the operator organization's admins), and GPU usage and costs. */
export function ResourcesPage() {
  const me = useStore((s) => s.me)!;
  const orgId = useStore((s) => s.orgId);
  const currentProjects = useStore((s) => s.projects);
  const [quotas, setQuotas] = useState<Quota[]>([]);
  const [projectsByOrg, setProjectsByOrg] = useState<Record<string, Project[]>>({});
  const [form, setForm] = useState<QuotaForm | null>(null);
  const { errors, failure, busy, run } = useSubmit();
  // Only the operator organization's admins may set quotas; the API does not say which organization that is, so the
  // form is offered to whoever holds resources:write somewhere, and the server's answer is shown if it refuses.
  const mayEdit = me.memberships.some((m) => m.permissions.includes("resources:write"));
  const orgs = me.memberships.map((m) => m.organization);

  function load() { api.quotas().then((list) => setQuotas(list.items)).catch(showError); }
  useEffect(load, []);
  useEffect(() => { if (orgId) setProjectsByOrg((before) => ({ ...before, [orgId]: currentProjects })); }, [orgId, currentProjects]);

  /** Loads the projects of organizations that quotas or the form name, to show project names. */
  const wanted = [...new Set([...quotas.filter((q) => q.project_id).map((q) => q.org_id), ...(form ? [form.orgId] : [])])];
  useEffect(() => {
    for (const id of wanted) {
      if (projectsByOrg[id]) continue;
      setProjectsByOrg((before) => ({ ...before, [id]: [] }));
      api.projects(id).then((page) => setProjectsByOrg((before) => ({ ...before, [id]: page.items }))).catch(() => undefined);
    }
  }, [wanted.join(",")]);

  const orgName = (id: string) => orgs.find((o) => o.id === id)?.name ?? id.slice(0, 8);
  const projectName = (org: string, id: string) => projectsByOrg[org]?.find((p) => p.id === id)?.name ?? id.slice(0, 8);

  function edit(quota?: Quota) {
    const text = (value?: number) => (value === undefined ? "" : String(value));
    setForm({
      orgId: quota?.org_id ?? orgId ?? orgs[0]?.id ?? "", projectId: quota?.project_id ?? "",
      max_gpu_hours_month: text(quota?.max_gpu_hours_month), max_concurrent_jobs: text(quota?.max_concurrent_jobs),
      max_storage_gb: text(quota?.max_storage_gb), max_models: text(quota?.max_models),
    });
  }

  function save(event: FormEvent) {
    event.preventDefault();
    if (!form) return;
    run(async () => {
      const body: QuotaSet = { org_id: form.orgId, project_id: form.projectId || undefined };
      for (const limit of limits) if (form[limit.field].trim() !== "") body[limit.field] = Number(form[limit.field]);
      const saved = await api.setQuota(body);
      showInfo(`Quota of ${saved.project_id ? `project ${projectName(saved.org_id, saved.project_id)}` : orgName(saved.org_id)} saved.`);
      setForm(null);
      load();
    });
  }

  return (
    <section>
      <h1>Resources</h1>
      <h2>Quotas</h2>
      <table className="table" aria-label="Quotas">
        <thead>
          <tr><th>Organization</th><th>Applies to</th><th>GPU-hours this month</th><th>Concurrent jobs</th><th>Storage (GB)</th><th>Models</th>
            {mayEdit && <th><span className="visually-hidden">Edit</span></th>}</tr>
        </thead>
        <tbody>
          {quotas.map((q) => {
            const share = q.max_gpu_hours_month ? q.used_gpu_hours_month / q.max_gpu_hours_month : 0;
            return (
              <tr key={`${q.org_id}/${q.scope}`}>
                <td>{orgName(q.org_id)}</td>
                <td>{q.project_id ? `project ${projectName(q.org_id, q.project_id)}` : "whole organization"}</td>
                <td>
                  {number(q.used_gpu_hours_month)} / {number(q.max_gpu_hours_month)}
                  {q.max_gpu_hours_month !== undefined && (
                    <span className={`meter${share >= 1 ? " over" : ""}`} role="meter" aria-valuemin={0} aria-valuemax={q.max_gpu_hours_month}
                      aria-valuenow={q.used_gpu_hours_month} aria-label="GPU-hours used"><span style={{ width: `${Math.min(100, share * 100)}%` }} /></span>
                  )}
                </td>
                <td>{q.running_jobs} running / {number(q.max_concurrent_jobs)}</td>
                <td>{number(q.max_storage_gb)}</td>
                <td>{number(q.max_models)}</td>
                {mayEdit && <td><button type="button" className="link" onClick={() => edit(q)}>Edit</button></td>}
              </tr>
            );
          })}
          {quotas.length === 0 && <tr><td colSpan={mayEdit ? 7 : 6} className="muted">No quotas set: nothing limits your organizations.</td></tr>}
        </tbody>
      </table>
      {mayEdit && !form && <p><button type="button" onClick={() => edit()}>Set a quota…</button></p>}
      {!mayEdit && <p className="muted">Quotas are set by the admins of the operator organization.</p>}
      {form && (
        <form className="card" aria-label="Set a quota" onSubmit={save}>
          <h2>Set a quota</h2>
          <p className="muted">Empty means no limit. Saving replaces every limit of this organization or project.</p>
          <Field label="Organization" error={errors.org_id}>
            <select name="quota-org" value={form.orgId} onChange={(e) => setForm({ ...form, orgId: e.target.value, projectId: "" })}>
              {orgs.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
            </select>
          </Field>
          <Field label="Applies to" error={errors.project_id}>
            <select name="quota-project" value={form.projectId} onChange={(e) => setForm({ ...form, projectId: e.target.value })}>
              <option value="">the whole organization</option>
              {(projectsByOrg[form.orgId] ?? []).map((p) => <option key={p.id} value={p.id}>project {p.name}</option>)}
            </select>
          </Field>
          {limits.map((limit) => (
            <Field key={limit.field} label={limit.label} error={errors[limit.field]}>
              <input name={limit.field} type="number" min={0} step={limit.integer ? 1 : "any"} value={form[limit.field]}
                onChange={(e) => setForm({ ...form, [limit.field]: e.target.value })} />
            </Field>
          ))}
          <FormFailure text={failure} />
          <div className="row">
            <button type="submit" disabled={busy}>Save quota</button>
            <button type="button" className="secondary" onClick={() => setForm(null)}>Cancel</button>
          </div>
        </form>
      )}
      <UsageReportView orgNames={Object.fromEntries(orgs.map((o) => [o.id, o.name]))} projects={orgId ? projectsByOrg[orgId] ?? [] : []} />
    </section>
  );
}
