import { useEffect, useState } from "react";
import { api, showError, store, useStore } from "./store";
import { LoginPage } from "./pages/LoginPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { MembersPage } from "./pages/MembersPage";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { AuditPage } from "./pages/AuditPage";
import { ExperimentsPage } from "./pages/ExperimentsPage";
import { ModelsPage } from "./pages/ModelsPage";
import { JobsPage } from "./pages/JobsPage";
import { DatasetsPage } from "./pages/DatasetsPage";
import { ResourcesPage } from "./pages/ResourcesPage";
import { Header } from "./components/Header";
import { MessageLine } from "./components/MessageLine";

export const routes = [
  { path: "projects", label: "Projects", page: ProjectsPage },
  { path: "experiments", label: "Experiments", page: ExperimentsPage },
  { path: "models", label: "Models", page: ModelsPage },
  { path: "datasets", label: "Datasets", page: DatasetsPage },
  { path: "jobs", label: "Jobs", page: JobsPage },
  { path: "resources", label: "Resources", page: ResourcesPage },
  { path: "members", label: "Members", page: MembersPage },
  { path: "api-keys", label: "API keys", page: ApiKeysPage },
  { path: "audit", label: "Audit log", page: AuditPage },
] as const;

/** The hash names the page (#/projects); no router library is installable, and none is needed. */
function useHashRoute(): string {
  const read = () => window.location.hash.replace(/^#\/?/, "").split("?")[0] || "projects";
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function App() {
  const tokens = useStore((s) => s.tokens);
  const me = useStore((s) => s.me);
  const theme = useStore((s) => s.theme);
  const route = useHashRoute();

  useEffect(() => { document.documentElement.dataset.theme = theme; }, [theme]);
  useEffect(() => { store.update({ message: null }); }, [route]);

  useEffect(() => {
    if (!tokens || me) return;
    api.me().then((loaded) => {
      const orgIds = loaded.memberships.map((m) => m.organization.id);
      const orgId = orgIds.includes(store.snapshot().orgId ?? "") ? store.snapshot().orgId : orgIds[0] ?? null;
      store.update({ me: loaded, orgId });
    }).catch(showError);
  }, [tokens, me]);

  if (!tokens) return (<><MessageLine /><LoginPage /></>);
  if (!me) return <div className="loading" role="status">Loading…</div>;
  const current = routes.find((r) => r.path === route) ?? routes[0];
  const Page = current.page;
  return (
    <div className="shell">
      <Header routes={routes} active={current.path} />
      <MessageLine />
      <main id="main"><Page /></main>
    </div>
  );
}
