export type ErrorCode =
  | 'invalid_frame'
  | 'invalid_envelope'
  | 'unknown_type'
  | 'unauthenticated'
  | 'unauthorized'
  | 'already_authenticated'
  | 'invalid_request'
  | 'limit_exceeded'
  | 'rate_limited'
  | 'not_found'
  | 'conflict'
  | 'idempotency_key_reused'
  | 'overloaded'
  | 'draining'
  | 'internal';

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  /** The limit or rule that was broken, e.g. `message_size` or `rate_messages`. */
  readonly rule?: string;
  /** What a rate limit counts: `agent`, `key`, `tenant`, `address` or `admin_token`. */
  readonly scope?: string;
  readonly retryAfterMs?: number;
}

/** An error the agent caused or may retry; its body is sent as is. Anything else becomes `internal`. */
export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Pick<ErrorBody, 'rule' | 'scope' | 'retryAfterMs'> = {},
  ) {
    super(message);
    this.name = 'HubError';
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...this.details };
  }
}

export const notFound = (what: string) => new HubError('not_found', `${what} not found`);
