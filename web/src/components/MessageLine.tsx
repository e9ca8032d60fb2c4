import { store, useStore } from "../store";

/** One line for the latest error or confirmation, announced to screen readers, dismissible. */
export function MessageLine() {
  const message = useStore((s) => s.message);
  if (!message) return null;
  return (
    <div className={`message ${message.kind}`} role={message.kind === "error" ? "alert" : "status"}>
      <span>{message.text}</span>
      <button type="button" aria-label="Dismiss" onClick={() => store.update({ message: null })}>×</button>
    </div>
  );
}
