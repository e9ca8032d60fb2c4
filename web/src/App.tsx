import { ComponentType, useEffect } from "react";
import { api, loadMe, maySignInWithCookie, store, useStore } from "./store";
import { Link, PageName, to, useRoute } from "./router";
import { LoginPage } from "./pages/LoginPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { MembersPage } from "./pages/MembersPage";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { AuditPage } from "./pages/AuditPage";
import { ExperimentsPage } from "./pages/ExperimentsPage";
import { ModelsPage } from "./pages/ModelsPage";
import { InferencePage } from "./pages/InferencePage";
import { ReleasesPage } from "./pages/ReleasesPage";
import { AgentPage } from "./pages/AgentPage";
import { JobsPage } from "./pages/JobsPage";
import { EvaluationsPage } from "./pages/EvaluationsPage";
import { TestsPage } from "./pages/TestsPage";
import { SimulationsPage } from "./pages/SimulationsPage";
import { DatasetsPage } from "./pages/DatasetsPage";
import { ResourcesPage } from "./pages/ResourcesPage";
import { AccountPage } from "./pages/AccountPage";
import { Header, NavEntry } from "./components/Header";
import { MessageLine } from "./components/MessageLine";

/** The page that shows each address of the route table (router.tsx); a page reads its address with useRoute(). */
const pages: Record<PageName, ComponentType> = {
  projects: ProjectsPage, experiments: ExperimentsPage, models: ModelsPage, datasets: DatasetsPage, jobs: JobsPage, inference: InferencePage,
  evaluations: EvaluationsPage, tests: TestsPage, simulations: SimulationsPage, releases: ReleasesPage, agent: AgentPage,
  resources: ResourcesPage, members: MembersPage, "api-keys": ApiKeysPage, audit: AuditPage, account: AccountPage,
};

/** The navigation; the account page is reached from the user's corner of the header. */
export const navigation: NavEntry[] = [
  { page: "projects", label: "Projects", path: to("projects") },
  { page: "experiments", label: "Experiments", path: to("experiments") },
  { page: "models", label: "Models", path: to("models") },
  { page: "datasets", label: "Datasets", path: to("datasets") },
  { page: "jobs", label: "Jobs", path: to("jobs") },
  { page: "inference", label: "Inference", path: to("inference") },
  { page: "evaluations", label: "Evaluations", path: to("evaluations") },
  { page: "tests", label: "Tests", path: to("testPlans") },
  { page: "simulations", label: "Simulation", path: to("simulations") },
  { page: "releases", label: "Releases", path: to("releases") },
  { page: "agent", label: "Agent", path: to("agent") },
  { page: "resources", label: "Resources", path: to("resources") },
  { page: "members", label: "Members", path: to("members") },
  { page: "api-keys", label: "API keys", path: to("apiKeys") },
  { page: "audit", label: "Audit log", path: to("audit") },
];

export function App() {
  const accessToken = useStore((s) => s.accessToken);
  const restoring = useStore((s) => s.restoring);
  const me = useStore((s) => s.me);
  const theme = useStore((s) => s.theme);
  const route = useRoute();

  useEffect(() => { document.documentElement.dataset.theme = theme; }, [theme]);
  // A message belongs to the page it was shown on; moving within a page (a tab, an entity) keeps it.
  useEffect(() => { store.update({ message: null }); }, [route.page]);

  // No token is stored: a reload asks the server for a new access token with the HttpOnly session cookie, if any.
  useEffect(() => {
    const restored = maySignInWithCookie() ? api.restore() : Promise.resolve(false);
    restored.finally(() => store.update({ restoring: false }));
  }, []);

  useEffect(() => {
    if (!accessToken || me) return;
    loadMe();
  }, [accessToken, me]);

  // Signed out, the address stays in the address bar while the sign-in form shows; signing in shows what it names.
  if (!accessToken && restoring) return <div className="loading" role="status">Loading…</div>;
  if (!accessToken) return (<><MessageLine /><LoginPage /></>);
  if (!me) return <div className="loading" role="status">Loading…</div>;
  const Page = route.page === "notFound" ? NotFound : pages[route.page];
  return (
    <div className="shell">
      <Header navigation={navigation} active={route.page} />
      <MessageLine />
      <main id="main"><Page /></main>
    </div>
  );
}

/** An address the route table does not know (a mistyped or outdated link). */
function NotFound() {
  const route = useRoute();
  return (
    <section className="not-found">
      <h1>Page not found</h1>
      <p>The console has no page at <code>#/{route.path}</code>.</p>
      <p><Link to={to("projects")}>Go to the projects</Link></p>
    </section>
  );
}
