import { useEffect, useState } from "react";
import { Model, ModelDetail } from "../api";
import { api, showError, useStore } from "../store";
import { when } from "../components/Form";

/** Registered models of the selected project and, for one, every version with its lineage. */
export function ModelsPage() {
  const projectId = useStore((s) => s.projectId);
  const [models, setModels] = useState<Model[]>([]);
  const [detail, setDetail] = useState<ModelDetail | null>(null);

  useEffect(() => {
    if (!projectId) return;
    setDetail(null);
    api.models(projectId).then((page) => setModels(page.items)).catch(showError);
  }, [projectId]);

  function open(model: Model) {
    api.model(projectId!, model.name).then(setDetail).catch(showError);
  }

  if (!projectId) return <section><h1>Models</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Models</h1>
      <table className="table" aria-label="Registered models">
        <thead><tr><th>Name</th><th>Latest version</th><th>Aliases</th><th>Updated</th></tr></thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} className={m.id === detail?.model.id ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => open(m)}>{m.name}</button></td>
              <td>{m.latest_version}</td>
              <td>{Object.entries(m.aliases).map(([alias, version]) => `${alias} → v${version}`).join(", ")}</td>
              <td>{when(m.updated_at)}</td>
            </tr>
          ))}
          {models.length === 0 && <tr><td colSpan={4} className="muted">No registered models. Register one with mlflow.register_model (see docs/tracking.md).</td></tr>}
        </tbody>
      </table>
      {detail && (
        <>
          <h2>{detail.model.name}: versions and lineage</h2>
          <table className="table" aria-label="Model versions">
            <thead><tr><th>Version</th><th>Stage</th><th>Aliases</th><th>Run</th><th>Experiment</th><th>Training job</th><th>Dataset version</th><th>Created</th></tr></thead>
            <tbody>
              {detail.versions.map((v) => (
                <tr key={v.id}>
                  <td>v{v.version}</td><td>{v.stage}</td><td>{v.aliases.join(", ")}</td>
                  <td><code>{v.run_id?.slice(0, 8) ?? "—"}</code></td><td><code>{v.experiment_id?.slice(0, 8) ?? "—"}</code></td>
                  <td><code>{v.training_job_id?.slice(0, 8) ?? "—"}</code></td><td><code>{v.dataset_version_id?.slice(0, 8) ?? "—"}</code></td>
                  <td>{when(v.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
