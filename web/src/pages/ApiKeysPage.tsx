import { FormEvent, useCallback, useEffect, useState } from "react";
import { ApiKey, ApiKeyCreated } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";

export function ApiKeysPage() {
  const orgId = useStore((s) => s.orgId);
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState("*");
  const [days, setDays] = useState("");
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const { errors, failure, busy, run } = useSubmit();

  const load = useCallback(() => { api.apiKeys().then((page) => setKeys(page.items)).catch(showError); }, []);
  useEffect(load, [load]);

  function create(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const expires = days ? new Date(Date.now() + Number(days) * 86_400_000).toISOString() : undefined;
      const key = await api.createApiKey({
        name, org_id: orgId!, scopes: scopes.split(/[\s,]+/).filter(Boolean), expires_at: expires,
      });
      setCreated(key);
      setName("");
      load();
    });
  }

  async function revoke(key: ApiKey) {
    if (!window.confirm(`Revoke the key “${key.name}”? Programs using it stop working.`)) return;
    try { await api.revokeApiKey(key.id); showInfo(`Key “${key.name}” revoked.`); load(); } catch (error) { showError(error); }
  }

  return (
    <section>
      <h1>API keys</h1>
      {created && (
        <div className="card secret" role="status">
          <h2>Key “{created.name}” created</h2>
          <p>Copy it now: it is not shown again.</p>
          <code className="secret-value" data-testid="new-api-key">{created.key}</code>
          <div className="row">
            <button type="button" onClick={() => navigator.clipboard?.writeText(created.key).then(() => showInfo("Copied."))}>Copy</button>
            <button type="button" onClick={() => setCreated(null)}>Done</button>
          </div>
        </div>
      )}
      <table className="table">
        <thead><tr><th>Name</th><th>Prefix</th><th>Scopes</th><th>Expires</th><th>Last used</th><th>Status</th><th /></tr></thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td><td><code>{k.prefix}…</code></td><td>{k.scopes.join(", ")}</td>
              <td>{when(k.expires_at)}</td><td>{when(k.last_used_at)}</td>
              <td>{k.revoked_at ? "revoked" : "active"}</td>
              <td>{!k.revoked_at && <button type="button" className="danger" onClick={() => revoke(k)}>Revoke</button>}</td>
            </tr>
          ))}
          {keys.length === 0 && <tr><td colSpan={7} className="muted">No API keys yet.</td></tr>}
        </tbody>
      </table>
      <form className="card" onSubmit={create} aria-label="New API key">
        <h2>New API key</h2>
        <Field label="Name" error={errors.name}><input name="key-name" required value={name} onChange={(e) => setName(e.target.value)} /></Field>
        <Field label="Scopes (e.g. training:read projects:read, or * for your role)" error={errors.scopes}>
          <input name="scopes" value={scopes} onChange={(e) => setScopes(e.target.value)} />
        </Field>
        <Field label="Expires in days (empty: never)" error={errors.expires_at}>
          <input name="days" type="number" min="1" value={days} onChange={(e) => setDays(e.target.value)} />
        </Field>
        <FormFailure text={failure} />
        <button type="submit" disabled={busy}>Create key</button>
      </form>
    </section>
  );
}
