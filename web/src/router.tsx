// The console's addresses: a hash router small enough to read in one sitting (no router library is installable, and
// none is needed). Every page, entity and tab has an address such as #/experiments/<id>/runs/<run_id>?tab=artifacts:
// the route table below maps hash paths with parameters to pages, `useRoute()` reads the current one, `to()` builds
// one (pages never write hash strings by hand), `navigate()` goes there and `Link` is an anchor to one.
// The path names what is shown (a page, an entity); the query (after `?`) holds how it is shown: a tab, a chosen
// version, filters, the runs compared. Back and Forward move between addresses, and a reload shows the same view.
import { AnchorHTMLAttributes, useEffect, useRef, useSyncExternalStore } from "react";
import { selectProject, store, useStore } from "./store";

/** Every address of the console: its name, its path pattern (`:name` is a parameter, one path segment) and the page
 *  that shows it. Query parameters each page reads are listed beside it (docs/web.md has the whole table). */
export const routeTable = {
  home: { path: "", page: "projects" },
  projects: { path: "projects", page: "projects" },
  /** ?filter=&order= (MLflow's filter grammar and order_by), &status=&after= (added to the filter), &cols= (columns) */
  experiments: { path: "experiments", page: "experiments" },
  experiment: { path: "experiments/:experimentId", page: "experiments" },
  /** ?tab=metrics|artifacts, and the runs table's ?filter=&order= */
  run: { path: "experiments/:experimentId/runs/:runId", page: "experiments" },
  /** ?runs=<id>,<id>,…, and the runs table's ?filter=&order= */
  compare: { path: "experiments/:experimentId/compare", page: "experiments" },
  /** ?filter= (MLflow's trace search grammar) */
  traces: { path: "experiments/:experimentId/traces", page: "experiments" },
  /** ?span=<span id> (the span whose details are shown), and the traces list's ?filter= */
  trace: { path: "experiments/:experimentId/traces/:traceId", page: "experiments" },
  models: { path: "models", page: "models" },
  /** ?project=<project id> (a model's name is unique within its project only) */
  model: { path: "models/:model", page: "models" },
  modelVersion: { path: "models/:model/versions/:version", page: "models" },
  /** ?q= (part of the name) */
  datasets: { path: "datasets", page: "datasets" },
  /** ?version=<name>&tab=files|schema|lineage|annotations */
  dataset: { path: "datasets/:datasetId", page: "datasets" },
  jobs: { path: "jobs", page: "jobs" },
  job: { path: "jobs/:jobId", page: "jobs" },
  inference: { path: "inference", page: "inference" },
  inferenceService: { path: "inference/:serviceId", page: "inference" },
  evaluations: { path: "evaluations", page: "evaluations" },
  evaluation: { path: "evaluations/:evaluationId", page: "evaluations" },
  testPlans: { path: "tests", page: "tests" },
  /** ?execution=<execution id> (the execution whose cases are shown) */
  testPlan: { path: "tests/:planId", page: "tests" },
  simulations: { path: "simulations", page: "simulations" },
  simulationEnvironment: { path: "simulations/:envId", page: "simulations" },
  simulationRun: { path: "simulations/:envId/runs/:runId", page: "simulations" },
  releases: { path: "releases", page: "releases" },
  release: { path: "releases/:releaseId", page: "releases" },
  agent: { path: "agent", page: "agent" },
  /** ?from=&to= (UTC days) &group=project|user|gpu_type|day|organization */
  resources: { path: "resources", page: "resources" },
  members: { path: "members", page: "members" },
  apiKeys: { path: "api-keys", page: "api-keys" },
  /** ?action=&outcome= */
  audit: { path: "audit", page: "audit" },
  account: { path: "account", page: "account" },
} as const;

type Table = typeof routeTable;
export type RouteName = keyof Table;
export type PageName = Table[RouteName]["page"];

type ParamNames<P extends string> =
  P extends `${string}:${infer Name}/${infer Rest}` ? Name | ParamNames<Rest> : P extends `${string}:${infer Name}` ? Name : never;
export type ParamsOf<N extends RouteName> = { [K in ParamNames<Table[N]["path"]>]: string };
/** Query parameters to write; empty, null and undefined ones are left out. */
export type Query = Record<string, string | null | undefined>;
type Args<N extends RouteName> = [ParamNames<Table[N]["path"]>] extends [never]
  ? [params?: Record<string, never>, query?: Query] : [params: ParamsOf<N>, query?: Query];

export interface Route {
  /** The route table's name, or "notFound" for an address the console does not know. */
  name: RouteName | "notFound";
  page: PageName | "notFound";
  params: Record<string, string>;
  query: Record<string, string>;
  /** The address without `#/`, as in the address bar. */
  path: string;
}

const names = Object.keys(routeTable) as RouteName[];

/** The path (without `#/`) of a route: `to("run", { experimentId, runId }, { tab: "artifacts" })`. */
export function to<N extends RouteName>(name: N, ...[params, query]: Args<N>): string {
  const values = (params ?? {}) as Record<string, string>;
  const path = routeTable[name].path.split("/").map((part) => (part.startsWith(":") ? encodeURIComponent(values[part.slice(1)]) : part)).join("/");
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** The `href` of an address built by `to()`. */
export function href(path: string): string { return `#/${path}`; }

/** Reads a hash (`#/datasets/<id>?tab=schema`) against the route table. */
export function parse(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const cut = raw.indexOf("?");
  const pathText = (cut < 0 ? raw : raw.slice(0, cut)).replace(/\/+$/, "");
  const query = Object.fromEntries(new URLSearchParams(cut < 0 ? "" : raw.slice(cut + 1)));
  const notFound: Route = { name: "notFound", page: "notFound", params: {}, query, path: raw };
  let segments: string[];
  try {
    segments = pathText === "" ? [] : pathText.split("/").map(decodeURIComponent);
  } catch {
    return notFound;  // a malformed %-escape
  }
  for (const name of names) {
    const pattern = routeTable[name].path === "" ? [] : routeTable[name].path.split("/");
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((part, i) => {
      if (!part.startsWith(":")) return part === segments[i];
      params[part.slice(1)] = segments[i];
      return segments[i] !== "";
    });
    if (matches) return { name, page: routeTable[name].page, params, query, path: raw };
  }
  return notFound;
}

const listeners = new Set<() => void>();
function subscribe(listener: () => void) {
  listeners.add(listener);
  window.addEventListener("hashchange", listener);
  window.addEventListener("popstate", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("hashchange", listener);
    window.removeEventListener("popstate", listener);
  };
}

let parsed: { hash: string; route: Route } | null = null;
/** The current address, parsed once per hash (so the same object while it stays). */
export function currentRoute(): Route {
  const hash = window.location.hash;
  if (parsed?.hash !== hash) parsed = { hash, route: parse(hash) };
  return parsed.route;
}

/** The current address; the component renders again when it changes (a link, navigate(), Back, Forward, typing). */
export function useRoute(): Route {
  return useSyncExternalStore(subscribe, currentRoute);
}

/** Goes to an address built by `to()`: a new history entry, or with `replace` the current one is rewritten (for
 *  changes as you type, which should not each take a Back press). */
export function navigate(path: string, options: { replace?: boolean } = {}) {
  const target = href(path);
  if (window.location.hash === target) return;
  if (options.replace) window.history.replaceState(window.history.state, "", target);
  else window.history.pushState(null, "", target);
  listeners.forEach((listener) => listener());
}

/** An anchor to an address built by `to()`: a plain link, so it can be opened in a new tab or copied. */
export function Link({ to: path, ...rest }: { to: string } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href">) {
  return <a href={href(path)} {...rest} />;
}

/** An address names an entity by id, and the entity belongs to a project that may not be the one chosen in the
 *  switcher: once `entityProjectId` is known, the switcher moves to it (and to its organization), so the page's lists
 *  and forms are that project's. When the user then chooses another project, `leave` is called (the page goes back to
 *  its list). Where the project cannot be chosen (not a member of its organization), the entity is shown anyway. */
export function useProjectOf(entityProjectId: string | undefined, leave: () => void) {
  const projectId = useStore((s) => s.projectId);
  const state = useRef<{ entity?: string; status: "none" | "pending" | "adopted" | "foreign"; baseline?: string | null }>({ status: "none" });
  const onLeave = useRef(leave);
  onLeave.current = leave;
  useEffect(() => {
    if (!entityProjectId) return;
    if (state.current.entity !== entityProjectId) state.current = { entity: entityProjectId, status: "none" };
    const now = state.current;
    if (projectId === entityProjectId) { now.status = "adopted"; return; }
    if (now.status === "none") {
      now.status = "pending";
      selectProject(entityProjectId).then((chosen) => {
        if (!chosen && state.current === now) { now.status = "foreign"; now.baseline = store.snapshot().projectId; }
      });
    } else if (now.status === "adopted" || (now.status === "foreign" && projectId !== now.baseline)) {
      onLeave.current();
    }
  }, [entityProjectId, projectId]);
}
