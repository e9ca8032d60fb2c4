import { FormEvent, useState } from "react";
import { Project } from "../api";
import { api, loadProjects, showError, showInfo, store, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";

export function ProjectsPage() {
  const orgId = useStore((s) => s.orgId);
  const projectId = useStore((s) => s.projectId);
  const projects = useStore((s) => s.projects);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const { errors, failure, busy, run } = useSubmit();

  function create(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const project = await api.createProject(orgId!, name, description);
      setName("");
      setDescription("");
      store.update({ projectId: project.id });
      showInfo(`Project “${project.name}” created.`);
      await loadProjects();
    });
  }

  async function remove(project: Project) {
    if (!window.confirm(`Delete the project “${project.name}”?`)) return;
    try {
      await api.deleteProject(project.id);
      showInfo(`Project “${project.name}” deleted.`);
      await loadProjects();
    } catch (error) { showError(error); }
  }

  return (
    <section>
      <h1>Projects</h1>
      <table className="table">
        <thead><tr><th>Name</th><th>Slug</th><th>Description</th><th>Created</th><th /></tr></thead>
        <tbody>
          {projects.map((p) => (
            <tr key={p.id} className={p.id === projectId ? "selected" : undefined}>
              <td><button type="button" className="link" onClick={() => store.update({ projectId: p.id })}>{p.name}</button></td>
              <td><code>{p.slug}</code></td>
              <td>{p.description ?? ""}</td>
              <td>{when(p.created_at)}</td>
              <td><button type="button" className="danger" onClick={() => remove(p)}>Delete</button></td>
            </tr>
          ))}
          {projects.length === 0 && <tr><td colSpan={5} className="muted">No projects yet.</td></tr>}
        </tbody>
      </table>
      <form className="card" onSubmit={create} aria-label="New project">
        <h2>New project</h2>
        <Field label="Name" error={errors.name}><input name="name" required value={name} onChange={(e) => setName(e.target.value)} /></Field>
        <Field label="Description" error={errors.description}><input name="description" value={description} onChange={(e) => setDescription(e.target.value)} /></Field>
        <FormFailure text={failure} />
        <button type="submit" disabled={busy}>Create project</button>
      </form>
    </section>
  );
}
