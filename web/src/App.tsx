import { useEffect, useState } from "react";
import { api, loadMe, maySignInWithCookie, store, useStore } from "./store";
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
import { AccountPage } from "./pages/AccountPage";
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

/** Pages reached from elsewhere than the navigation: the account page from the user's corner of the header. */
const otherRoutes = [{ path: "account", label: "Account", page: AccountPage }] as const;

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
  const accessToken = useStore((s) => s.accessToken);
  const restoring = useStore((s) => s.restoring);
  const me = useStore((s) => s.me);
  const theme = useStore((s) => s.theme);
  const route = useHashRoute();

  useEffect(() => { document.documentElement.dataset.theme = theme; }, [theme]);
  useEffect(() => { store.update({ message: null }); }, [route]);

  // No token is stored: a reload asks the server for a new access token with the HttpOnly session cookie, if any.
  useEffect(() => {
    const restored = maySignInWithCookie() ? api.restore() : Promise.resolve(false);
    restored.finally(() => store.update({ restoring: false }));
  }, []);

  useEffect(() => {
    if (!accessToken || me) return;
    loadMe();
  }, [accessToken, me]);

  if (!accessToken && restoring) return <div className="loading" role="status">Loading…</div>;
  if (!accessToken) return (<><MessageLine /><LoginPage /></>);
  if (!me) return <div className="loading" role="status">Loading…</div>;
  const current = [...routes, ...otherRoutes].find((r) => r.path === route) ?? routes[0];
  const Page = current.page;
  return (
    <div className="shell">
      <Header routes={routes} active={current.path} />
      <MessageLine />
      <main id="main"><Page /></main>
    </div>
  );
}
