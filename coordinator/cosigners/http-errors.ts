// How the co-signer API's typed errors answer over HTTP: a status and a numeric code of their own
// (16xx), so a co-signer can tell "pair again" (a revoked co-signer) from "get a new access token"
// from "your state was rolled back" without reading messages. Used by plugins/errors.ts.
import type { CosignerError } from '../../shared/errors.js';
import { ApiCode } from '../api-error.js';
import { CosignerApiCode } from '../../shared/cosigner-api/error-codes.js';

export { CosignerApiCode };

const TOKEN_REASONS: Record<string, number> = {
  malformed: CosignerApiCode.PAIRING_TOKEN_INVALID,
  'pairing-unknown': CosignerApiCode.PAIRING_TOKEN_INVALID,
  'pairing-used': CosignerApiCode.PAIRING_TOKEN_USED,
  'pairing-expired': CosignerApiCode.PAIRING_TOKEN_EXPIRED,
  refresh: CosignerApiCode.REFRESH_TOKEN_INVALID,
  access: CosignerApiCode.ACCESS_TOKEN_INVALID,
  'access-expired': CosignerApiCode.ACCESS_TOKEN_EXPIRED,
};

/** Routes whose typed errors answer with this table (the others keep the generic 400). */
export function isCosignerRoute(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/cosigner/') || url.startsWith('/v1/cosigner-'));
}

/** The HTTP answer for a typed error of the co-signer API, or undefined for the generic mapping. */
export function cosignerHttpError(e: CosignerError): { status: number; code: number } | undefined {
  switch (e.code) {
    case 'TOKEN_INVALID':
      return { status: 401, code: TOKEN_REASONS[String(e.details?.reason)] ?? CosignerApiCode.PAIRING_TOKEN_INVALID };
    case 'ATTESTATION_INVALID':
      return { status: 403, code: CosignerApiCode.ATTESTATION_REFUSED };
    case 'STATE_ROLLBACK':
      return { status: 409, code: CosignerApiCode.STATE_ROLLBACK };
    case 'LEASE_LOST':
      return { status: 409, code: CosignerApiCode.LEASE_LOST };
    case 'MPC_INVALID_MESSAGE':
    case 'MPC_SESSION_MISMATCH':
    case 'MPC_STATE':
    case 'MPC_KEY_LOCKED':
    case 'MPC_PROOF_FAILED':
      return { status: 422, code: CosignerApiCode.MPC_REFUSED };
    case 'CONFLICT':
      if (e.details?.reason === 'mpc-session-forbidden') return { status: 403, code: CosignerApiCode.MPC_SESSION_FORBIDDEN };
      if (e.details?.reason === 'mpc-round-conflict') return { status: 409, code: CosignerApiCode.MPC_ROUND_CONFLICT };
      return { status: 409, code: ApiCode.CONFLICT };
    case 'NOT_FOUND':
      return e.details?.reason === 'no-result-handler' ? { status: 501, code: CosignerApiCode.NO_RESULT_HANDLER } : { status: 404, code: ApiCode.NOT_FOUND };
    case 'SCHEMA_VIOLATION':
      return String(e.details?.reason ?? '').startsWith('state-') ? { status: 400, code: CosignerApiCode.STATE_REPORT_INVALID } : undefined;
    default:
      return undefined;
  }
}
