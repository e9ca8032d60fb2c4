import { FormEvent, useCallback, useEffect, useState } from "react";
import { Member, Role } from "../api";
import { api, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";

const roles: Role[] = ["owner", "admin", "member", "viewer"];

export function MembersPage() {
  const orgId = useStore((s) => s.orgId);
  const [members, setMembers] = useState<Member[]>([]);
  const [form, setForm] = useState({ username: "", email: "", password: "", role: "member" as Role });
  const { errors, failure, busy, run } = useSubmit();

  const load = useCallback(() => {
    if (orgId) api.members(orgId).then((page) => setMembers(page.items)).catch(showError);
  }, [orgId]);
  useEffect(load, [load]);

  function add(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const member = await api.addMember(orgId!, { ...form, password: form.password || undefined });
      setForm({ username: "", email: "", password: "", role: "member" });
      showInfo(`${member.username} added as ${member.role}.`);
      load();
    });
  }

  async function change(member: Member, role: Role) {
    try { await api.setRole(orgId!, member.user_id, role); showInfo(`${member.username} is now ${role}.`); } catch (error) { showError(error); }
    load();
  }

  async function remove(member: Member) {
    if (!window.confirm(`Remove ${member.username} from this organization?`)) return;
    try { await api.removeMember(orgId!, member.user_id); showInfo(`${member.username} removed.`); load(); } catch (error) { showError(error); }
  }

  return (
    <section>
      <h1>Members</h1>
      <table className="table">
        <thead><tr><th>User</th><th>Email</th><th>Role</th><th>Since</th><th /></tr></thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.user_id}>
              <td>{m.username}</td>
              <td>{m.email}</td>
              <td>
                <select aria-label={`Role of ${m.username}`} value={m.role} onChange={(e) => change(m, e.target.value as Role)}>
                  {roles.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </td>
              <td>{when(m.created_at)}</td>
              <td><button type="button" className="danger" onClick={() => remove(m)}>Remove</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="card" onSubmit={add} aria-label="Add member">
        <h2>Add a member</h2>
        <p className="muted">An existing account is added by username or email; with a password, a new account is created.</p>
        <Field label="Username" error={errors.username}><input name="username" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} /></Field>
        <Field label="Email" error={errors.email}><input name="email" type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} /></Field>
        <Field label="Password (new accounts)" error={errors.password}><input name="password" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} /></Field>
        <Field label="Role" error={errors.role}>
          <select name="role" value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            {roles.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </Field>
        <FormFailure text={failure} />
        <button type="submit" disabled={busy}>Add member</button>
      </form>
    </section>
  );
}
