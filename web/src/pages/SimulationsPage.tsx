import { useEffect, useState } from "react";
import { MeanWithStderr, SimulationEnvironment, SimulationFrames, SimulationRun } from "../api";
import { api, showError, useStore } from "../store";
import { when } from "../components/Form";
import { Link, navigate, to, useProjectOf, useRoute } from "../router";
import { errorText, saveBlob } from "./datasets/format";

function figure(value?: number) { return value === undefined ? "–" : Number(value.toPrecision(4)).toString(); }

function meanCell(value?: MeanWithStderr) { return value ? `${figure(value.mean)} ± ${figure(value.stderr)}` : "–"; }

/** A run's state as a word: passed, failed (the gate), no verdict, stopped, or how far it is. */
export function runVerdict(run: SimulationRun): { text: string; tone: "pass" | "fail" | "muted" } {
  if (run.state === "completed") return run.passed ? { text: "passed", tone: "pass" } : { text: "failed", tone: "fail" };
  if (run.state === "failed") return { text: "no verdict", tone: "fail" };
  if (run.state === "stopped") return { text: "stopped", tone: "muted" };
  return { text: `running: ${run.finished_scenarios} of ${run.scenarios.length} scenarios`, tone: "muted" };
}

/** Simulation environments of the selected project; one environment: its suite and runs (start, stop); one run:
 *  its progress while it runs, the verdict per category, the score's breakdown per scenario, the lowest-scoring
 *  episodes with their events, the frames each scenario rendered, and its PDF report. Addresses: #/simulations, #/simulations/<env_id> and
 *  #/simulations/<env_id>/runs/<run_id>. Environments are created with `aitip sim create` or the API. */
export function SimulationsPage() {
  const projectId = useStore((s) => s.projectId);
  const { envId, runId } = useRoute().params;
  const [environments, setEnvironments] = useState<SimulationEnvironment[]>([]);

  useEffect(() => {
    if (!projectId || envId) return;
    api.simulationEnvironments(projectId).then((page) => setEnvironments(page.items)).catch(showError);
  }, [projectId, envId]);

  if (envId && runId) return <section><RunDetail envId={envId} runId={runId} /></section>;
  if (envId) return <section><EnvironmentDetail envId={envId} /></section>;
  if (!projectId) return <section><h1>Simulation</h1><p className="muted">Create or choose a project first.</p></section>;
  return (
    <section>
      <h1>Simulation</h1>
      <table className="table" aria-label="Environments">
        <thead><tr><th>Name</th><th>Template</th><th>Isolation</th><th>Model</th><th>Status</th><th>Created</th></tr></thead>
        <tbody>
          {environments.map((e) => (
            <tr key={e.id}>
              <td><Link to={to("simulationEnvironment", { envId: e.id })}>{e.name}</Link></td>
              <td>{e.template} v{e.template_version}</td>
              <td>{e.isolation_type}</td>
              <td>{e.model ?? <span className="muted">each run names one</span>}</td>
              <td>{e.status}</td>
              <td>{when(e.created_at)}</td>
            </tr>
          ))}
          {environments.length === 0 && <tr><td colSpan={6} className="muted">No environments yet: create one with aitip sim create.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function EnvironmentDetail({ envId }: { envId: string }) {
  const [environment, setEnvironment] = useState<SimulationEnvironment | null>(null);
  const [runs, setRuns] = useState<SimulationRun[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const load = () =>
    Promise.all([api.simulationEnvironment(envId), api.simulationRuns(envId)])
      .then(([found, page]) => { setEnvironment(found); setRuns(page.items); })
      .catch((error) => setProblem(errorText(error)));
  useEffect(() => { setEnvironment(null); setProblem(null); load(); }, [envId]);
  useProjectOf(environment?.project_id, () => navigate(to("simulations")));
  if (problem) return <><h1>Simulation environment</h1><p role="alert">{problem}</p></>;
  if (!environment) return <p className="muted">Loading…</p>;
  const suite = environment.scenario_config;
  async function start() {
    try { const run = await api.startSimulation(envId); navigate(to("simulationRun", { envId, runId: run.id })); } catch (error) { showError(error); }
  }
  async function stop() {
    try { await api.stopSimulation(envId); await load(); } catch (error) { showError(error); }
  }
  return (
    <>
      <p><Link to={to("simulations")}>Simulation</Link></p>
      <h1>{environment.name}</h1>
      <p>
        {environment.template} v{environment.template_version} · {environment.isolation_type} · {suite.seeds?.length ?? 0} seeds ·
        pass score {suite.pass_score ?? 80} · model {environment.model ?? "named by each run"} · {environment.status}
      </p>
      {environment.description && <p className="muted">{environment.description}</p>}
      <p>
        <button type="button" onClick={start} disabled={!environment.model}>Start a run of the bound model</button>{" "}
        <button type="button" onClick={stop} disabled={environment.status !== "running"}>Stop its runs</button>
      </p>
      <table className="table" aria-label="Scenarios">
        <thead><tr><th>Scenario</th><th>Category</th><th>Perturbations</th></tr></thead>
        <tbody>
          {(suite.scenarios ?? []).map((s) => (
            <tr key={s.name}><td>{s.name}</td><td>{s.category}</td><td><code>{JSON.stringify(s.perturbations ?? {})}</code></td></tr>
          ))}
        </tbody>
      </table>
      <h2>Runs</h2>
      <table className="table" aria-label="Runs">
        <thead><tr><th>Run</th><th>Model</th><th>Verdict</th><th>Safety score</th><th>Created</th></tr></thead>
        <tbody>
          {runs.map((r) => {
            const { text, tone } = runVerdict(r);
            return (
              <tr key={r.id}>
                <td><Link to={to("simulationRun", { envId, runId: r.id })}>{r.id.slice(0, 8)}</Link></td>
                <td>{r.model}</td><td className={tone}>{text}</td><td>{figure(r.safety_score)}</td><td>{when(r.created_at)}</td>
              </tr>
            );
          })}
          {runs.length === 0 && <tr><td colSpan={5} className="muted">No runs yet.</td></tr>}
        </tbody>
      </table>
    </>
  );
}

function RunDetail({ envId, runId }: { envId: string; runId: string }) {
  const [run, setRun] = useState<SimulationRun | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setRun(null);
    setProblem(null);
    let timer: number | undefined;
    const poll = () =>
      api.simulationRun(runId)
        .then((found) => { setRun(found); if (found.state === "running") timer = window.setTimeout(poll, 1000); })
        .catch((error) => setProblem(errorText(error)));
    poll();
    return () => window.clearTimeout(timer);
  }, [runId]);
  useProjectOf(run?.project_id, () => navigate(to("simulations")));
  if (problem) return <><h1>Simulation run</h1><p role="alert">{problem}</p></>;
  if (!run) return <p className="muted">Loading…</p>;
  const { text, tone } = runVerdict(run);
  const results = run.results;
  const episodes = run.scenarios
    .flatMap((s) => (s.episodes ?? []).map((e) => ({ scenario: s.name, ...e })))
    .sort((a, b) => a.score - b.score).slice(0, 10);
  async function download() {
    try { saveBlob(await api.downloadReport(run!.report_url), `simulation-${run!.id}.pdf`); } catch (error) { showError(error); }
  }
  return (
    <>
      <p><Link to={to("simulationEnvironment", { envId })}>Environment</Link></p>
      <h1>Simulation of {run.model}</h1>
      <p>
        <span className={tone} aria-label="Verdict">{text}</span>
        {run.safety_score !== undefined && <> · safety score {figure(run.safety_score)}</>} · {run.template} v{run.template_version} ·{" "}
        {run.isolation_type} · {run.suite.seeds?.length ?? 0} seeds per scenario
        {run.suite_overridden && <> · <strong>the run replaced the environment's suite</strong></>}
        {run.model_sandbox === "shared" && <> · <strong>the model ran in the simulator's sandbox</strong></>}
      </p>
      {run.error && <p role="alert">{run.error}</p>}
      <p><button type="button" onClick={download} disabled={run.state === "running"}>Download the PDF report</button></p>
      {results && (
        <table className="table" aria-label="Categories">
          <caption>
            Penalties {Object.entries(results.penalties).map(([event, factor]) => `${event} ×${factor}`).join(", ") || "none"} ·
            cost limit {figure(results.cost_limit)} per episode
          </caption>
          <thead><tr><th>Category</th><th>Verdict</th><th>Score</th><th>Needs</th><th>Completion</th><th>Over cost limit</th><th>Why</th></tr></thead>
          <tbody>
            {results.categories.map((c) => (
              <tr key={c.category}>
                <td>{c.category}</td><td className={c.passed ? "pass" : "fail"}>{c.passed ? "pass" : "fail"}</td>
                <td>{meanCell(c.summary.score)}</td><td>{figure(c.pass_score)}</td><td>{meanCell(c.summary.completion)}</td>
                <td>{figure(c.summary.violation_rate * 100)} %</td><td>{c.reasons.join("; ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <table className="table" aria-label="Scenario results">
        <thead><tr><th>Scenario</th><th>Category</th><th>State</th><th>Score</th><th>Completion</th><th>Cost</th><th>Events</th><th>Steps/s</th></tr></thead>
        <tbody>
          {run.scenarios.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td><td>{s.category}</td>
              <td>{s.result_state === "pending" ? s.status : s.result_state === "failed" ? `no result: ${s.error ?? s.reason}` : "scored"}</td>
              <td>{meanCell(s.summary?.score)}</td><td>{meanCell(s.summary?.completion)}</td><td>{meanCell(s.summary?.cost)}</td>
              <td>{s.summary ? Object.entries(s.summary.events).map(([event, count]) => `${event} ${count}`).join(", ") || "none" : "–"}</td>
              <td>{figure(s.steps_per_second)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Frames runId={run.id} scenarios={run.scenarios.filter((s) => s.result_state !== "pending").map((s) => s.name)} />
      {episodes.length > 0 && (
        <>
          <h2>Lowest-scoring episodes</h2>
          <table className="table" aria-label="Episodes">
            <thead><tr><th>Scenario</th><th>Seed</th><th>Score</th><th>Steps</th><th>Ended</th><th>Events (step, time)</th></tr></thead>
            <tbody>
              {episodes.map((e) => (
                <tr key={`${e.scenario}-${e.seed}`}>
                  <td>{e.scenario}</td><td>{e.seed}</td><td>{figure(e.score)}</td><td>{e.steps}</td><td>{e.ended}</td>
                  <td>{e.events.map((v) => `${v.type} (${v.step}, ${figure(v.time)} s)`).join(", ") || "none"}
                    {e.events_total > e.events.length && ` … ${e.events_total} in all`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

/** The frames one scenario rendered of its first episode: the chosen frame large, a slider and a play button to
 *  step through them, and the strip of all of them. */
function Frames({ runId, scenarios }: { runId: string; scenarios: string[] }) {
  const [scenario, setScenario] = useState<string | null>(null);
  const [found, setFound] = useState<SimulationFrames | null>(null);
  const [index, setIndex] = useState(0);
  const [playing, setPlaying] = useState(false);
  const chosen = scenario ?? scenarios[0] ?? null;
  useEffect(() => {
    setFound(null);
    setIndex(0);
    setPlaying(false);
    if (!chosen) return;
    api.simulationFrames(runId, chosen).then(setFound).catch(showError);
  }, [runId, chosen]);
  const count = found?.frames.length ?? 0;
  useEffect(() => {
    if (!playing || count === 0) return;
    const timer = window.setInterval(() => setIndex((i) => (i + 1) % count), 200);
    return () => window.clearInterval(timer);
  }, [playing, count]);
  if (scenarios.length === 0) return null;
  const frame = found?.frames[Math.min(index, Math.max(0, count - 1))];
  const image = (png: string) => `data:image/png;base64,${png}`;
  return (
    <section aria-label="Frames">
      <h2>Frames</h2>
      <p>
        <label>Scenario{" "}
          <select value={chosen ?? ""} onChange={(e) => setScenario(e.target.value)}>
            {scenarios.map((name) => <option key={name}>{name}</option>)}
          </select>
        </label>
      </p>
      {!found ? <p className="muted">Loading…</p> : count === 0 ? (
        <p className="muted">{found.problem ? `No frames: ${found.problem}` : "This scenario rendered no frames."}</p>
      ) : (
        <>
          <figure className="sim-frame">
            <img src={image(frame!.png)} alt={`seed ${frame!.seed}, step ${frame!.step}`} />
            <figcaption>seed {frame!.seed} · step {frame!.step} · {figure(frame!.time)} s</figcaption>
          </figure>
          <p>
            <button type="button" onClick={() => setPlaying(!playing)}>{playing ? "Pause" : "Play"}</button>{" "}
            <input type="range" aria-label="Frame" min={0} max={count - 1} value={index}
              onChange={(e) => { setPlaying(false); setIndex(Number(e.target.value)); }} />
            {" "}{index + 1} of {count}{found.dropped > 0 && ` (${found.dropped} not kept)`}
          </p>
          <div className="sim-strip" aria-label="Filmstrip">
            {found.frames.map((f, i) => (
              <button key={`${f.seed}-${f.step}`} type="button" className={i === index ? "current" : ""}
                onClick={() => { setPlaying(false); setIndex(i); }} title={`step ${f.step}`}>
                <img src={image(f.png)} alt={`step ${f.step}`} />
              </button>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
