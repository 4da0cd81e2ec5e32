// The closed set of Parley errors. Each has a stable `code`, says whether retrying can help, and
// keeps its `cause`. The retry rule for upstream HTTP status codes is written once, here.

export type ErrorKind = 'invalid_request_error' | 'server_error';

export class ParleyError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly kind: ErrorKind;
  readonly param: string | null;

  constructor(code: string, message: string, opts: { retryable?: boolean; kind?: ErrorKind; param?: string | null; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.kind = opts.kind ?? 'server_error';
    this.param = opts.param ?? null;
  }
}

/** Bad configuration at start-up: never retryable, always names the variable. */
export class ConfigError extends ParleyError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

/** A client sent something we refuse: mapped 1:1 onto a Realtime `error` event. */
export class ClientRequestError extends ParleyError {
  constructor(code: string, message: string, param: string | null = null) {
    super(code, message, { kind: 'invalid_request_error', param });
  }
}

/** An engine (STT/LLM/TTS provider) failed. */
export class EngineError extends ParleyError {
  readonly engine: string;
  constructor(engine: string, code: string, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, { retryable: opts.retryable ?? false, cause: opts.cause });
    this.engine = engine;
  }
}

/** The bus (NATS) was unavailable or refused a publish. */
export class TransportError extends ParleyError {
  constructor(message: string, cause?: unknown) {
    super('transport_unavailable', message, { retryable: true, cause });
  }
}

/** Work was cancelled (barge-in, response.cancel, shutdown). Stop quietly. */
export class CancelledError extends ParleyError {
  constructor(message = 'cancelled') {
    super('cancelled', message);
  }
}

/** 408, 409, 429 and 5xx are worth retrying; other 4xx are the caller's fault. */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return true; // network error, no response at all
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

export function isAbortError(err: unknown): boolean {
  if (err instanceof CancelledError) return true;
  if (err && typeof err === 'object' && 'name' in err) {
    const name = (err as { name: unknown }).name;
    return name === 'AbortError' || name === 'APIUserAbortError';
  }
  return false;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
