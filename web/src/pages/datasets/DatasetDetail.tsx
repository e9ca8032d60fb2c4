import { useEffect, useRef, useState } from "react";
import { Dataset, DatasetVersion } from "../../api";
import { api, showError, showInfo } from "../../store";
import { when } from "../../components/Form";
import { Tabs } from "../../components/Tabs";
import { Link, navigate, to, useProjectOf } from "../../router";
import { FileBrowser } from "./FileBrowser";
import { SchemaTable } from "./SchemaTable";
import { LineageView } from "./LineageView";
import { Annotations } from "./Annotations";
import { bytes, count, errorText, saveBlob } from "./format";

const tabs = [
  { id: "files", label: "Files" },
  { id: "schema", label: "Schema" },
  { id: "lineage", label: "Lineage" },
  { id: "annotations", label: "Annotations" },
] as const;
type Tab = (typeof tabs)[number]["id"];

/** One dataset: its versions (newest first) and, for the chosen one, files, schema, lineage; the annotation tasks.
 *  The chosen version and tab are the address's (`?version=v1&tab=schema`); without them, the latest version's files. */
export function DatasetDetail({ datasetId, version: addressedVersion, tab: addressedTab }: { datasetId: string; version?: string; tab?: string }) {
  const [dataset, setDataset] = useState<Dataset | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [versions, setVersions] = useState<DatasetVersion[] | null>(null);
  const tab: Tab = tabs.find((t) => t.id === addressedTab)?.id ?? "files";
  const versionName = addressedVersion ?? versions?.[0]?.version ?? null;
  const heading = useRef<HTMLHeadingElement>(null);

  function load(): Promise<void> {
    return Promise.all([api.dataset(datasetId), api.datasetVersions(datasetId)]).then(([loaded, page]) => {
      setDataset(loaded);
      setVersions(page.items);
    }).catch((error) => setProblem(errorText(error)));
  }
  useEffect(() => { load(); }, [datasetId]);
  useEffect(() => { if (dataset) heading.current?.focus(); }, [dataset?.id]);
  useProjectOf(dataset?.project_id, () => navigate(to("datasets")));

  /** Goes to another version or tab of this dataset (a history entry each). */
  function go(change: { version?: string; tab?: Tab }) {
    const next = change.tab ?? tab;
    navigate(to("dataset", { datasetId }, { version: change.version ?? addressedVersion, tab: next === "files" ? undefined : next }));
  }

  async function remove() {
    if (!dataset || !window.confirm(`Delete the dataset “${dataset.name}” with all its versions?`)) return;
    try {
      await api.deleteDataset(dataset.id);
      showInfo(`Dataset “${dataset.name}” deleted.`);
      navigate(to("datasets"), { replace: true });  // its address names nothing now
    } catch (error) { showError(error); }
  }

  async function downloadVersion(version: DatasetVersion) {
    try { saveBlob(await api.downloadDataset(datasetId, version.version), `${dataset?.name ?? "dataset"}-${version.version}.tar`); }
    catch (error) { showError(error); }
  }

  if (problem) {
    return (
      <>
        <p><Link to={to("datasets")}>← All datasets</Link></p>
        <p className="form-failure" role="alert">Dataset <code>{datasetId}</code>: {problem}</p>
      </>
    );
  }
  if (!dataset || !versions) return <p className="muted" role="status">Loading…</p>;
  const version = versions.find((v) => v.version === versionName) ?? null;
  return (
    <>
      <p><Link to={to("datasets")}>← All datasets</Link></p>
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
                  <td><button type="button" className="link" aria-pressed={v.version === versionName} onClick={() => go({ version: v.version })}>{v.version}</button></td>
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
          {!version && addressedVersion && <p className="form-failure" role="alert">This dataset has no version “{addressedVersion}”.</p>}
          <Tabs label="Version views" tabs={tabs} active={tab} onSelect={(id) => go({ tab: id })}>
            {tab === "annotations" ? (
              <Annotations dataset={dataset} versions={versions} version={version} onExported={(created) => load().then(() => go({ version: created.version, tab: "files" }))} />
            ) : !version ? (
              <p className="muted">{addressedVersion ? "Choose one of its versions." : "This dataset has no version yet."}</p>
            ) : tab === "files" ? (
              <FileBrowser key={version.id} datasetId={dataset.id} version={version.version} />
            ) : tab === "schema" ? (
              <SchemaTable profile={version.schema} />
            ) : (
              <LineageView datasetId={dataset.id} version={version} versionIds={versions.map((v) => v.id)}
                onSelectVersion={(id) => { const chosen = versions.find((v) => v.id === id); if (chosen) go({ version: chosen.version }); }} />
            )}
          </Tabs>
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
