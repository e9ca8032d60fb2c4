// Typed client for the native API (Sources/AITIPAPI/openapi.yaml). Every failure becomes an ApiError carrying the
// server's problem+json, so pages can show its detail and field errors.

// The models are the OpenAPI document's schemas (api.gen.ts, written by web/gen-api-types.py on every build), so tsc
// checks each page against the API the server implements. Only shapes the document does not name are declared here.
import type {
  Annotation, AnnotationCreate, AnnotationUpdate, ApiKey, ApiKeyCreated, AuditEntry, DataProfile, Dataset, DatasetCreate, DatasetFile,
  DatasetFileList, DatasetFormat, DatasetVersion, Experiment, FieldError, GpuNode, InferenceService, InferenceServiceMetrics, Invitation, LineageEdge, LineageGraph, LineageNode, Me,
  Member, MembershipSummary, MetricSeries, MetricValue, Model, ModelDetail, ModelVersion, Organization, Problem, Project, Quota, QuotaSet,
  Resources, Role, Run, RunDatasetInput, RunModelVersionList, Session, TokenResponse, Trace, TraceDetail, TraceSpan, TrainingJob, TrainingJobCreate, TrainingMetrics,
  UsageLine, UsageReport, User, EvaluationJob, EvaluationResults, TestPlan, TestExecution, TestCaseList, TestCaseHistory,
  MeanWithStderr, SimulationEnvironment, SimulationFrames, SimulationRun, Release, AgentTool, AgentExecution, AgentPlan,
} from "./api.gen";
export type {
  Annotation, AnnotationCreate, AnnotationUpdate, ApiKey, ApiKeyCreated, AuditEntry, DataProfile, Dataset, DatasetCreate, DatasetFile,
  DatasetFileList, DatasetFormat, DatasetVersion, Experiment, FieldError, GpuNode, InferenceService, InferenceServiceMetrics, Invitation, LineageEdge, LineageGraph, LineageNode, Me,
  Member, MembershipSummary, MetricSeries, MetricValue, Model, ModelDetail, ModelVersion, Organization, Problem, Project, Quota, QuotaSet,
  Role, Run, RunDatasetInput, RunModelVersionList, Session, TokenResponse, Trace, TraceDetail, TraceSpan, TrainingJob, UsageLine, UsageReport, User,
  EvaluationJob, EvaluationResults, TestPlan, TestExecution, TestCaseList, TestCaseHistory,
  MeanWithStderr, SimulationEnvironment, SimulationFrames, SimulationRun, Release, AgentTool, AgentExecution, AgentPlan,
};

export type InvitationStatus = Invitation["status"];
/** A change the console makes to the registry: to the model, or to one version when `version` is given. */
export type RegistryChange =
  | { kind: "describe"; description: string; version?: number }
  | { kind: "setTag"; key: string; value: string; version?: number }
  | { kind: "deleteTag"; key: string; version?: number }
  | { kind: "setAlias"; alias: string; target: number }
  | { kind: "deleteAlias"; alias: string };
export interface Page<T> { items: T[]; next_cursor?: string }
export type JobResources = Resources;
export type JobSubmission = TrainingJobCreate;
export type JobMetrics = TrainingMetrics;
export type JobUsage = NonNullable<TrainingMetrics["resources"]>;
export type GpuSample = NonNullable<JobUsage["gpus"]>[number];
export const usageGroupings: readonly UsageReport["group_by"][] = ["project", "user", "gpu_type", "day", "organization"];
export type UsageGrouping = UsageReport["group_by"];
/** One entry of a run's artifact directory (MLflow's proxied artifact listing, outside the native document): `path` is the name inside the directory. */
export interface ArtifactFile { path: string; is_dir: boolean; file_size?: number }

export const datasetFormats: readonly DatasetFormat[] = ["csv", "jsonl", "json", "parquet", "tfrecord", "arrow", "images", "audio", "video", "text", "mixed"];
export type LineageKind = LineageNode["kind"];
export type LineageDirection = "both" | "upstream" | "downstream";
export type AnnotationStatus = Annotation["status"];

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
  fieldError(field: string): string | undefined {
    return this.problem.errors?.find((error) => error.field === field)?.message;
  }
}

/** Where the access token lives (in memory only) and how it changes; the store implements it. The refresh token is
 *  an HttpOnly cookie that only the `/api/v1/auth` routes receive: no script here can read it. */
export interface TokenKeeper {
  accessToken(): string | null;
  replace(accessToken: string | null): void;
}

export class Api {
  private refreshing: Promise<boolean> | null = null;

  constructor(private readonly keeper: TokenKeeper) {}

  /** Signs in; the server sets the refresh token as the session cookie instead of answering it. */
  async login(username: string, password: string): Promise<TokenResponse> {
    const grant = await this.request<TokenResponse>("POST", "/api/v1/auth/login", { username, password, session_cookie: true }, false);
    this.keeper.replace(grant.access_token);
    return grant;
  }

  /** Ends the session on the server (which also expires the cookie), then forgets the access token. */
  async logout(): Promise<void> {
    try { await this.request<void>("POST", "/api/v1/auth/logout", {}); } finally { this.keeper.replace(null); }
  }

  /** On page load: a session cookie left by an earlier sign-in gives a new access token; false means sign in. */
  restore(): Promise<boolean> { return this.refresh(); }

  me() { return this.request<Me>("GET", "/api/v1/auth/me"); }
  changePassword(currentPassword: string, newPassword: string) {
    return this.request<void>("POST", "/api/v1/auth/password", { current_password: currentPassword, new_password: newPassword });
  }
  sessions() { return this.request<{ items: Session[] }>("GET", "/api/v1/auth/sessions"); }
  endSession(id: string) { return this.request<void>("DELETE", `/api/v1/auth/sessions/${enc(id)}`); }
  /** Invitations addressed to me, waiting for an answer. */
  myInvitations() { return this.request<{ items: Invitation[] }>("GET", "/api/v1/invitations"); }
  acceptInvitation(id: string) { return this.request<Member>("POST", `/api/v1/invitations/${enc(id)}/accept`, {}); }
  declineInvitation(id: string) { return this.request<void>("POST", `/api/v1/invitations/${enc(id)}/decline`, {}); }

  projects(orgId: string) { return this.request<Page<Project>>("GET", `/api/v1/projects?org_id=${enc(orgId)}&limit=500`); }
  createProject(orgId: string, name: string, description: string) {
    return this.request<Project>("POST", "/api/v1/projects", { org_id: orgId, name, description: description || undefined });
  }
  project(id: string) { return this.request<Project>("GET", `/api/v1/projects/${enc(id)}`); }
  deleteProject(id: string) { return this.request<void>("DELETE", `/api/v1/projects/${enc(id)}`); }

  members(orgId: string) { return this.request<Page<Member>>("GET", `/api/v1/orgs/${enc(orgId)}/members?limit=500`); }
  /** Invites an existing account by username or email; the person joins when they accept. */
  invite(orgId: string, body: { username?: string; email?: string; role: Role }) {
    return this.request<Invitation>("POST", `/api/v1/orgs/${enc(orgId)}/members`, body);
  }
  /** Creates a new account (with a password) that is a member at once. */
  createMember(orgId: string, body: { username: string; email: string; password: string; role: Role }) {
    return this.request<Member>("POST", `/api/v1/orgs/${enc(orgId)}/members`, body);
  }
  invitations(orgId: string, cursor?: string) {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    return this.request<Page<Invitation>>("GET", `/api/v1/orgs/${enc(orgId)}/invitations?${query}`);
  }
  withdrawInvitation(orgId: string, id: string) { return this.request<void>("DELETE", `/api/v1/orgs/${enc(orgId)}/invitations/${enc(id)}`); }
  setRole(orgId: string, userId: string, role: Role) {
    return this.request<Member>("PUT", `/api/v1/orgs/${enc(orgId)}/members/${enc(userId)}`, { role });
  }
  removeMember(orgId: string, userId: string) { return this.request<void>("DELETE", `/api/v1/orgs/${enc(orgId)}/members/${enc(userId)}`); }

  apiKeys() { return this.request<Page<ApiKey>>("GET", "/api/v1/auth/api-keys?limit=500"); }
  createApiKey(body: { name: string; org_id: string; scopes?: string[]; expires_at?: string }) {
    return this.request<ApiKeyCreated>("POST", "/api/v1/auth/api-keys", body);
  }
  revokeApiKey(id: string) { return this.request<ApiKey>("DELETE", `/api/v1/auth/api-keys/${enc(id)}`); }

  audit(orgId: string, filters: { action?: string; outcome?: string; cursor?: string }) {
    const query = new URLSearchParams({ org_id: orgId, limit: "50" });
    for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
    return this.request<Page<AuditEntry>>("GET", `/api/v1/audit?${query}`);
  }

  experiments(projectId: string) { return this.request<Page<Experiment>>("GET", `/api/v1/projects/${enc(projectId)}/experiments?limit=500`); }
  experiment(id: string) { return this.request<Experiment>("GET", `/api/v1/experiments/${enc(id)}`); }
  createExperiment(projectId: string, name: string, hypothesis: string) {
    return this.request<Experiment>("POST", `/api/v1/projects/${enc(projectId)}/experiments`, { name, hypothesis: hypothesis || undefined });
  }
  /** One page of an experiment's runs, filtered and ordered by the server (MLflow's search grammar). */
  runs(experimentId: string, filter: string, orderBy: string, cursor?: string, limit = 200) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (filter) query.set("filter", filter);
    if (orderBy) query.set("order_by", orderBy);
    if (cursor) query.set("cursor", cursor);
    return this.request<Page<Run>>("GET", `/api/v1/experiments/${enc(experimentId)}/runs?${query}`);
  }
  run(id: string) { return this.request<Run>("GET", `/api/v1/runs/${enc(id)}`); }
  /** One page of an experiment's traces, newest first (MLflow's trace search grammar). */
  traces(experimentId: string, filter: string, cursor?: string, limit = 100) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (filter) query.set("filter", filter);
    if (cursor) query.set("cursor", cursor);
    return this.request<Page<Trace>>("GET", `/api/v1/experiments/${enc(experimentId)}/traces?${query}`);
  }
  trace(id: string) { return this.request<TraceDetail>("GET", `/api/v1/traces/${enc(id)}`); }
  /** The registered model versions made from a run (needs the registry's read permission). */
  runModelVersions(runId: string) { return this.request<RunModelVersionList>("GET", `/api/v1/runs/${enc(runId)}/model-versions`); }
  /** A metric downsampled to `maxPoints`; with `range`, only those steps (a zoomed chart at full detail). */
  metricSeries(runId: string, key: string, maxPoints: number, range?: { min: number; max: number }) {
    const steps = range ? `&min_step=${Math.floor(range.min)}&max_step=${Math.ceil(range.max)}` : "";
    return this.request<MetricSeries>("GET", `/api/v1/runs/${enc(runId)}/metrics/${enc(key)}?max_points=${maxPoints}${steps}`);
  }
  models(projectId: string) { return this.request<Page<Model>>("GET", `/api/v1/projects/${enc(projectId)}/models?limit=500`); }
  model(projectId: string, name: string) { return this.request<ModelDetail>("GET", `/api/v1/projects/${enc(projectId)}/models/${enc(name)}`); }
  /** One change to a registered model or one of its versions; each answers the model as it now is. */
  changeModel(projectId: string, name: string, change: RegistryChange) {
    const model = `/api/v1/projects/${enc(projectId)}/models/${enc(name)}`;
    const version = "version" in change && change.version !== undefined ? `/versions/${change.version}` : "";
    switch (change.kind) {
      case "describe": return this.request<ModelDetail>("PATCH", model + version, { description: change.description });
      case "setTag": return this.request<ModelDetail>("PUT", `${model}${version}/tags/${enc(change.key)}`, { value: change.value });
      case "deleteTag": return this.request<ModelDetail>("DELETE", `${model}${version}/tags/${enc(change.key)}`);
      case "setAlias": return this.request<ModelDetail>("PUT", `${model}/aliases/${enc(change.alias)}`, { version: change.target });
      case "deleteAlias": return this.request<ModelDetail>("DELETE", `${model}/aliases/${enc(change.alias)}`);
    }
  }

  jobs(projectId: string) { return this.request<Page<TrainingJob>>("GET", `/api/v1/training/jobs?project_id=${enc(projectId)}&limit=100`); }
  job(id: string) { return this.request<TrainingJob>("GET", `/api/v1/training/jobs/${enc(id)}`); }
  submitJob(body: JobSubmission) { return this.request<TrainingJob>("POST", "/api/v1/training/jobs", body); }
  stopJob(id: string) { return this.request<TrainingJob>("POST", `/api/v1/training/jobs/${enc(id)}/stop`, {}); }
  jobMetrics(id: string) { return this.request<JobMetrics>("GET", `/api/v1/training/jobs/${enc(id)}/metrics`); }
  inferenceServices(projectId: string) {
    return this.request<Page<InferenceService>>("GET", `/api/v1/inference/services?project_id=${enc(projectId)}&limit=100`);
  }
  inferenceService(id: string) { return this.request<InferenceService>("GET", `/api/v1/inference/services/${enc(id)}`); }
  inferenceMetrics(id: string) { return this.request<InferenceServiceMetrics>("GET", `/api/v1/inference/services/${enc(id)}/metrics`); }
  scaleInference(id: string, replicas: number) {
    return this.request<InferenceService>("POST", `/api/v1/inference/services/${enc(id)}/scale`, { replicas });
  }
  stopInference(id: string) { return this.request<InferenceService>("POST", `/api/v1/inference/services/${enc(id)}/stop`, {}); }
  startInference(id: string) { return this.request<InferenceService>("POST", `/api/v1/inference/services/${enc(id)}/start`, {}); }
  gpuNodes() { return this.request<Page<GpuNode>>("GET", "/api/v1/resources/gpu"); }
  quotas(orgId?: string) { return this.request<{ items: Quota[] }>("GET", `/api/v1/resources/quota${orgId ? `?org_id=${enc(orgId)}` : ""}`); }
  setQuota(body: QuotaSet) { return this.request<Quota>("PUT", "/api/v1/resources/quota", body); }
  /** GPU-hours (`usage`) or their cost (`costs`) between two UTC days, grouped as asked. */
  usage(report: "usage" | "costs", query: { org_id?: string; from?: string; to?: string; group_by: UsageGrouping }) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
    return this.request<UsageReport>("GET", `/api/v1/resources/${report}?${params}`);
  }

  /** One directory of a run's artifacts; `path` is an `mlflow-artifacts:/` URI's path (`<experiment>/<run>/artifacts/…`).
   *  The native API has no artifact routes; MLflow's proxied artifact API takes the same bearer token. */
  async artifacts(path: string): Promise<ArtifactFile[]> {
    const listing = await this.request<{ files?: ArtifactFile[] }>("GET", `/api/2.0/mlflow-artifacts/artifacts?path=${enc(path)}`);
    return listing.files ?? [];
  }
  async downloadArtifact(path: string): Promise<Blob> {
    const response = await this.authorized("GET", `/api/2.0/mlflow-artifacts/artifacts/${path.split("/").map(enc).join("/")}`, undefined, true, "*/*");
    if (!response.ok) throw new ApiError(await problemOf(response));
    return response.blob();
  }

  evaluations(projectId: string) { return this.request<Page<EvaluationJob>>("GET", `/api/v1/evaluation/jobs?project_id=${enc(projectId)}&limit=100`); }
  evaluation(id: string) { return this.request<EvaluationJob>("GET", `/api/v1/evaluation/jobs/${enc(id)}`); }
  evaluationResults(id: string) { return this.request<EvaluationResults>("GET", `/api/v1/evaluation/jobs/${enc(id)}/results`); }
  testPlans(projectId: string) { return this.request<Page<TestPlan>>("GET", `/api/v1/test/plans?project_id=${enc(projectId)}&limit=100`); }
  testPlan(id: string) { return this.request<TestPlan>("GET", `/api/v1/test/plans/${enc(id)}`); }
  runTestPlan(id: string) { return this.request<TestExecution>("POST", `/api/v1/test/plans/${enc(id)}/execute`, {}); }
  testExecutions(planId: string) { return this.request<Page<TestExecution>>("GET", `/api/v1/test/executions?plan_id=${enc(planId)}&limit=50`); }
  testCases(executionId: string) { return this.request<TestCaseList>("GET", `/api/v1/test/executions/${enc(executionId)}/results`); }
  testCaseHistory(planId: string) { return this.request<{ items: TestCaseHistory[] }>("GET", `/api/v1/test/plans/${enc(planId)}/cases?executions=20`); }
  simulationEnvironments(projectId: string) {
    return this.request<Page<SimulationEnvironment>>("GET", `/api/v1/simulation/environments?project_id=${enc(projectId)}&limit=100`);
  }
  simulationEnvironment(id: string) { return this.request<SimulationEnvironment>("GET", `/api/v1/simulation/environments/${enc(id)}`); }
  simulationRuns(envId: string) { return this.request<Page<SimulationRun>>("GET", `/api/v1/simulation/environments/${enc(envId)}/runs?limit=50`); }
  simulationRun(id: string) { return this.request<SimulationRun>("GET", `/api/v1/simulation/runs/${enc(id)}`); }
  releases(projectId: string) { return this.request<Page<Release>>("GET", `/api/v1/releases?project_id=${enc(projectId)}&limit=100`); }
  release(id: string) { return this.request<Release>("GET", `/api/v1/releases/${enc(id)}`); }
  agentTools() { return this.request<{ tools: AgentTool[]; areas: string[] }>("GET", "/api/v1/agent/tools"); }
  agentExecutions() { return this.request<Page<AgentExecution>>("GET", "/api/v1/agent/executions?limit=50"); }
  agentPlan(message: string, projectId: string | null) {
    return this.request<AgentPlan>("POST", "/api/v1/agent/natural-language", { message, context: projectId ? { project_id: projectId } : undefined });
  }
  agentApprovals() { return this.request<Page<AgentExecution>>("GET", "/api/v1/agent/approvals?limit=50"); }
  agentDecide(executionId: string, approve: boolean, comment: string) {
    return this.request<AgentExecution>("POST", `/api/v1/agent/executions/${executionId}/${approve ? "approve" : "reject"}`, { comment });
  }
  agentExecute(tool: string, params: object, confirmationToken?: string) {
    return this.request<AgentExecution>("POST", "/api/v1/agent/execute", { tool, params, confirmation_token: confirmationToken });
  }
  releaseAct(id: string, act: "approve" | "deploy" | "promote" | "rollback", body: object = {}) {
    return this.request<Release>("POST", `/api/v1/releases/${enc(id)}/${act}`, body);
  }
  simulationFrames(runId: string, scenario: string) {
    return this.request<SimulationFrames>("GET", `/api/v1/simulation/runs/${enc(runId)}/scenarios/${enc(scenario)}/frames`);
  }
  startSimulation(envId: string) { return this.request<SimulationRun>("POST", `/api/v1/simulation/environments/${enc(envId)}/start`, {}); }
  stopSimulation(envId: string) { return this.request<SimulationEnvironment>("POST", `/api/v1/simulation/environments/${enc(envId)}/stop`, {}); }
  /** An evaluation's, a test execution's or a simulation run's report (`path` is its report_url) as a PDF Blob: the bearer token has to be sent. */
  async downloadReport(path: string): Promise<Blob> {
    const response = await this.authorized("GET", `${path}?format=pdf`, undefined, true, "*/*");
    if (!response.ok) throw new ApiError(await problemOf(response));
    return response.blob();
  }

  datasets(projectId: string, search: string, cursor?: string) {
    const query = new URLSearchParams({ limit: "100" });
    if (search) query.set("search", search);
    if (cursor) query.set("cursor", cursor);
    return this.request<Page<Dataset>>("GET", `/api/v1/projects/${enc(projectId)}/datasets?${query}`);
  }
  createDataset(projectId: string, body: DatasetCreate) { return this.request<Dataset>("POST", `/api/v1/projects/${enc(projectId)}/datasets`, body); }
  dataset(id: string) { return this.request<Dataset>("GET", `/api/v1/datasets/${enc(id)}`); }
  deleteDataset(id: string) { return this.request<void>("DELETE", `/api/v1/datasets/${enc(id)}`); }
  datasetVersions(id: string) { return this.request<Page<DatasetVersion>>("GET", `/api/v1/datasets/${enc(id)}/versions?limit=500`); }
  datasetFiles(id: string, version: string, prefix: string, cursor?: string) {
    const query = new URLSearchParams({ limit: "1000" });
    if (prefix) query.set("prefix", prefix);
    if (cursor) query.set("cursor", cursor);
    return this.request<DatasetFileList>("GET", `/api/v1/datasets/${enc(id)}/versions/${enc(version)}/files?${query}`);
  }
  /** One file of a version (`path`), or the whole version as a tar, as a Blob: the bearer token has to be sent, so a
   *  plain link cannot do it. */
  async downloadDataset(id: string, version: string, path?: string): Promise<Blob> {
    const query = path === undefined ? "" : `?path=${enc(path)}`;
    const response = await this.authorized("GET", `/api/v1/datasets/${enc(id)}/versions/${enc(version)}/download${query}`, undefined, true, "*/*");
    if (!response.ok) throw new ApiError(await problemOf(response));
    return response.blob();
  }
  datasetLineage(id: string, version: string, direction: LineageDirection, depth = 3) {
    const query = new URLSearchParams({ version, direction, depth: String(depth) });
    return this.request<LineageGraph>("GET", `/api/v1/datasets/${enc(id)}/lineage?${query}`);
  }
  annotations(datasetId: string, status: AnnotationStatus | "") {
    const query = new URLSearchParams({ limit: "500" });
    if (status) query.set("status", status);
    return this.request<Page<Annotation>>("GET", `/api/v1/datasets/${enc(datasetId)}/annotations?${query}`);
  }
  createAnnotation(datasetId: string, body: AnnotationCreate) {
    return this.request<Annotation>("POST", `/api/v1/datasets/${enc(datasetId)}/annotations`, body);
  }
  updateAnnotation(datasetId: string, annotationId: string, body: AnnotationUpdate) {
    return this.request<Annotation>("PUT", `/api/v1/datasets/${enc(datasetId)}/annotations/${enc(annotationId)}`, body);
  }
  exportAnnotations(datasetId: string, version: string, baseVersion?: string) {
    return this.request<DatasetVersion>("POST", `/api/v1/datasets/${enc(datasetId)}/annotations/export`, { version, base_version: baseVersion || undefined });
  }

  /** Follows a job's log over Server-Sent Events (fetch, so the bearer token can be sent) until the job ends or
   *  `signal` aborts; `onLines` gets each batch of lines as it arrives. Resolves with the final status. */
  async followLog(jobId: string, onLines: (lines: string[]) => void, signal: AbortSignal): Promise<string | null> {
    const token = this.keeper.accessToken();
    const response = await fetch(`/api/v1/training/jobs/${enc(jobId)}/logs?follow=true`, {
      headers: { Accept: "text/event-stream", ...(token ? { Authorization: `Bearer ${token}` } : {}) }, signal,
    });
    if (!response.ok || !response.body) throw new ApiError(await problemOf(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += value;
      const events = buffer.split("\n\n");
      buffer = events.pop() ?? "";
      const lines: string[] = [];
      for (const event of events) {
        const fields = event.split("\n");
        const data = fields.filter((f) => f.startsWith("data: ")).map((f) => f.slice(6)).join("\n");
        if (fields.includes("event: end")) { if (lines.length) onLines(lines); return data; }
        if (fields.includes("event: line")) lines.push(data);
      }
      if (lines.length) onLines(lines);
    }
  }

  /** A JSON call: the answer parsed, or an ApiError with the server's problem+json. */
  async request<T>(method: string, path: string, body?: unknown, authenticated = true): Promise<T> {
    const response = await this.authorized(method, path, body, authenticated);
    if (!response.ok) throw new ApiError(await problemOf(response));
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** Sends a request; an expired access token is refreshed once (one refresh at a time) and the call retried. */
  private async authorized(method: string, path: string, body: unknown, authenticated: boolean, accept = "application/json"): Promise<Response> {
    let response = await this.send(method, path, body, authenticated, accept);
    if (response.status === 401 && authenticated && this.keeper.accessToken()) {
      if (await this.refresh()) response = await this.send(method, path, body, authenticated, accept);
    }
    if (response.status === 401 && authenticated) this.keeper.replace(null);
    return response;
  }

  private send(method: string, path: string, body: unknown, authenticated: boolean, accept = "application/json"): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    const token = this.keeper.accessToken();
    if (authenticated && token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  }

  /** A new access token from the session cookie (the browser sends it; the body names no token), which the server
   *  rotates. One refresh at a time in this page, and across this browser's tabs where Web Locks exist: two tabs
   *  presenting the same cookie at once would look like a stolen token and end the session. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= exclusively("aitip.refresh", async () => {
      const response = await this.send("POST", "/api/v1/auth/refresh", {}, false);
      if (!response.ok) return false;
      const grant = (await response.json()) as TokenResponse;
      this.keeper.replace(grant.access_token);
      return true;
    }).catch(() => false).finally(() => { this.refreshing = null; });
    return this.refreshing;
  }
}

/** Runs `action` holding a lock shared by this origin's tabs (Web Locks), or just runs it where there are none. */
function exclusively<T>(name: string, action: () => Promise<T>): Promise<T> {
  const locks: LockManager | undefined = navigator.locks;  // absent outside secure contexts (plain http to another host)
  return locks ? locks.request(name, action) : action();
}

function enc(value: string): string { return encodeURIComponent(value); }

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") return body as Problem;
    // MLflow-compatible routes answer {error_code, message}.
    if (body && typeof body.message === "string") {
      return { type: "about:blank", title: body.error_code ?? response.statusText, status: response.status, detail: body.message };
    }
  } catch { /* not JSON: fall through */ }
  return { type: "about:blank", title: response.statusText || "Error", status: response.status,
           detail: `The server answered ${response.status} ${response.statusText}` };
}
