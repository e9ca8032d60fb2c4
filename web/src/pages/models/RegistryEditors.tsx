import { FormEvent, useEffect, useState } from "react";
import { ModelDetail, ModelVersion, RegistryChange } from "../../api";
import { api, showInfo } from "../../store";
import { FormFailure, useSubmit } from "../../components/Form";

/** Sends one change; true when the server took it (what was typed stays in its form otherwise). */
type Apply = (change: RegistryChange, done: string) => Promise<boolean>;

/** The registry's editable parts for one model: its description, tags and aliases, and the chosen version's
 *  description and tags. Each change is one request; the answer (the model as it now is) replaces what is shown. */
export function ModelEditors({ detail, chosen, onChanged }: { detail: ModelDetail; chosen?: ModelVersion; onChanged: (d: ModelDetail) => void }) {
  const { failure, busy, run } = useSubmit();
  const apply: Apply = async (change, done) => {
    let taken = false;
    await run(async () => {
      onChanged(await api.changeModel(detail.model.project_id, detail.model.name, change));
      showInfo(done);
      taken = true;
    });
    return taken;
  };
  const model = detail.model;
  return (
    <div className="registry-editors">
      <FormFailure text={failure} />
      <section className="card" aria-label="Model details">
        <h3>{model.name} <code className="muted" title="Model id">{model.id}</code></h3>
        <DescriptionEditor key={`m-${model.id}`} label="Model description" text={model.description ?? ""} busy={busy}
          onSave={(description) => apply({ kind: "describe", description }, "Description saved.")} />
        <TagEditor label="Model tags" tags={model.tags} busy={busy}
          onSet={(key, value) => apply({ kind: "setTag", key, value }, `Tag ${key} set.`)}
          onDelete={(key) => apply({ kind: "deleteTag", key }, `Tag ${key} removed.`)} />
        <AliasEditor detail={detail} busy={busy} apply={apply} />
      </section>
      {chosen && (
        <section className="card" aria-label={`Version ${chosen.version}`}>
          <h3>Version {chosen.version} <code className="muted" title="Version id">{chosen.id}</code></h3>
          <p className="muted">Source <code className="hash">{chosen.source}</code></p>
          <DescriptionEditor key={`v-${chosen.id}`} label="Version description" text={chosen.description ?? ""} busy={busy}
            onSave={(description) => apply({ kind: "describe", description, version: chosen.version }, "Description saved.")} />
          <TagEditor label="Version tags" tags={chosen.tags} busy={busy}
            onSet={(key, value) => apply({ kind: "setTag", key, value, version: chosen.version }, `Tag ${key} set.`)}
            onDelete={(key) => apply({ kind: "deleteTag", key, version: chosen.version }, `Tag ${key} removed.`)} />
        </section>
      )}
    </div>
  );
}

function DescriptionEditor({ label, text, busy, onSave }: { label: string; text: string; busy: boolean; onSave: (text: string) => void }) {
  const [draft, setDraft] = useState(text);
  useEffect(() => setDraft(text), [text]);
  return (
    <form aria-label={label} onSubmit={(e) => { e.preventDefault(); onSave(draft); }}>
      <label className="field"><span>{label}</span>
        <textarea rows={3} maxLength={10000} value={draft} onChange={(e) => setDraft(e.target.value)} /></label>
      <button type="submit" disabled={busy || draft === text}>Save description</button>
    </form>
  );
}

function TagEditor({ label, tags, busy, onSet, onDelete }: {
  label: string; tags: Record<string, string>; busy: boolean; onSet: (key: string, value: string) => Promise<boolean>; onDelete: (key: string) => void;
}) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    onSet(key.trim(), value).then((taken) => { if (taken) { setKey(""); setValue(""); } });
  }
  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div aria-label={label} role="group">
      <h4>{label}</h4>
      <ul className="pairs">
        {entries.map(([k, v]) => (
          <li key={k}><span className="tag">{k} = {v}</span>
            <button type="button" className="link" disabled={busy} aria-label={`Remove tag ${k}`} onClick={() => onDelete(k)}>remove</button></li>
        ))}
        {entries.length === 0 && <li className="muted">No tags.</li>}
      </ul>
      <form className="inline-form" aria-label={`Add to ${label.toLowerCase()}`} onSubmit={submit}>
        <label className="field"><span>Key</span><input required value={key} onChange={(e) => setKey(e.target.value)} /></label>
        <label className="field"><span>Value</span><input value={value} onChange={(e) => setValue(e.target.value)} /></label>
        <button type="submit" disabled={busy}>Set tag</button>
      </form>
    </div>
  );
}

function AliasEditor({ detail, busy, apply }: { detail: ModelDetail; busy: boolean; apply: Apply }) {
  const [alias, setAlias] = useState("");
  const [target, setTarget] = useState(String(detail.model.latest_version ?? ""));
  const aliases = Object.entries(detail.model.aliases).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div aria-label="Aliases" role="group">
      <h4>Aliases</h4>
      <ul className="pairs">
        {aliases.map(([name, version]) => (
          <li key={name}><span className="tag">{name} → v{version}</span>
            <button type="button" className="link" disabled={busy} aria-label={`Remove alias ${name}`}
              onClick={() => apply({ kind: "deleteAlias", alias: name }, `Alias ${name} removed.`)}>remove</button></li>
        ))}
        {aliases.length === 0 && <li className="muted">No aliases.</li>}
      </ul>
      {detail.versions.length > 0 && (
        <form className="inline-form" aria-label="Set alias"
          onSubmit={(e) => { e.preventDefault(); apply({ kind: "setAlias", alias: alias.trim(), target: Number(target) }, `Alias ${alias.trim()} → v${target}.`).then((taken) => { if (taken) setAlias(""); }); }}>
          <label className="field"><span>Alias</span><input name="alias" required placeholder="champion" value={alias} onChange={(e) => setAlias(e.target.value)} /></label>
          <label className="field"><span>Version</span>
            <select name="alias-version" value={target} onChange={(e) => setTarget(e.target.value)}>
              {detail.versions.map((v) => <option key={v.id} value={v.version}>v{v.version}</option>)}
            </select></label>
          <button type="submit" disabled={busy}>Set alias</button>
        </form>
      )}
    </div>
  );
}
