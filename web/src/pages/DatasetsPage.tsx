import { FormEvent, useEffect, useState } from "react";
import { Dataset, DatasetFormat, datasetFormats } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";
import { DatasetDetail } from "./datasets/DatasetDetail";
import { navigate, to, useRoute } from "../router";
import { bytes, count } from "./datasets/format";

/** Datasets of the selected project: a searchable list and a form to create one; one dataset's versions, files,
 *  schema, lineage and annotation tasks (pages/datasets/). Addresses: #/datasets?q=<search>, and
 *  #/datasets/<dataset_id>?version=<name>&tab=<tab> for one dataset (of any project: the switcher follows it). */
export function DatasetsPage() {
  const projectId = useStore((s) => s.projectId);
  const route = useRoute();
  const openId = route.params.datasetId ?? null;
  const searched = route.query.q ?? "";
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [search, setSearch] = useState(searched);
  useEffect(() => setSearch(searched), [searched]);  // Back, Forward or a link changed it

  function load(cursor?: string) {
    if (!projectId) return;
    api.datasets(projectId, search.trim(), cursor).then((page) => {
      setDatasets((before) => (cursor ? [...before, ...page.items] : page.items));
      setNextCursor(page.next_cursor);
    }).catch(showError);
  }
  useEffect(() => {
    if (openId) return;
    const timer = window.setTimeout(() => {  // typing searches once it pauses; the address keeps the search
      load();
      if (search !== searched) navigate(to("datasets", {}, { q: search }), { replace: true });
    }, search ? 250 : 0);
    return () => window.clearTimeout(timer);
  }, [projectId, search, openId]);

  if (openId) {
    return <section><DatasetDetail key={openId} datasetId={openId} version={route.query.version} tab={route.query.tab} /></section>;
  }
  if (!projectId) return <section><h1>Datasets</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Datasets</h1>
      <form className="filters" role="search" aria-label="Search datasets" onSubmit={(e) => { e.preventDefault(); load(); }}>
        <label>Search <input type="search" name="dataset-search" placeholder="Part of the name" value={search}
          onChange={(e) => setSearch(e.target.value)} /></label>
      </form>
      <table className="table" aria-label="Datasets">
        <thead><tr><th>Name</th><th>Format</th><th>Latest version</th><th>Size</th><th>Rows</th><th>Tags</th><th>Updated</th></tr></thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={d.id}>
              <td><button type="button" className="link" onClick={() => navigate(to("dataset", { datasetId: d.id }))}>{d.name}</button></td>
              <td>{d.format}</td>
              <td>{d.version ?? <span className="muted">none yet</span>}</td>
              <td>{bytes(d.size_bytes)}</td>
              <td>{count(d.num_rows)}</td>
              <td>{d.tags.map((t) => <span key={t} className="tag">{t}</span>)}</td>
              <td>{when(d.updated_at)}</td>
            </tr>
          ))}
          {datasets.length === 0 && (
            <tr><td colSpan={7} className="muted">{search.trim() ? "No dataset matches." : "No datasets yet. Create one below, then push files as versions with aitip datasets push."}</td></tr>
          )}
        </tbody>
      </table>
      {nextCursor && <p><button type="button" onClick={() => load(nextCursor)}>Load more</button></p>}
      <NewDataset projectId={projectId} onCreated={(dataset) => navigate(to("dataset", { datasetId: dataset.id }))} />
    </section>
  );
}

function NewDataset({ projectId, onCreated }: { projectId: string; onCreated: (dataset: Dataset) => void }) {
  const [form, setForm] = useState({ name: "", format: "csv" as DatasetFormat, description: "", tags: "" });
  const { errors, failure, busy, run } = useSubmit();

  function create(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const tags = form.tags.split(/[\s,]+/).filter(Boolean);
      const dataset = await api.createDataset(projectId, { name: form.name, format: form.format, description: form.description || undefined, tags });
      setForm({ name: "", format: "csv", description: "", tags: "" });
      showInfo(`Dataset “${dataset.name}” created.`);
      onCreated(dataset);
    });
  }

  return (
    <form className="card" onSubmit={create} aria-label="New dataset">
      <h2>New dataset</h2>
      <Field label="Name" error={errors.name}><input name="dataset-name" required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} /></Field>
      <Field label="Format" error={errors.format}>
        <select name="dataset-format" value={form.format} onChange={(e) => setForm({ ...form, format: e.target.value as DatasetFormat })}>
          {datasetFormats.map((f) => <option key={f} value={f}>{f}</option>)}
        </select>
      </Field>
      <Field label="Description" error={errors.description}><input name="dataset-description" value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} /></Field>
      <Field label="Tags (separated by spaces or commas)" error={errors.tags}><input name="dataset-tags" value={form.tags} onChange={(e) => setForm({ ...form, tags: e.target.value })} /></Field>
      <FormFailure text={failure} />
      <button type="submit" disabled={busy}>Create dataset</button>
    </form>
  );
}
