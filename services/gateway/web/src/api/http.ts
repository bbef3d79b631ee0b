// A thin fetch wrapper: bearer token, JSON in and out, errors that say what happened.

export type Params = Record<string, string | number | boolean | null | undefined>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly path: string,
    readonly retryAfter: number | null = null,
    /** The error's body as the gateway sent it (parsed JSON, or text). */
    readonly body: unknown = null,
  ) {
    super(detail);
    this.name = "ApiError";
  }

  /** The gateway does not have this endpoint (yet): the panel says so instead of failing. */
  get notAvailable(): boolean {
    return endpointMissing(this.status, this.detail);
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }

  get offline(): boolean {
    return this.status === 0;
  }
}

/**
 * The gateway answers a route it does not have with 404 "not found" (405 for a method it
 * lacks); an unknown host or series has its own text ("unknown host 'x'").
 */
export function endpointMissing(status: number, detail: string): boolean {
  return (status === 404 && detail === "not found") || status === 405;
}

/** The human text of an error body: FastAPI's `detail` (a string or a list of errors). */
export function errorDetail(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((e) => {
          const item = e as { loc?: unknown[]; msg?: string };
          const where = (item.loc ?? []).filter((p) => p !== "body" && p !== "query").join(".");
          return where ? `${where}: ${item.msg ?? "invalid"}` : (item.msg ?? "invalid");
        })
        .join("; ");
    }
  }
  return fallback;
}

export function withQuery(path: string, params?: Params): string {
  if (!params) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export interface RequestOptions {
  params?: Params;
  json?: unknown;
  form?: Record<string, string>;
  /** Send without the bearer token (login). */
  anonymous?: boolean;
  /** Extra request headers (the session cookie's CSRF header). */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface ClientHooks {
  token(): string | null;
  /** Called when an authenticated call gets 401: the session is over. */
  onUnauthorized(detail: string): void;
}

export class Client {
  constructor(
    private readonly hooks: ClientHooks,
    private readonly base = "",
  ) {}

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = this.base + withQuery(path, opts.params);
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    const token = opts.anonymous ? null : this.hooks.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: BodyInit | undefined;
    if (opts.form) {
      body = new URLSearchParams(opts.form);
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers["Content-Type"] = "application/json";
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), opts.timeoutMs ?? 15000);
    let response: Response;
    try {
      // Same-origin credentials: the session cookie reaches `/auth` and nothing else.
      response = await fetch(url, { method, headers, body, signal: abort.signal, credentials: "same-origin" });
    } catch {
      throw new ApiError(0, "the gateway cannot be reached", path);
    } finally {
      clearTimeout(timer);
    }
    const text = await response.text().catch(() => "");
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!response.ok) {
      const detail = errorDetail(parsed, `${response.status} ${response.statusText}`.trim());
      const retry = Number(response.headers.get("Retry-After"));
      const error = new ApiError(response.status, detail, path, Number.isFinite(retry) && retry > 0 ? retry : null, parsed);
      if (error.unauthorized && token) this.hooks.onUnauthorized(detail);
      throw error;
    }
    return parsed as T;
  }

  get<T>(path: string, params?: Params): Promise<T> {
    return this.request<T>("GET", path, { params });
  }

  post<T>(path: string, json?: unknown): Promise<T> {
    return this.request<T>("POST", path, { json: json ?? {} });
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }
}
