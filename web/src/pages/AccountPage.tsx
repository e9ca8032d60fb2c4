import { FormEvent, useCallback, useEffect, useState } from "react";
import { ApiError, Invitation, Session } from "../api";
import { api, loadInvitations, loadMe, showError, showInfo, useStore } from "../store";
import { Field, FormFailure, useSubmit, when } from "../components/Form";

/** The signed-in person's own things: invitations waiting for an answer, the password, and where they are signed in. */
export function AccountPage() {
  const me = useStore((s) => s.me)!;
  const invitations = useStore((s) => s.invitations);
  const [sessions, setSessions] = useState<Session[]>([]);
  const [passwords, setPasswords] = useState({ current: "", next: "", repeat: "" });
  const { errors, failure, busy, run } = useSubmit();

  const loadSessions = useCallback(() => { api.sessions().then((list) => setSessions(list.items)).catch(showError); }, []);
  useEffect(loadSessions, [loadSessions]);
  useEffect(() => { loadInvitations(); }, []);

  async function accept(invitation: Invitation) {
    try {
      const member = await api.acceptInvitation(invitation.id);
      await loadMe();  // the new organization joins the switcher
      showInfo(`You joined ${invitation.organization_name ?? "the organization"} as ${member.role}; choose it in the organization switcher.`);
    } catch (error) {
      showError(error);
      loadInvitations();
    }
  }

  async function decline(invitation: Invitation) {
    try {
      await api.declineInvitation(invitation.id);
      showInfo(`Invitation to ${invitation.organization_name ?? "the organization"} declined.`);
    } catch (error) {
      showError(error);
    }
    loadInvitations();
  }

  function changePassword(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      if (passwords.next !== passwords.repeat) {
        throw new ApiError({ type: "about:blank", title: "Passwords differ", status: 422, detail: "The new password and its repetition differ.",
                             errors: [{ field: "repeat_password", message: "must be the same as the new password" }] });
      }
      await api.changePassword(passwords.current, passwords.next);
      setPasswords({ current: "", next: "", repeat: "" });
      showInfo("Password changed. Your other sessions have ended; this one stays signed in.");
      loadSessions();
    });
  }

  async function end(session: Session) {
    try { await api.endSession(session.id); showInfo(`Session from ${describeAgent(session.user_agent)} ended.`); } catch (error) { showError(error); }
    loadSessions();
  }

  return (
    <section>
      <h1>Account</h1>
      <p className="muted">Signed in as <strong>{me.user.username}</strong> ({me.user.email}).</p>

      <h2 className="section-title">Invitations</h2>
      {invitations.length === 0 ? <p className="muted">No invitations are waiting for you.</p> : (
        <table className="table" aria-label="Your invitations">
          <thead><tr><th>Organization</th><th>Role</th><th>Sent</th><th>Expires</th><th><span className="visually-hidden">Answer</span></th></tr></thead>
          <tbody>
            {invitations.map((invitation) => (
              <tr key={invitation.id}>
                <td>{invitation.organization_name ?? invitation.org_id}</td>
                <td>{invitation.role}</td>
                <td>{when(invitation.created_at)}</td>
                <td>{when(invitation.expires_at)}</td>
                <td><div className="row">
                  <button type="button" onClick={() => accept(invitation)}>Accept</button>
                  <button type="button" className="danger" onClick={() => decline(invitation)}>Decline</button>
                </div></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2 className="section-title">Sessions</h2>
      <p className="muted">Where you are signed in, most recently used first. Ending a session signs that browser or program out.</p>
      <table className="table" aria-label="Sessions">
        <thead><tr><th>Browser or program</th><th>Address</th><th>Signed in</th><th>Last used</th><th>Expires</th><th><span className="visually-hidden">End</span></th></tr></thead>
        <tbody>
          {sessions.map((session) => (
            <tr key={session.id} className={session.current ? "selected" : undefined}>
              <td className="user-agent" title={session.user_agent}>{describeAgent(session.user_agent)}</td>
              <td>{session.client_address ?? "—"}</td>
              <td>{when(session.created_at)}</td>
              <td>{when(session.last_used_at)}</td>
              <td>{when(session.expires_at)}</td>
              <td>{session.current
                ? <span className="current-session">This session</span>
                : <button type="button" className="danger" aria-label={`End the session from ${describeAgent(session.user_agent)}, last used ${when(session.last_used_at)}`} onClick={() => end(session)}>End</button>}
              </td>
            </tr>
          ))}
          {sessions.length === 0 && <tr><td colSpan={6} className="muted">No sessions.</td></tr>}
        </tbody>
      </table>

      <form className="card" onSubmit={changePassword} aria-label="Change password">
        <h2>Change password</h2>
        <p className="muted">Every other session of yours ends; this one stays signed in.</p>
        <Field label="Current password" error={errors.current_password}>
          <input name="current-password" type="password" autoComplete="current-password" required value={passwords.current}
                 onChange={(e) => setPasswords({ ...passwords, current: e.target.value })} />
        </Field>
        <Field label="New password (at least 8 characters)" error={errors.new_password}>
          <input name="new-password" type="password" autoComplete="new-password" required value={passwords.next}
                 onChange={(e) => setPasswords({ ...passwords, next: e.target.value })} />
        </Field>
        <Field label="New password again" error={errors.repeat_password}>
          <input name="repeat-password" type="password" autoComplete="new-password" required value={passwords.repeat}
                 onChange={(e) => setPasswords({ ...passwords, repeat: e.target.value })} />
        </Field>
        <FormFailure text={failure} />
        <button type="submit" disabled={busy}>Change password</button>
      </form>
    </section>
  );
}

const browsers: [string, string][] = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"]];
const systems: [string, string][] = [["Android", "Android"], ["iPhone", "iOS"], ["iPad", "iPadOS"], ["Windows", "Windows"], ["Mac OS X", "macOS"], ["Linux", "Linux"]];

/** A short name for a User-Agent header ("Chrome on Linux", "aitip-cli/1.0"); the whole header is in the cell's title. */
function describeAgent(agent?: string): string {
  if (!agent) return "unknown";
  const browser = browsers.find(([mark]) => agent.includes(mark))?.[1];
  if (!browser) return agent.split(" ")[0];
  const system = systems.find(([mark]) => agent.includes(mark))?.[1];
  return system ? `${browser} on ${system}` : browser;
}
