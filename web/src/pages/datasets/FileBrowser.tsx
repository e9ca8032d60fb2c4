import { useEffect, useState } from "react";
import { DatasetFile } from "../../api";
import { api, showError } from "../../store";
import { bytes, errorText, saveBlob, shortHash } from "./format";

interface Folder { name: string; files: number; size: number }

/** Splits the files under `prefix` into its direct files and its sub-folders (with their file count and size). */
function entries(files: DatasetFile[], prefix: string): { folders: Folder[]; here: DatasetFile[] } {
  const folders = new Map<string, Folder>();
  const here: DatasetFile[] = [];
  for (const file of files) {
    if (!file.path.startsWith(prefix)) continue;
    const rest = file.path.slice(prefix.length);
    const slash = rest.indexOf("/");
    if (slash < 0) { here.push(file); continue; }
    const name = rest.slice(0, slash);
    const folder = folders.get(name) ?? { name, files: 0, size: 0 };
    folder.files += 1;
    folder.size += file.size_bytes;
    folders.set(name, folder);
  }
  return { folders: [...folders.values()].sort((a, b) => a.name.localeCompare(b.name)), here };
}

/** A version's manifest as folders: the server lists by path prefix; folders are the paths' directory parts. */
export function FileBrowser({ datasetId, version }: { datasetId: string; version: string }) {
  const [prefix, setPrefix] = useState("");
  const [files, setFiles] = useState<DatasetFile[]>([]);
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [problem, setProblem] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  function load(cursor?: string) {
    setProblem(null);
    setLoading(true);
    api.datasetFiles(datasetId, version, prefix, cursor).then((page) => {
      setFiles((before) => (cursor ? [...before, ...page.items] : page.items));
      setNextCursor(page.next_cursor);
    }).catch((error) => setProblem(errorText(error))).finally(() => setLoading(false));
  }
  useEffect(() => load(), [datasetId, version, prefix]);

  async function download(file: DatasetFile) {
    try { saveBlob(await api.downloadDataset(datasetId, version, file.path), file.path.split("/").pop() || "file"); }
    catch (error) { showError(error); }
  }

  const segments = prefix.split("/").filter(Boolean);
  const { folders, here } = entries(files, prefix);
  return (
    <>
      <nav className="breadcrumbs" aria-label="Folder">
        <button type="button" className="link" onClick={() => setPrefix("")} aria-current={prefix === "" ? "location" : undefined}>{version}</button>
        {segments.map((segment, i) => {
          const path = segments.slice(0, i + 1).join("/") + "/";
          return (
            <span key={path}> / <button type="button" className="link" onClick={() => setPrefix(path)}
              aria-current={path === prefix ? "location" : undefined}>{segment}</button></span>
          );
        })}
      </nav>
      {problem && <p className="form-failure" role="alert">{problem}</p>}
      <table className="table" aria-label="Files" aria-busy={loading}>
        <thead><tr><th>Name</th><th>Size</th><th>sha256</th><th><span className="visually-hidden">Download</span></th></tr></thead>
        <tbody>
          {prefix && (
            <tr>
              <td><button type="button" className="link" aria-label="Up one folder" onClick={() => setPrefix(segments.slice(0, -1).map((s) => s + "/").join(""))}>..</button></td>
              <td /><td /><td />
            </tr>
          )}
          {folders.map((f) => (
            <tr key={`d-${f.name}`} className="folder">
              <td><button type="button" className="link" onClick={() => setPrefix(prefix + f.name + "/")}>{`${f.name}/`}</button></td>
              <td>{bytes(f.size)} <span className="muted">in {f.files} file{f.files === 1 ? "" : "s"}</span></td>
              <td /><td />
            </tr>
          ))}
          {here.map((f) => (
            <tr key={f.path}>
              <td><code>{f.path.slice(prefix.length)}</code></td>
              <td>{bytes(f.size_bytes)}</td>
              <td><code className="hash" title={f.sha256}>{shortHash(f.sha256)}</code></td>
              <td><button type="button" className="link" aria-label={`Download ${f.path}`} onClick={() => download(f)}>Download</button></td>
            </tr>
          ))}
          {!loading && folders.length === 0 && here.length === 0 && <tr><td colSpan={4} className="muted">No files here.</td></tr>}
        </tbody>
      </table>
      {nextCursor && (
        <p><span className="muted">Showing the first {files.length.toLocaleString()} files under this folder. </span>
          <button type="button" onClick={() => load(nextCursor)}>Load more</button></p>
      )}
    </>
  );
}
