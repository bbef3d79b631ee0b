import type { ReactNode } from "react";
import { ApiError } from "../api/http";
import { ErrorBoundary } from "./ErrorBoundary";

interface PanelProps {
  title: ReactNode;
  hint?: ReactNode;
  actions?: ReactNode;
  className?: string;
  flush?: boolean;
  testId?: string;
  children: ReactNode;
}

/** A titled card whose content is fenced by its own error boundary. */
export function Panel({ title, hint, actions, className, flush, testId, children }: PanelProps) {
  return (
    <section className={`panel ${className ?? ""}`} data-testid={testId}>
      <header className="panel-head">
        <h2>{title}</h2>
        {hint ? <span className="hint">{hint}</span> : null}
        {actions ? <div className="actions">{actions}</div> : null}
      </header>
      <div className={flush ? "panel-body flush" : "panel-body"}>
        <ErrorBoundary what="This panel">{children}</ErrorBoundary>
      </div>
    </section>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="notice" role="status">
      <span className="spinner" aria-hidden="true" />
      {what}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="notice">{children}</div>;
}

/** How a failed request reads in a panel: not available, signed out, offline, or the error. */
export function Failure({ error, what }: { error: unknown; what: string }) {
  if (error instanceof ApiError && error.notAvailable) {
    return <div className="notice notice-na">{what} not available from this gateway.</div>;
  }
  if (error instanceof ApiError && error.offline) {
    return <div className="notice notice-error">The gateway cannot be reached; retrying.</div>;
  }
  if (error instanceof ApiError && error.status === 403) {
    return <div className="notice notice-na">{what}: your role does not allow this.</div>;
  }
  const text = error instanceof Error ? error.message : String(error);
  return (
    <div className="notice notice-error" role="alert">
      Could not load {what.toLowerCase()}: {text}
    </div>
  );
}

/** Why an action (acknowledge, silence) failed, for the person who tried it. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return "Your role does not allow this.";
    if (err.notAvailable) return "This gateway cannot do this yet.";
    return err.detail;
  }
  return String(err);
}
