import { DataProfile } from "../../api";
import { count, stat } from "./format";

/** A version's schema and statistics: profiled from its csv/jsonl files while their uploads were checked. */
export function SchemaTable({ profile }: { profile?: DataProfile }) {
  if (!profile) return <p className="muted">No schema: only csv and jsonl files are profiled.</p>;
  return (
    <>
      <p className="muted">{profile.format} · {count(profile.rows)} rows · {profile.columns.length} columns</p>
      {profile.error && <p className="form-failure" role="alert">Profiling stopped: {profile.error}</p>}
      <table className="table numeric" aria-label="Schema">
        <thead><tr><th>Column</th><th>Type</th><th>Count</th><th>Nulls</th><th>Min</th><th>Max</th><th>Mean</th></tr></thead>
        <tbody>
          {profile.columns.map((c) => (
            <tr key={c.name}>
              <td><code>{c.name}</code></td><td>{c.type}</td><td>{count(c.count)}</td><td>{count(c.nulls)}</td>
              <td>{stat(c.min)}</td><td>{stat(c.max)}</td><td>{stat(c.mean)}</td>
            </tr>
          ))}
          {profile.columns.length === 0 && <tr><td colSpan={7} className="muted">No columns.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
