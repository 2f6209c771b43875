// The enclave's own policy (DESIGN.md "The trust boundary is the design": "the enclave's own policy
// allows it — limits and allowlists in sealed state, changed only by a CCK-approved configuration
// change"). The document is the body of `POST /v1/cosigner_policy`, which an Admin API user signs;
// the enclave parses it with this schema and seals it for the workspace. What it limits:
//   - per asset: the amount of one transfer, the sum of transfers in a rolling window, and the
//     destinations a transfer may go to;
//   - per API user: which operations (TRANSFER: an EVM transfer the enclave decodes; RAW: a raw
//     message) the user may initiate.
// Amounts are base units (wei for ETH), decimal strings. An asset with no entry has no limit; a
// user with no entry may initiate every operation. A RAW signature carries no asset or amount, so
// only the operations rule governs it.
import { CosignerError } from '../errors.js';
import * as s from '../schema.js';

export const POLICY_OPERATIONS = ['TRANSFER', 'RAW'] as const;
export type PolicyOperation = (typeof POLICY_OPERATIONS)[number];

const AMOUNT = /^(0|[1-9][0-9]{0,77})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
/** The longest window: counters of older transfers are dropped from sealed state. */
export const MAX_WINDOW_SECONDS = 31 * 24 * 3600;

const AssetLimitSchema = s.struct({
  assetId: s.text({ min: 1, max: 64, pattern: /^[A-Za-z0-9_.-]+$/ }),
  maxAmountPerTransaction: s.optional(s.text({ pattern: AMOUNT })),
  window: s.optional(s.struct({
    seconds: s.uint({ max: MAX_WINDOW_SECONDS }),
    maxAmount: s.text({ pattern: AMOUNT }),
  })),
  /** Absent: any destination; present: only these (compared case-insensitively). */
  allowedDestinations: s.optional(s.array(s.text({ pattern: ADDRESS }), { max: 1000 })),
});

const UserOperationsSchema = s.struct({
  userId: s.text({ min: 1, max: 64, pattern: /^[A-Za-z0-9-]+$/ }),
  operations: s.array(s.text({ oneOf: POLICY_OPERATIONS }), { max: POLICY_OPERATIONS.length }),
});

export const EnclavePolicySchema = s.struct({
  assets: s.array(AssetLimitSchema, { max: 256 }),
  users: s.array(UserOperationsSchema, { max: 256 }),
});
export type EnclavePolicy = s.Infer<typeof EnclavePolicySchema>;
export type AssetLimit = s.Infer<typeof AssetLimitSchema>;

/** A policy document (untrusted JSON) checked: closed schema, one entry per asset and per user, windows of at least a second. */
export function parseEnclavePolicy(v: unknown): EnclavePolicy {
  const p = EnclavePolicySchema.parse(v, 'policy');
  const assets = new Set(p.assets.map((a) => a.assetId));
  if (assets.size !== p.assets.length) throw new CosignerError('SCHEMA_VIOLATION', 'policy.assets: one entry per asset');
  const users = new Set(p.users.map((u) => u.userId));
  if (users.size !== p.users.length) throw new CosignerError('SCHEMA_VIOLATION', 'policy.users: one entry per user');
  for (const a of p.assets) if (a.window && a.window.seconds < 1) throw new CosignerError('SCHEMA_VIOLATION', `policy.assets ${a.assetId}: a window is at least 1 second`);
  return p;
}
