// The coordinator's tables as Kysely sees them. Types are the values the SQL drivers return; times
// are epoch milliseconds. Written for SQLite and PostgreSQL alike: no SQLite-only SQL anywhere.
export interface WorkspacesTable {
  id: string;
  name: string;
  created_at: number;
}

export interface ApiUsersTable {
  id: string;
  workspace_id: string;
  name: string;
  role: string;
  /** The API key (X-API-Key, JWT `sub`): a random UUID, public like a user name. */
  api_key: string;
  /** SPKI PEM of the RSA key the user signs request JWTs with. */
  public_key_pem: string;
  enabled: number;
  created_at: number;
}

export interface JwtNoncesTable {
  api_key: string;
  nonce: string;
  /** When the token carrying it expires; the row can be deleted after that. */
  expires_at: number;
}

export interface IdempotencyKeysTable {
  api_user_id: string;
  idem_key: string;
  /** method + path + SHA-256 of the body: a reused key with another request is a conflict. */
  request_hash: string;
  status_code: number;
  response: string;
  created_at: number;
}

export interface VaultAccountsTable {
  workspace_id: string;
  /** The BIP44 account index. */
  id: number;
  name: string;
  customer_ref_id: string | null;
  hidden_on_ui: number;
  auto_fuel: number;
  created_at: number;
}

export interface VaultAssetsTable {
  workspace_id: string;
  vault_account_id: number;
  asset_id: string;
  created_at: number;
}

export interface SecretsTable {
  /** What the secret is, e.g. "service-key". */
  name: string;
  /** AES-256-GCM under the master key (coordinator/secrets/master-key.ts), base64. */
  sealed: string;
  created_at: number;
}

export interface TransactionsTable {
  id: string;
  workspace_id: string;
  external_tx_id: string | null;
  status: string;
  sub_status: string;
  operation: string;
  asset_id: string | null;
  source_type: string;
  source_id: string | null;
  destination_type: string | null;
  destination_id: string | null;
  destination_address: string | null;
  /** Base units, decimal string (exact). */
  amount: string | null;
  note: string | null;
  customer_ref_id: string | null;
  /** The request as accepted (JSON), for what the API shows and the signer needs. */
  request: string;
  /** authorizationInfo (JSON): the TAP decision and approvals. */
  authorization: string;
  policy_rule: string | null;
  created_by: string;
  created_at: number;
  last_updated: number;
  /** signedMessages etc. (JSON) once signed. */
  result: string | null;
}

export interface PoliciesTable {
  workspace_id: string;
  version: number;
  document: string;
  published_by: string;
  published_at: number;
}

export interface ApprovalsTable {
  tx_id: string;
  user_id: string;
  vote: string;
  at: number;
}

export interface Database {
  workspaces: WorkspacesTable;
  api_users: ApiUsersTable;
  jwt_nonces: JwtNoncesTable;
  idempotency_keys: IdempotencyKeysTable;
  vault_accounts: VaultAccountsTable;
  vault_assets: VaultAssetsTable;
  secrets: SecretsTable;
  transactions: TransactionsTable;
  policies: PoliciesTable;
  approvals: ApprovalsTable;
}
