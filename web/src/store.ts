// The console's small state store: the access token (in memory only), the current user, the chosen organization and
// project, the theme and a message line. Components read it with useSyncExternalStore; nothing polls.
// Only the organization, project and theme choices, and whether the page was signed in, are kept in localStorage; no
// token is ever written there.
import { useSyncExternalStore } from "react";
import { Api, Invitation, Me, Project, Role, TokenKeeper } from "./api";

export type Theme = "light" | "dark";

export interface State {
  /** The access token. The refresh token is an HttpOnly cookie the page cannot read. */
  accessToken: string | null;
  /** True while the page, just loaded, asks whether a session cookie still signs it in. */
  restoring: boolean;
  me: Me | null;
  /** Invitations waiting for my answer (counted in the header, answered on the account page). */
  invitations: Invitation[];
  orgId: string | null;
  projectId: string | null;
  /** Projects of the current organization, shared by the switcher and the projects page. */
  projects: Project[];
  theme: Theme;
  message: { kind: "error" | "info"; text: string } | null;
}

const saved = (key: string) => window.localStorage.getItem(`aitip.${key}`);
// Earlier consoles kept both tokens here; remove them.
window.localStorage.removeItem("aitip.tokens");

class Store implements TokenKeeper {
  private state: State = {
    accessToken: null,
    restoring: true,
    me: null,
    invitations: [],
    orgId: saved("org"),
    projectId: saved("project"),
    projects: [],
    theme: (saved("theme") as Theme) ?? (window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light"),
    message: null,
  };
  private listeners = new Set<() => void>();

  readonly subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  readonly snapshot = () => this.state;

  update(change: Partial<State>) {
    this.state = { ...this.state, ...change };
    // Not a secret: only whether a session cookie is worth asking about when the page loads, so a signed-out
    // visitor's page loads spend none of the address's sign-in budget.
    if (this.state.accessToken) persist("signed_in", "1");
    else if (!this.state.restoring) persist("signed_in", null);
    persist("org", this.state.orgId);
    persist("project", this.state.projectId);
    persist("theme", this.state.theme);
    this.listeners.forEach((listener) => listener());
  }

  accessToken() { return this.state.accessToken; }
  replace(accessToken: string | null) { this.update(accessToken ? { accessToken } : { accessToken: null, me: null, invitations: [] }); }
}

function persist(key: string, value: string | null) {
  if (value === null) window.localStorage.removeItem(`aitip.${key}`);
  else window.localStorage.setItem(`aitip.${key}`, value);
}

export const store = new Store();

/** Whether a session cookie may sign this page in (the page was signed in when it was last used). */
export function maySignInWithCookie() { return saved("signed_in") === "1"; }
export const api = new Api(store);

export function useStore<T>(select: (state: State) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.snapshot()));
}

export function showError(error: unknown) {
  const text = error instanceof Error ? error.message : String(error);
  store.update({ message: { kind: "error", text } });
}

export function showInfo(text: string) {
  store.update({ message: { kind: "info", text } });
}

/** Reloads the signed-in user and their organizations (after joining or leaving one), keeping the chosen organization
 *  when it is still theirs; then the invitations waiting for them. */
export async function loadMe() {
  try {
    const loaded = await api.me();
    const orgIds = loaded.memberships.map((m) => m.organization.id);
    const chosen = store.snapshot().orgId;
    const orgId = chosen && orgIds.includes(chosen) ? chosen : orgIds[0] ?? null;
    store.update(orgId === chosen ? { me: loaded } : { me: loaded, orgId, projectId: null, projects: [] });
  } catch (error) {
    showError(error);
    return;
  }
  await loadInvitations();
}

export async function loadInvitations() {
  try {
    const received = await api.myInvitations();
    store.update({ invitations: received.items });
  } catch (error) {
    showError(error);
  }
}

/** The permissions the signed-in user has in the current organization. */
export function permissionsHere(me: Me | null, orgId: string | null): { role: Role | null; can: (permission: string) => boolean } {
  const membership = me?.memberships.find((m) => m.organization.id === orgId);
  return { role: membership?.role ?? null, can: (permission) => membership?.permissions.includes(permission) ?? false };
}

/** Reloads the current organization's projects and keeps the chosen project valid. */
export async function loadProjects() {
  const orgId = store.snapshot().orgId;
  if (!orgId) return;
  try {
    const page = await api.projects(orgId);
    if (store.snapshot().orgId !== orgId) return;  // the user switched meanwhile
    const chosen = store.snapshot().projectId;
    store.update({ projects: page.items, projectId: page.items.some((p) => p.id === chosen) ? chosen : page.items[0]?.id ?? null });
  } catch (error) {
    showError(error);
  }
}

/** Makes `projectId` the chosen project, switching to its organization when it is another's: an address names an
 *  entity of that project. False where it cannot be chosen (unreadable, or an organization the user is not in). */
export async function selectProject(projectId: string): Promise<boolean> {
  const before = store.snapshot();
  if (before.projectId === projectId) return true;
  if (before.projects.some((p) => p.id === projectId)) {
    store.update({ projectId });
    return true;
  }
  try {
    const project = await api.project(projectId);
    const now = store.snapshot();
    if (!now.me?.memberships.some((m) => m.organization.id === project.org_id)) return false;
    if (now.orgId === project.org_id) {
      store.update({ projectId });
      await loadProjects();  // the switcher's list did not have it yet
    } else {
      store.update({ orgId: project.org_id, projectId, projects: [] });  // the header loads that organization's projects
    }
    return true;
  } catch {
    return false;
  }
}
