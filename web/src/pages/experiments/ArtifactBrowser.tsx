import { useEffect, useState } from "react";
import { ArtifactFile, Run } from "../../api";
import { api, showError } from "../../store";
import { bytes, errorText, saveBlob } from "../datasets/format";
import { FilePreview, previewKind, previewLimit } from "../../components/FilePreview";

type Listing = { state: "loading" } | { state: "loaded"; files: ArtifactFile[] } | { state: "failed"; problem: string };

const scheme = "mlflow-artifacts:";

/** The artifact store path of a run (`<experiment>/<run>/artifacts`), or null when its artifacts live elsewhere. */
export function artifactRoot(run: Run): string | null {
  if (!run.artifact_uri.startsWith(scheme)) return null;
  return run.artifact_uri.slice(scheme.length).replace(/^\/+/, "").replace(/\/+$/, "");
}

/** A run's artifacts as a folder tree: each folder is listed when first opened (the server lists one level at a
 *  time), files show their size and download with the bearer token through a Blob; images, JSON, CSV and text files
 *  up to 5 MB can be previewed below the tree. */
export function ArtifactBrowser({ run }: { run: Run }) {
  const root = artifactRoot(run);
  const [listings, setListings] = useState<Record<string, Listing>>({});
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [preview, setPreview] = useState<{ path: string; blob: Blob | null } | null>(null);

  function list(folder: string) {
    if (!root) return;
    setListings((before) => ({ ...before, [folder]: { state: "loading" } }));
    api.artifacts(folder ? `${root}/${folder}` : root)
      .then((files) => setListings((before) => ({ ...before, [folder]: { state: "loaded", files: sorted(files) } })))
      .catch((error) => setListings((before) => ({ ...before, [folder]: { state: "failed", problem: errorText(error) } })));
  }
  useEffect(() => { setListings({}); setOpen(new Set()); setPreview(null); list(""); }, [run.id]);

  function toggle(folder: string) {
    const next = new Set(open);
    if (next.has(folder)) next.delete(folder);
    else {
      next.add(folder);
      if (!listings[folder]) list(folder);
    }
    setOpen(next);
  }

  async function show(path: string) {
    setPreview({ path, blob: null });
    try {
      const blob = await api.downloadArtifact(`${root}/${path}`);
      setPreview((now) => (now?.path === path ? { path, blob } : now));
    } catch (error) { setPreview(null); showError(error); }
  }

  async function download(path: string) {
    try { saveBlob(await api.downloadArtifact(`${root}/${path}`), path.split("/").pop() || "artifact"); }
    catch (error) { showError(error); }
  }

  if (!root) return <p className="muted">This run's artifacts are stored at <code>{run.artifact_uri}</code>, which this server does not serve.</p>;

  /** The rows of `folder` and, below each open sub-folder, its rows, indented by depth. */
  function rows(folder: string, depth: number): JSX.Element[] {
    const listing = listings[folder];
    if (!listing || listing.state === "loading") {
      return [<tr key={`${folder}/…`}><td colSpan={3} className="muted" style={{ paddingLeft: `${0.7 + depth * 1.2}rem` }}>Loading…</td></tr>];
    }
    if (listing.state === "failed") {
      return [<tr key={`${folder}/!`}><td colSpan={3} className="form-failure" role="alert" style={{ paddingLeft: `${0.7 + depth * 1.2}rem` }}>{listing.problem}</td></tr>];
    }
    if (listing.files.length === 0) {
      return [<tr key={`${folder}/∅`}><td colSpan={3} className="muted" style={{ paddingLeft: `${0.7 + depth * 1.2}rem` }}>{folder ? "Empty folder." : "No artifacts logged."}</td></tr>];
    }
    return listing.files.flatMap((file) => {
      const path = folder ? `${folder}/${file.path}` : file.path;
      const indent = { paddingLeft: `${0.7 + depth * 1.2}rem` };
      if (!file.is_dir) {
        return [(
          <tr key={path}>
            <td style={indent}><code>{file.path}</code></td>
            <td className="size">{file.file_size === undefined ? "—" : bytes(file.file_size)}</td>
            <td className="actions">
              <button type="button" className="link" aria-label={`Download ${path}`} onClick={() => download(path)}>Download</button>
              {previewKind(file.path) !== "none" && (file.file_size ?? 0) <= previewLimit &&
                <button type="button" className="link" aria-label={`Preview ${path}`} aria-pressed={preview?.path === path} onClick={() => show(path)}>Preview</button>}
            </td>
          </tr>
        )];
      }
      const expanded = open.has(path);
      const inside = listings[path];
      return [(
        <tr key={path} className="folder">
          <td style={indent}>
            <button type="button" className="link tree-toggle" aria-expanded={expanded} onClick={() => toggle(path)}>{`${file.path}/`}</button>
          </td>
          <td className="size muted">{inside?.state === "loaded" ? `${inside.files.length} item${inside.files.length === 1 ? "" : "s"}` : "folder"}</td>
          <td />
        </tr>
      ), ...(expanded ? rows(path, depth + 1) : [])];
    });
  }

  return (
    <>
      <table className="table artifacts" aria-label="Artifacts">
        <thead><tr><th>Name</th><th>Size</th><th><span className="visually-hidden">Download or preview</span></th></tr></thead>
        <tbody>{rows("", 0)}</tbody>
      </table>
      {preview && (
        <section className="preview" aria-label={`Artifact ${preview.path}`}>
          <h3><code>{preview.path}</code> <button type="button" className="link" onClick={() => setPreview(null)}>Close preview</button></h3>
          {preview.blob ? <FilePreview name={preview.path.split("/").pop() ?? preview.path} blob={preview.blob} /> : <p className="muted" role="status">Loading…</p>}
        </section>
      )}
    </>
  );
}

/** Names only (a server may answer paths relative to the run's root), folders first, then A→Z. */
function sorted(files: ArtifactFile[]): ArtifactFile[] {
  return files.map((f) => ({ ...f, path: f.path.split("/").filter(Boolean).pop() ?? f.path })).sort((a, b) => (a.is_dir === b.is_dir ? a.path.localeCompare(b.path) : a.is_dir ? -1 : 1));
}
