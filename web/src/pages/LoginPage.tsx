import { FormEvent, useState } from "react";
import { api } from "../store";
import { Field, FormFailure, useSubmit } from "../components/Form";

export function LoginPage() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { errors, failure, busy, run } = useSubmit();

  function submit(event: FormEvent) {
    event.preventDefault();
    run(async () => { await api.login(username, password); });
  }

  return (
    <main className="login">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>aitip</h1>
        <p className="muted">Sign in to your organization.</p>
        <Field label="Username or email" error={errors.username}>
          <input name="username" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />
        </Field>
        <Field label="Password" error={errors.password}>
          <input name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <FormFailure text={failure} />
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
