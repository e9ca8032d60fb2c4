import { FormEvent, useCallback, useEffect, useState } from "react";
import { Invitation, Member, Role } from "../api";
import { api, loadMe, permissionsHere, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";

const roles: Role[] = ["owner", "admin", "member", "viewer"];

/** What an invitation's status means now: a pending one past its expiry can no longer be accepted. */
function invitationState(invitation: Invitation): string {
  return invitation.status === "pending" && new Date(invitation.expires_at).getTime() < Date.now() ? "expired" : invitation.status;
}

export function MembersPage() {
  const orgId = useStore((s) => s.orgId);
  const me = useStore((s) => s.me)!;
  const { role: myRole, can } = permissionsHere(me, orgId);
  const mayManage = can("members:write");
  // Only owners grant, change or take away the owner role.
  const grantable = roles.filter((r) => r !== "owner" || myRole === "owner");
  const mayChange = (member: Member) => mayManage && (member.role !== "owner" || myRole === "owner");

  const [members, setMembers] = useState<Member[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [invite, setInvite] = useState({ name: "", role: "member" as Role });
  const [account, setAccount] = useState({ username: "", email: "", password: "", role: "member" as Role });
  const inviting = useSubmit();
  const creating = useSubmit();

  const load = useCallback(() => {
    if (orgId) api.members(orgId).then((page) => setMembers(page.items)).catch(showError);
  }, [orgId]);
  useEffect(load, [load]);

  const loadInvitations = useCallback((cursor?: string) => {
    if (!orgId || !mayManage) { setInvitations([]); setNext(undefined); return; }
    api.invitations(orgId, cursor).then((page) => {
      setInvitations((current) => (cursor ? [...current, ...page.items] : page.items));
      setNext(page.next_cursor);
    }).catch(showError);
  }, [orgId, mayManage]);
  useEffect(() => loadInvitations(), [loadInvitations]);

  function sendInvitation(event: FormEvent) {
    event.preventDefault();
    inviting.run(async () => {
      const name = invite.name.trim();
      const sent = await api.invite(orgId!, { ...(name.includes("@") ? { email: name } : { username: name }), role: invite.role });
      setInvite({ name: "", role: "member" });
      showInfo(`Invitation sent to ${sent.invitee}: they join as ${sent.role} when they accept.`);
      loadInvitations();
    });
  }

  function createAccount(event: FormEvent) {
    event.preventDefault();
    creating.run(async () => {
      const member = await api.createMember(orgId!, account);
      setAccount({ username: "", email: "", password: "", role: "member" });
      showInfo(`Account ${member.username} created and added as ${member.role}.`);
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

  async function leave(member: Member) {
    if (!window.confirm("Leave this organization? You lose access to its projects.")) return;
    try { await api.removeMember(orgId!, member.user_id); showInfo("You left the organization."); await loadMe(); } catch (error) { showError(error); }
  }

  async function withdraw(invitation: Invitation) {
    try {
      await api.withdrawInvitation(orgId!, invitation.id);
      showInfo(`Invitation to ${invitation.invitee} withdrawn.`);
    } catch (error) {
      showError(error);
    }
    loadInvitations();
  }

  return (
    <section>
      <h1>Members</h1>
      <table className="table" aria-label="Members">
        <thead><tr><th>User</th><th>Email</th><th>Role</th><th>Since</th><th /></tr></thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.user_id}>
              <td>{m.username}</td>
              <td>{m.email}</td>
              <td>
                {mayChange(m) ? (
                  <select aria-label={`Role of ${m.username}`} value={m.role} onChange={(e) => change(m, e.target.value as Role)}>
                    {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
                  </select>
                ) : m.role}
              </td>
              <td>{when(m.created_at)}</td>
              <td>
                {m.user_id === me.user.id
                  ? <button type="button" className="danger" onClick={() => leave(m)}>Leave</button>
                  : mayChange(m) && <button type="button" className="danger" onClick={() => remove(m)}>Remove</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {mayManage && (
        <>
          <h2 className="section-title">Invitations</h2>
          <table className="table" aria-label="Invitations">
            <thead><tr><th>Invitee</th><th>Role</th><th>Status</th><th>Sent</th><th>Expires</th><th><span className="visually-hidden">Withdraw</span></th></tr></thead>
            <tbody>
              {invitations.map((invitation) => {
                const state = invitationState(invitation);
                return (
                  <tr key={invitation.id}>
                    <td>{invitation.invitee}</td>
                    <td>{invitation.role}</td>
                    <td className={`invitation-${state}`}>{state}{invitation.responded_at ? ` ${when(invitation.responded_at)}` : ""}</td>
                    <td>{when(invitation.created_at)}</td>
                    <td>{state === "pending" ? when(invitation.expires_at) : "—"}</td>
                    <td>{state === "pending" && (
                      <button type="button" className="danger" aria-label={`Withdraw the invitation to ${invitation.invitee}`} onClick={() => withdraw(invitation)}>Withdraw</button>
                    )}</td>
                  </tr>
                );
              })}
              {invitations.length === 0 && <tr><td colSpan={6} className="muted">No invitations sent.</td></tr>}
            </tbody>
          </table>
          {next && <button type="button" onClick={() => loadInvitations(next)}>Load more</button>}

          <div className="member-forms">
            <form className="card" onSubmit={sendInvitation} aria-label="Invite member">
              <h2>Invite someone</h2>
              <p className="muted">An existing account, by username or email. They join when they accept the invitation on their account page.</p>
              <Field label="Username or email" error={inviting.errors.username ?? inviting.errors.email ?? inviting.errors.user_id}>
                <input name="invitee" required value={invite.name} onChange={(e) => setInvite({ ...invite, name: e.target.value })} />
              </Field>
              <Field label="Role" error={inviting.errors.role}>
                <select name="invite-role" value={invite.role} onChange={(e) => setInvite({ ...invite, role: e.target.value as Role })}>
                  {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </Field>
              <FormFailure text={inviting.failure} />
              <button type="submit" disabled={inviting.busy}>Send invitation</button>
            </form>

            <form className="card" onSubmit={createAccount} aria-label="New account">
              <h2>Create an account</h2>
              <p className="muted">For someone without an account: it is created with this password and is a member at once.</p>
              <Field label="Username" error={creating.errors.username}>
                <input name="username" required value={account.username} onChange={(e) => setAccount({ ...account, username: e.target.value })} />
              </Field>
              <Field label="Email" error={creating.errors.email}>
                <input name="email" type="email" required value={account.email} onChange={(e) => setAccount({ ...account, email: e.target.value })} />
              </Field>
              <Field label="Password" error={creating.errors.password}>
                <input name="password" type="password" required autoComplete="new-password" value={account.password} onChange={(e) => setAccount({ ...account, password: e.target.value })} />
              </Field>
              <Field label="Role" error={creating.errors.role}>
                <select name="role" value={account.role} onChange={(e) => setAccount({ ...account, role: e.target.value as Role })}>
                  {grantable.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </Field>
              <FormFailure text={creating.failure} />
              <button type="submit" disabled={creating.busy}>Create account</button>
            </form>
          </div>
        </>
      )}
      {!mayManage && <p className="muted">Your role ({myRole ?? "none"}) cannot invite or change members.</p>}
    </section>
  );
}
