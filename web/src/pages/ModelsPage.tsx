import { useEffect, useState } from "react";
import { Model, ModelDetail } from "../api";
import { api, showError, useStore } from "../store";
import { shortId, when } from "../components/Form";
import { Link, navigate, to, useProjectOf, useRoute } from "../router";
import { errorText } from "./datasets/format";
import { ModelEditors } from "./models/RegistryEditors";

/** Registered models of the selected project and, for one, every version with its lineage, and the model's and the
 *  chosen version's description, tags and aliases to edit (./models/RegistryEditors). Addresses: #/models,
 *  #/models/<name>?project=<project_id> (a name is unique within its project only) and
 *  #/models/<name>/versions/<n>?project=… (that version's row marked). */
export function ModelsPage() {
  const route = useRoute();
  const projectId = useStore((s) => s.projectId);
  const name = route.params.model ?? null;
  const version = route.params.version ?? null;
  const modelProject = route.query.project || projectId;
  const [models, setModels] = useState<Model[]>([]);
  const [detail, setDetail] = useState<ModelDetail | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!projectId) return;
    api.models(projectId).then((page) => setModels(page.items)).catch(showError);
  }, [projectId]);

  useEffect(() => {
    setDetail(null);
    setProblem(null);
    if (!name || !modelProject) return;
    let live = true;
    api.model(modelProject, name).then((loaded) => { if (live) setDetail(loaded); })
      .catch((error) => { if (live) setProblem(errorText(error)); });
    return () => { live = false; };
  }, [name, modelProject]);
  useProjectOf(name && route.query.project ? route.query.project : undefined, () => navigate(to("models")));

  const modelAddress = (model: string, query = { project: modelProject }) => to("model", { model }, query);

  if (!projectId && !name) return <section><h1>Models</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Models</h1>
      <table className="table" aria-label="Registered models">
        <thead><tr><th>Name</th><th>Latest version</th><th>Aliases</th><th>Updated</th></tr></thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} className={m.id === detail?.model.id ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => navigate(modelAddress(m.name, { project: m.project_id }))}>{m.name}</button></td>
              <td>{m.latest_version}</td>
              <td>{Object.entries(m.aliases).map(([alias, version]) => `${alias} → v${version}`).join(", ")}</td>
              <td>{when(m.updated_at)}</td>
            </tr>
          ))}
          {models.length === 0 && <tr><td colSpan={4} className="muted">No registered models. Register one with mlflow.register_model (see docs/tracking.md).</td></tr>}
        </tbody>
      </table>
      {problem && <p className="form-failure" role="alert">Model “{name}”: {problem}</p>}
      {detail && (
        <>
          <h2>{detail.model.name}: versions and lineage</h2>
          <table className="table" aria-label="Model versions">
            <thead><tr><th>Version</th><th>Id</th><th>Stage</th><th>Aliases</th><th>Run</th><th>Experiment</th><th>Training job</th><th>Dataset version</th><th>Created</th></tr></thead>
            <tbody>
              {detail.versions.map((v) => {
                const chosen = String(v.version) === version;
                return (
                  <tr key={v.id} className={chosen ? "selected" : undefined} aria-current={chosen ? "true" : undefined}>
                    <td>
                      <button type="button" className="link" aria-pressed={chosen}
                        onClick={() => navigate(to("modelVersion", { model: detail.model.name, version: String(v.version) }, { project: detail.model.project_id }))}>
                        v{v.version}
                      </button>
                    </td>
                    <td><code title={v.id}>{shortId(v.id)}</code></td>
                    <td>{v.stage}</td><td>{v.aliases.join(", ")}</td>
                    <td>{v.run_id && v.experiment_id
                      ? <Link to={to("run", { experimentId: v.experiment_id, runId: v.run_id })} title={`Run ${v.run_id}`}><code>{shortId(v.run_id)}</code></Link>
                      : <code>{v.run_id ? shortId(v.run_id) : "—"}</code>}</td>
                    <td>{v.experiment_id
                      ? <Link to={to("experiment", { experimentId: v.experiment_id })} title={`Experiment ${v.experiment_id}`}><code>{shortId(v.experiment_id)}</code></Link>
                      : <code>—</code>}</td>
                    <td>{v.training_job_id
                      ? <Link to={to("job", { jobId: v.training_job_id })} title={`Training job ${v.training_job_id}`}><code>{shortId(v.training_job_id)}</code></Link>
                      : <code>—</code>}</td>
                    <td><code title={v.dataset_version_id}>{v.dataset_version_id ? shortId(v.dataset_version_id) : "—"}</code></td>
                    <td>{when(v.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {version && !detail.versions.some((v) => String(v.version) === version) &&
            <p className="form-failure" role="alert">{detail.model.name} has no version {version}.</p>}
          <ModelEditors detail={detail} chosen={detail.versions.find((v) => String(v.version) === version)}
            onChanged={(changed) => { setDetail(changed); setModels((all) => all.map((m) => (m.id === changed.model.id ? changed.model : m))); }} />
        </>
      )}
    </section>
  );
}
