import { useEffect, useState } from "react";
import { api, loadProjects, showError, store, useStore } from "../store";
import { href, navigate, to } from "../router";

/** A page in the navigation: its name (router's PageName) and address. */
export interface NavEntry { page: string; label: string; path: string }
interface Props { navigation: NavEntry[]; active: string }

export function Header({ navigation, active }: Props) {
  const me = useStore((s) => s.me)!;
  const orgId = useStore((s) => s.orgId);
  const projectId = useStore((s) => s.projectId);
  const theme = useStore((s) => s.theme);
  const projects = useStore((s) => s.projects);
  const invitations = useStore((s) => s.invitations.length);
  const [search, setSearch] = useState("");

  useEffect(() => { loadProjects(); }, [orgId]);

  const matches = search.trim() ? projects.filter((p) => `${p.name} ${p.slug}`.toLowerCase().includes(search.trim().toLowerCase())) : [];

  return (
    <header className="header">
      <a className="brand" href={href(to("projects"))}>aitip</a>
      <label className="switcher">
        <span>Organization</span>
        <select aria-label="Organization" value={orgId ?? ""} onChange={(e) => store.update({ orgId: e.target.value, projectId: null, projects: [] })}>
          {me.memberships.map((m) => <option key={m.organization.id} value={m.organization.id}>{m.organization.name} ({m.role})</option>)}
        </select>
      </label>
      <label className="switcher">
        <span>Project</span>
        <select aria-label="Project" value={projectId ?? ""} onChange={(e) => store.update({ projectId: e.target.value })}>
          {projects.length === 0 && <option value="">No projects</option>}
          {projects.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
        </select>
      </label>
      <div className="search">
        <input type="search" placeholder="Search projects…" aria-label="Search" value={search} onChange={(e) => setSearch(e.target.value)}
               onKeyDown={(e) => { if (e.key === "Enter" && matches[0]) { store.update({ projectId: matches[0].id }); setSearch(""); } }} />
        {matches.length > 0 && (
          <ul className="search-results" role="listbox">
            {matches.slice(0, 8).map((p) => (
              <li key={p.id}><button type="button" onClick={() => { store.update({ projectId: p.id }); setSearch(""); navigate(to("projects")); }}>{p.name}</button></li>
            ))}
          </ul>
        )}
      </div>
      <nav aria-label="Pages">
        {navigation.map((n) => <a key={n.page} href={href(n.path)} aria-current={n.page === active ? "page" : undefined}>{n.label}</a>)}
      </nav>
      <div className="user">
        <button type="button" aria-label="Toggle dark theme" onClick={() => store.update({ theme: theme === "dark" ? "light" : "dark" })}>
          {theme === "dark" ? "Light" : "Dark"}
        </button>
        <span className="who">{me.user.username}</span>
        <a className="account-link" href={href(to("account"))} aria-current={active === "account" ? "page" : undefined}>
          Account
          {invitations > 0 && <span className="badge" title={`${invitations} invitation${invitations === 1 ? "" : "s"} waiting`}>
            {invitations}<span className="visually-hidden"> invitation{invitations === 1 ? "" : "s"} waiting</span>
          </span>}
        </a>
        <button type="button" onClick={() => api.logout().catch(showError)}>Sign out</button>
      </div>
    </header>
  );
}
