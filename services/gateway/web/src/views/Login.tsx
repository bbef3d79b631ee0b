import { type FormEvent, useEffect, useState } from "react";
import { useServices } from "../app/context";
import { useSession } from "../app/hooks";
import { ApiError } from "../api/http";
import { Logo } from "../components/Header";

function loginError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return "Wrong username or password.";
    if (err.status === 429) return `Too many attempts. Try again${err.retryAfter ? ` in ${Math.ceil(err.retryAfter)} s` : " later"}.`;
    if (err.offline) return "The gateway cannot be reached. Is it running?";
    return `Sign-in failed: ${err.detail}`;
  }
  return "Sign-in failed.";
}

export function Login() {
  const { session } = useServices();
  const { notice } = useSession();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  // Marks for `make bench-dashboard`: it subtracts the time spent typing.
  useEffect(() => void performance.mark("vitals:login-shown"), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    performance.mark("vitals:login-submit");
    setBusy(true);
    setError("");
    try {
      await session.login(username.trim(), password);
    } catch (err) {
      setError(loginError(err));
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <span className="brand">
          <Logo /> Vitals
        </span>
        <h1>Sign in</h1>
        <p>System performance and alerts for your fleet.</p>
        {notice ? <div className="login-notice">{notice}</div> : null}
        <label htmlFor="username">Username</label>
        <input id="username" name="username" className="input" autoComplete="username" autoFocus required value={username} onChange={(e) => setUsername(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" className="input" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={busy || !username || !password}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error ? (
          <div className="login-error" role="alert">
            {error}
          </div>
        ) : null}
      </form>
    </main>
  );
}
