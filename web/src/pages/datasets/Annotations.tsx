import { FormEvent, useEffect, useState } from "react";
import { Annotation, AnnotationStatus, Dataset, DatasetVersion, Member } from "../../api";
import { api, showInfo, useStore } from "../../store";
import { Field, FormFailure, useSubmit, when } from "../../components/Form";
import { errorText } from "./format";

const statusNames: Record<AnnotationStatus, string> = { pending: "pending", in_progress: "in progress", completed: "completed" };

/** A name for the next version: v3 after v2, otherwise the latest name with "-annotated". */
function nextVersionName(versions: DatasetVersion[]): string {
  const names = new Set(versions.map((v) => v.version));
  const latest = versions[0]?.version;
  const numbered = latest?.match(/^(.*?)(\d+)$/);
  let candidate = !latest ? "v1" : numbered ? `${numbered[1]}${Number(numbered[2]) + 1}` : `${latest}-annotated`;
  for (let i = 2; names.has(candidate); i++) candidate = `${latest}-annotated-${i}`;
  return candidate;
}

interface Props { dataset: Dataset; versions: DatasetVersion[]; version: DatasetVersion | null; onExported: (created: DatasetVersion) => void }

/** The dataset's annotation tasks: pending → in progress → completed (with the annotation as JSON); completed
 *  ones export to annotations.jsonl in a new version. */
export function Annotations({ dataset, versions, version, onExported }: Props) {
  const orgId = useStore((s) => s.orgId);
  const [status, setStatus] = useState<AnnotationStatus | "">("");
  const [tasks, setTasks] = useState<Annotation[]>([]);
  const [members, setMembers] = useState<Member[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [completing, setCompleting] = useState<Annotation | null>(null);

  function load() {
    setProblem(null);
    api.annotations(dataset.id, status).then((page) => setTasks(page.items)).catch((error) => setProblem(errorText(error)));
  }
  useEffect(load, [dataset.id, status]);
  useEffect(() => {
    // Names for assignees; someone who may not list members still sees the ids.
    if (orgId) api.members(orgId).then((page) => setMembers(page.items)).catch(() => setMembers([]));
  }, [orgId]);

  async function start(task: Annotation) {
    setProblem(null);
    try { await api.updateAnnotation(dataset.id, task.id, { status: "in_progress" }); load(); }
    catch (error) { setProblem(errorText(error)); }
  }

  const who = (id?: string) => (id ? members.find((m) => m.user_id === id)?.username ?? id.slice(0, 8) : "—");
  return (
    <>
      <form className="filters" aria-label="Filter annotation tasks" onSubmit={(e) => e.preventDefault()}>
        <label>Status <select name="annotation-status" value={status} onChange={(e) => setStatus(e.target.value as AnnotationStatus | "")}>
          <option value="">all</option>
          {(Object.keys(statusNames) as AnnotationStatus[]).map((s) => <option key={s} value={s}>{statusNames[s]}</option>)}
        </select></label>
      </form>
      {problem && <p className="form-failure" role="alert">{problem}</p>}
      <table className="table" aria-label="Annotation tasks">
        <thead><tr><th>Task</th><th>Version</th><th>Item</th><th>Status</th><th>Assignee</th><th>Updated</th><th>Actions</th></tr></thead>
        <tbody>
          {tasks.map((t) => (
            <tr key={t.id} className={t.id === completing?.id ? "selected" : undefined}>
              <td>{t.task_type}</td><td>{t.version ?? "—"}</td><td>{t.item ? <code>{t.item}</code> : "—"}</td>
              <td><span className={`status status-${t.status}`}>{statusNames[t.status]}</span></td>
              <td>{who(t.assignee_id)}</td><td>{when(t.completed_at ?? t.updated_at)}</td>
              <td className="actions">
                {t.status === "pending" && <button type="button" onClick={() => start(t)} aria-label={`Start ${t.task_type} task ${t.item ?? t.id.slice(0, 8)}`}>Start</button>}
                <button type="button" className={t.status === "completed" ? "secondary" : undefined} onClick={() => setCompleting(t)}
                  aria-label={`${t.status === "completed" ? "Edit" : "Complete"} ${t.task_type} task ${t.item ?? t.id.slice(0, 8)}`}>
                  {t.status === "completed" ? "Edit…" : "Complete…"}</button>
              </td>
            </tr>
          ))}
          {tasks.length === 0 && <tr><td colSpan={7} className="muted">{status ? `No ${statusNames[status]} tasks.` : "No annotation tasks yet. Add one below."}</td></tr>}
        </tbody>
      </table>
      {completing && (
        <CompleteTask key={completing.id} datasetId={dataset.id} task={completing} onDone={() => { setCompleting(null); load(); }} onCancel={() => setCompleting(null)} />
      )}
      <div className="annotation-forms">
        <NewTask datasetId={dataset.id} versions={versions} version={version} members={members} onCreated={load} />
        <ExportTasks datasetId={dataset.id} versions={versions} onExported={onExported} />
      </div>
    </>
  );
}

function CompleteTask({ datasetId, task, onDone, onCancel }: { datasetId: string; task: Annotation; onDone: () => void; onCancel: () => void }) {
  const [text, setText] = useState(JSON.stringify(task.annotations ?? { label: "" }, null, 2));
  const [parseError, setParseError] = useState<string | null>(null);
  const { errors, failure, busy, run } = useSubmit();

  function complete(event: FormEvent) {
    event.preventDefault();
    let annotations: unknown;
    try { annotations = JSON.parse(text); } catch (error) { setParseError(`Not JSON: ${errorText(error)}`); return; }
    setParseError(null);
    run(async () => {
      await api.updateAnnotation(datasetId, task.id, { status: "completed", annotations });
      showInfo(`Task ${task.task_type}${task.item ? ` on ${task.item}` : ""} completed.`);
      onDone();
    });
  }

  return (
    <form className="card wide" aria-label="Complete task" onSubmit={complete}>
      <h3>{task.status === "completed" ? "Edit" : "Complete"} {task.task_type}{task.item ? <> on <code>{task.item}</code></> : null}</h3>
      <Field label="Annotation (JSON)" error={parseError ?? errors.annotations}>
        <textarea name="annotation-json" rows={6} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} autoFocus />
      </Field>
      <FormFailure text={failure} />
      <div className="row">
        <button type="submit" disabled={busy}>{task.status === "completed" ? "Save annotation" : "Mark completed"}</button>
        <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

interface NewTaskProps { datasetId: string; versions: DatasetVersion[]; version: DatasetVersion | null; members: Member[]; onCreated: () => void }

function NewTask({ datasetId, versions, version, members, onCreated }: NewTaskProps) {
  const [form, setForm] = useState({ taskType: "classification", version: version?.version ?? "", item: "", assignee: "" });
  const { errors, failure, busy, run } = useSubmit();

  function create(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      await api.createAnnotation(datasetId, {
        task_type: form.taskType, version: form.version || undefined, item: form.item || undefined, assignee_id: form.assignee || undefined,
      });
      setForm({ ...form, item: "" });
      showInfo(`Annotation task ${form.taskType} added.`);
      onCreated();
    });
  }

  return (
    <form className="card" aria-label="New annotation task" onSubmit={create}>
      <h3>Add a task</h3>
      <Field label="Task type" error={errors.task_type}>
        <input name="task-type" required placeholder="classification, detection, …" value={form.taskType} onChange={(e) => setForm({ ...form, taskType: e.target.value })} />
      </Field>
      <Field label="Version" error={errors.version}>
        <select name="task-version" value={form.version} onChange={(e) => setForm({ ...form, version: e.target.value })}>
          <option value="">none</option>{versions.map((v) => <option key={v.id} value={v.version}>{v.version}</option>)}
        </select>
      </Field>
      <Field label="Item (a file's path in that version, optional)" error={errors.item}>
        <input name="task-item" placeholder="images/0001.jpg" value={form.item} onChange={(e) => setForm({ ...form, item: e.target.value })} />
      </Field>
      {members.length > 0 && (
        <Field label="Assignee" error={errors.assignee_id}>
          <select name="task-assignee" value={form.assignee} onChange={(e) => setForm({ ...form, assignee: e.target.value })}>
            <option value="">nobody</option>{members.map((m) => <option key={m.user_id} value={m.user_id}>{m.username}</option>)}
          </select>
        </Field>
      )}
      <FormFailure text={failure} />
      <button type="submit" disabled={busy}>Add task</button>
    </form>
  );
}

function ExportTasks({ datasetId, versions, onExported }: { datasetId: string; versions: DatasetVersion[]; onExported: (created: DatasetVersion) => void }) {
  const [name, setName] = useState(nextVersionName(versions));
  const [base, setBase] = useState("");
  const { errors, failure, busy, run } = useSubmit();
  useEffect(() => setName(nextVersionName(versions)), [versions]);

  function exportTasks(event: FormEvent) {
    event.preventDefault();
    run(async () => {
      const created = await api.exportAnnotations(datasetId, name, base || undefined);
      showInfo(`Completed annotations exported as version ${created.version} (annotations.jsonl).`);
      onExported(created);
    });
  }

  return (
    <form className="card" aria-label="Export annotations" onSubmit={exportTasks}>
      <h3>Export completed as new version</h3>
      <p className="muted">Writes every completed task to annotations.jsonl, on top of the base version's files.</p>
      <Field label="New version" error={errors.version}>
        <input name="export-version" required value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Base version" error={errors.base_version}>
        <select name="export-base" value={base} onChange={(e) => setBase(e.target.value)}>
          <option value="">latest{versions[0] ? ` (${versions[0].version})` : ""}</option>
          {versions.map((v) => <option key={v.id} value={v.version}>{v.version}</option>)}
        </select>
      </Field>
      <FormFailure text={failure} />
      <button type="submit" disabled={busy}>Export completed as new version</button>
    </form>
  );
}
