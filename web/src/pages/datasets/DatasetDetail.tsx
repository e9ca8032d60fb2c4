import { KeyboardEvent, useEffect, useRef, useState } from "react";
import { Dataset, DatasetVersion } from "../../api";
import { api, showError, showInfo } from "../../store";
import { when } from "../../components/Form";
import { FileBrowser } from "./FileBrowser";
import { SchemaTable } from "./SchemaTable";
import { LineageView } from "./LineageView";
import { Annotations } from "./Annotations";
import { bytes, count, saveBlob } from "./format";

const tabs = [
  { id: "files", label: "Files" },
  { id: "schema", label: "Schema" },
  { id: "lineage", label: "Lineage" },
  { id: "annotations", label: "Annotations" },
] as const;
type Tab = (typeof tabs)[number]["id"];

/** One dataset: its versions (newest first) and, for the chosen one, files, schema, lineage; the annotation tasks. */
export function DatasetDetail({ datasetId, onClose }: { datasetId: string; onClose: () => void }) {
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [versions, setVersions] = useState<DatasetVersion[]>([]);
  const [versionName, setVersionName] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>("files");
  const heading = useRef<HTMLHeadingElement>(null);
  const tabButtons = useRef<(HTMLButtonElement | null)[]>([]);

  function load(select?: string) {
    Promise.all([api.dataset(datasetId), api.datasetVersions(datasetId)]).then(([loaded, page]) => {
      setDataset(loaded);
      setVersions(page.items);
      setVersionName((current) => select ?? (page.items.some((v) => v.version === current) ? current : page.items[0]?.version ?? null));
    }).catch(showError);
  }
  useEffect(() => load(), [datasetId]);
  useEffect(() => { if (dataset) heading.current?.focus(); }, [dataset?.id]);

  async function remove() {
    if (!dataset || !window.confirm(`Delete the dataset “${dataset.name}” with all its versions?`)) return;
    try {
      await api.deleteDataset(dataset.id);
      showInfo(`Dataset “${dataset.name}” deleted.`);
      onClose();
    } catch (error) { showError(error); }
  }

  async function downloadVersion(version: DatasetVersion) {
    try { saveBlob(await api.downloadDataset(datasetId, version.version), `${dataset?.name ?? "dataset"}-${version.version}.tar`); }
    catch (error) { showError(error); }
  }

  /** Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern). */
  function tabKeys(event: KeyboardEvent) {
    const index = tabs.findIndex((t) => t.id === tab);
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const wrapped = (next + tabs.length) % tabs.length;
    setTab(tabs[wrapped].id);
    tabButtons.current[wrapped]?.focus();
  }

  if (!dataset) return <p className="muted" role="status">Loading…</p>;
  const version = versions.find((v) => v.version === versionName) ?? null;
  return (
    <>
      <p><button type="button" className="link" onClick={onClose}>← All datasets</button></p>
      <h1 ref={heading} tabIndex={-1}>{dataset.name}</h1>
      <p className="muted">
        {dataset.format}{dataset.description ? ` · ${dataset.description}` : ""} · {versions.length} version{versions.length === 1 ? "" : "s"}
        {dataset.tags.length > 0 && <> · {dataset.tags.map((t) => <span key={t} className="tag">{t}</span>)}</>}
      </p>
      <div className="dataset-detail">
        <div>
          <h2>Versions</h2>
          <table className="table" aria-label="Dataset versions">
            <thead><tr><th>Version</th><th>Files</th><th>Size</th><th>Created</th></tr></thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.id} className={v.version === versionName ? "selected" : undefined}>
                  <td><button type="button" className="link" aria-pressed={v.version === versionName} onClick={() => setVersionName(v.version)}>{v.version}</button></td>
                  <td>{v.file_count}</td><td>{bytes(v.size_bytes)}</td><td title={when(v.created_at)}>{new Date(v.created_at).toLocaleDateString()}</td>
                </tr>
              ))}
              {versions.length === 0 && <tr><td colSpan={4} className="muted">No versions yet: push files with aitip datasets push.</td></tr>}
            </tbody>
          </table>
          <p><button type="button" className="danger" onClick={remove}>Delete dataset</button></p>
        </div>
        <div className="dataset-version">
          {version ? <VersionSummary version={version} onDownload={() => downloadVersion(version)} /> : <h2>No version selected</h2>}
          <div className="tabs" role="tablist" aria-label="Version views" onKeyDown={tabKeys}>
            {tabs.map((t, i) => (
              <button key={t.id} type="button" role="tab" id={`tab-${t.id}`} aria-controls={`panel-${t.id}`} aria-selected={t.id === tab}
                tabIndex={t.id === tab ? 0 : -1} ref={(el) => { tabButtons.current[i] = el; }} onClick={() => setTab(t.id)}>{t.label}</button>
            ))}
          </div>
          <div className="tab-panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {tab === "annotations" ? (
              <Annotations dataset={dataset} versions={versions} version={version} onExported={(created) => { load(created.version); setTab("files"); }} />
            ) : !version ? (
              <p className="muted">This dataset has no version yet.</p>
            ) : tab === "files" ? (
              <FileBrowser key={version.id} datasetId={dataset.id} version={version.version} />
            ) : tab === "schema" ? (
              <SchemaTable profile={version.schema} />
            ) : (
              <LineageView datasetId={dataset.id} version={version} versionIds={versions.map((v) => v.id)}
                onSelectVersion={(id) => { const chosen = versions.find((v) => v.id === id); if (chosen) setVersionName(chosen.version); }} />
            )}
          </div>
        </div>
      </div>
    </>
  );
}

function VersionSummary({ version, onDownload }: { version: DatasetVersion; onDownload: () => void }) {
  return (
    <>
      <h2>Version {version.version}</h2>
      <dl className="facts" aria-label="Version facts">
        <dt>Changes</dt><dd>{version.changes || <span className="muted">—</span>}</dd>
        <dt>Checksum</dt><dd><code className="hash">{version.checksum}</code></dd>
        <dt>Contents</dt><dd>{version.file_count} file{version.file_count === 1 ? "" : "s"} · {bytes(version.size_bytes)} · {count(version.num_rows)} rows</dd>
        <dt>Created</dt><dd>{when(version.created_at)}</dd>
      </dl>
      <p><button type="button" onClick={onDownload}>Download version (.tar)</button></p>
    </>
  );
}
