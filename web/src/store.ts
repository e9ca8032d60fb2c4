// The console's small state store: session tokens, the current user, the chosen organization and project, the
// theme and a message line. Components read it with useSyncExternalStore; nothing polls.
import { useSyncExternalStore } from "react";
import { Api, Me, Project, Tokens, TokenKeeper } from "./api";

export type Theme = "light" | "dark";

export interface State {
  tokens: Tokens | null;
  me: Me | null;
  orgId: string | null;
  projectId: string | null;
  /** Projects of the current organization, shared by the switcher and the projects page. */
  projects: Project[];
  theme: Theme;
  message: { kind: "error" | "info"; text: string } | null;
}

const saved = (key: string) => window.localStorage.getItem(`aitip.${key}`);

class Store implements TokenKeeper {
  private state: State = {
    tokens: JSON.parse(saved("tokens") ?? "null"),
    me: null,
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
    persist("tokens", this.state.tokens ? JSON.stringify(this.state.tokens) : null);
    persist("org", this.state.orgId);
    persist("project", this.state.projectId);
    persist("theme", this.state.theme);
    this.listeners.forEach((listener) => listener());
  }

  tokens() { return this.state.tokens; }
  replace(tokens: Tokens | null) { this.update(tokens ? { tokens } : { tokens: null, me: null }); }
}

function persist(key: string, value: string | null) {
  if (value === null) window.localStorage.removeItem(`aitip.${key}`);
  else window.localStorage.setItem(`aitip.${key}`, value);
}

export const store = new Store();
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
