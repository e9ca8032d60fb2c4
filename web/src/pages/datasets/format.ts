// Small formatting and download helpers shared by the datasets views.

const units = ["B", "KB", "MB", "GB", "TB", "PB"];

/** 1536 → "1.5 KB" (powers of 1024, as `du -h`). */
export function bytes(size: number): string {
  let value = size, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function count(value?: number): string {
  return value === undefined ? "—" : value.toLocaleString();
}

/** A statistic: up to 6 significant digits, "—" when absent. */
export function stat(value?: number): string {
  return value === undefined ? "—" : Number(value.toPrecision(6)).toLocaleString(undefined, { maximumFractionDigits: 6 });
}

export function shortHash(sha256: string): string {
  return sha256.slice(0, 12);
}

/** Hands a fetched Blob to the browser's download through a temporary object URL. */
export function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
