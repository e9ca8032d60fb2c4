import { ReactNode, useState } from "react";
import { ApiError } from "../api";

/** Runs a submit action, keeping field errors from a problem+json answer next to their inputs. */
export function useSubmit() {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<void>) {
    setBusy(true);
    setErrors({});
    setFailure(null);
    try {
      await action();
    } catch (error) {
      if (error instanceof ApiError) {
        setErrors(Object.fromEntries((error.problem.errors ?? []).map((e) => [e.field, e.message])));
        setFailure(error.problem.detail);
      } else {
        setFailure(error instanceof Error ? error.message : String(error));
      }
    } finally {
      setBusy(false);
    }
  }
  return { errors, failure, busy, run };
}

export function Field(props: { label: string; error?: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{props.label}</span>
      {props.children}
      {props.error && <small className="field-error">{props.error}</small>}
    </label>
  );
}

export function FormFailure({ text }: { text: string | null }) {
  return text ? <p className="form-failure" role="alert">{text}</p> : null;
}

export function when(value?: string) {
  return value ? new Date(value).toLocaleString() : "—";
}

/** A short form of an id for tables (the whole id in a tooltip): its last 8 characters. Ids are UUIDv7, whose first
 *  characters are the time they were made, so ids made in the same second share their beginnings, not their ends. */
export function shortId(id: string) {
  return id.slice(-8);
}
