import { Component, type ErrorInfo, type ReactNode } from "react";

interface Props {
  /** What failed, in the fallback's words ("This panel", "This page"). */
  what?: string;
  children: ReactNode;
}

interface State {
  error: Error | null;
}

/** One failing panel shows its error and a retry button; the rest of the page carries on. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`${this.props.what ?? "A panel"} failed`, error, info.componentStack);
  }

  render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="notice notice-error" role="alert">
        <span>
          {this.props.what ?? "This panel"} failed to draw: {error.message || String(error)}
        </span>
        <button type="button" className="btn btn-small" onClick={() => this.setState({ error: null })}>
          Retry
        </button>
      </div>
    );
  }
}
