// A file shown in the page instead of only downloaded: images as images, JSON pretty-printed, CSV and TSV as a table,
// other text as text. Nothing is ever rendered as a page (HTML and SVG are shown as text or as an image, whose
// scripts do not run), and what is shown is capped so a large file cannot stall the tab.
import { useEffect, useState } from "react";

/** Files up to this size are previewed; larger ones are only downloaded. */
export const previewLimit = 5 * 1024 * 1024;
const textPreviewChars = 200_000;
const tableRows = 100;

type Kind = "image" | "json" | "table" | "text" | "none";

/** How a file is previewed, by its name. */
export function previewKind(name: string): Kind {
  const extension = name.split(".").pop()?.toLowerCase() ?? "";
  if (["png", "jpg", "jpeg", "gif", "webp", "svg"].includes(extension)) return "image";
  if (extension === "json") return "json";
  if (extension === "csv" || extension === "tsv") return "table";
  if (["txt", "log", "md", "yaml", "yml", "py", "toml", "cfg", "ini", "html", "htm", "xml", "sh", "jsonl", "mlmodel"].includes(extension)) return "text";  // "mlmodel": MLflow's MLmodel file
  return "none";
}

/** Rows of CSV (RFC 4180: quoted fields, doubled quotes, newlines inside quotes) or TSV text, up to `limit` rows. */
export function parseDelimited(text: string, separator: string, limit: number): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = "", quoted = false;
  for (let i = 0; i < text.length && rows.length < limit; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === separator) { row.push(field); field = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field); rows.push(row); row = []; field = "";
    } else field += c;
  }
  if ((field !== "" || row.length > 0) && rows.length < limit) { row.push(field); rows.push(row); }
  return rows;
}

/** The preview of `blob`, named `name`. */
export function FilePreview({ name, blob }: { name: string; blob: Blob }) {
  const kind = previewKind(name);
  const [text, setText] = useState<string | null>(null);
  const [image, setImage] = useState<string | null>(null);
  useEffect(() => {
    setText(null);
    if (kind === "image") {
      const url = URL.createObjectURL(blob);
      setImage(url);
      return () => URL.revokeObjectURL(url);
    }
    if (kind !== "none") blob.slice(0, textPreviewChars * 4).text().then(setText);
    return undefined;
  }, [blob, kind]);

  if (kind === "none") return <p className="muted">No preview for this kind of file: download it.</p>;
  if (kind === "image") return image ? <img className="preview-image" src={image} alt={`Preview of ${name}`} /> : null;
  if (text === null) return <p className="muted" role="status">Reading…</p>;
  const cut = text.length > textPreviewChars || blob.size > textPreviewChars * 4;
  if (kind === "json") {
    try {
      return <pre className="preview-text" aria-label={`Preview of ${name}`}>{JSON.stringify(JSON.parse(text), null, 2)}</pre>;
    } catch { /* not valid JSON (or cut short): shown as text below */ }
  }
  if (kind === "table") {
    const rows = parseDelimited(text, name.toLowerCase().endsWith(".tsv") ? "\t" : ",", tableRows + 1);
    const [header, ...body] = rows;
    return (
      <>
        <table className="table" aria-label={`Preview of ${name}`}>
          <thead><tr>{(header ?? []).map((cell, i) => <th key={i}>{cell}</th>)}</tr></thead>
          <tbody>{body.map((cells, r) => <tr key={r}>{cells.map((cell, i) => <td key={i}>{cell}</td>)}</tr>)}</tbody>
        </table>
        {body.length >= tableRows && <p className="muted">The first {tableRows} rows; download the file for the rest.</p>}
      </>
    );
  }
  return (
    <>
      <pre className="preview-text" aria-label={`Preview of ${name}`}>{text.slice(0, textPreviewChars)}</pre>
      {cut && <p className="muted">The beginning of the file; download it for the rest.</p>}
    </>
  );
}
