// What each API user role may do: the one table every route's `config.permission` is checked
// against. Roles are Fireblocks' (ts-sdk `UserRole`); the split follows their documented intent:
// signers initiate transactions, editors manage vaults and whitelists, approvers vote in the TAP,
// a non-signing admin administers everything but cannot initiate a signature.
export const PERMISSIONS = [
  'read', // read vaults, transactions, assets, users, policy
  'vault:write', // create vault accounts, wallets, addresses
  'tx:create', // initiate transactions (anything that ends in a signature), cancel them
  'tx:approve', // vote on transactions the TAP holds for approval
  'wallets:manage', // external wallets (whitelisting)
  'policy:publish', // publish a new TAP version
  'users:manage', // create API users, pairing tokens
  'webhooks:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['OWNER', 'ADMIN', 'NON_SIGNING_ADMIN', 'SIGNER', 'EDITOR', 'APPROVER', 'VIEWER', 'AUDITOR'] as const;
export type Role = (typeof ROLES)[number];

const ALL = new Set<Permission>(PERMISSIONS);
const TABLE: Record<Role, ReadonlySet<Permission>> = {
  OWNER: ALL,
  ADMIN: ALL,
  NON_SIGNING_ADMIN: new Set(PERMISSIONS.filter((p) => p !== 'tx:create')),
  SIGNER: new Set<Permission>(['read', 'tx:create', 'vault:write']),
  EDITOR: new Set<Permission>(['read', 'vault:write', 'wallets:manage']),
  APPROVER: new Set<Permission>(['read', 'tx:approve']),
  VIEWER: new Set<Permission>(['read']),
  AUDITOR: new Set<Permission>(['read']),
};

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export function roleAllows(role: string, permission: Permission): boolean {
  return isRole(role) && TABLE[role].has(permission);
}
