// Errors the REST API answers with: JSON `{message, code}` and a numeric code, as the Fireblocks
// API does (reference §4: the ts-sdk reads `message` and `code`; a `null` body crashes it). Auth
// failures use Fireblocks' documented negative codes; the rest are this table. A message never
// holds a stack, a secret or the raw input.

/** Authentication and authorization (HTTP 401), as documented for the Fireblocks API. */
export const AuthCode = {
  INVALID_SIGNATURE: -1,
  MISSING_API_KEY: -2,
  MISSING_JWT: -3,
  WRONG_URI: -4,
  INVALID_TOKEN_FORMAT: -5,
  WRONG_USER: -6,
  TOKEN_NOT_ACCEPTED: -7,
  INSUFFICIENT_PERMISSIONS: -8,
  EXPIRED: -10,
  FUTURE_IAT: -12,
} as const;

/** Everything else. 1004 and 1006 are Fireblocks' own; the others are ours, in their ranges. */
export const ApiCode = {
  INVALID_REQUEST: 1000,
  CREATE_VAULT_FAILED: 1002,
  UNKNOWN_VAULT_ACCOUNT: 1004,
  UNKNOWN_ASSET: 1006,
  NOT_FOUND: 1404,
  CONFLICT: 1409,
  BODY_TOO_LARGE: 1413,
  UNSUPPORTED_MEDIA_TYPE: 1415,
  INTERNAL: 1500,
  UNAVAILABLE: 1503,
} as const;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string) => new ApiError(400, ApiCode.INVALID_REQUEST, message);
export const notFound = (message: string, code: number = ApiCode.NOT_FOUND) => new ApiError(404, code, message);
export const conflict = (message: string) => new ApiError(409, ApiCode.CONFLICT, message);
export const unauthorized = (code: number, message: string) => new ApiError(401, code, `Unauthorized: ${message}`);
