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
  /** The Idempotency-Key it was created with, if any (unique per initiating user). */
  idem_key: string | null;
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

export interface ExternalWalletsTable {
  id: string;
  workspace_id: string;
  name: string;
  customer_ref_id: string | null;
  created_at: number;
}

export interface ExternalWalletAssetsTable {
  wallet_id: string;
  asset_id: string;
  address: string;
  tag: string;
  /** WAITING_FOR_APPROVAL until a co-signer's Configuration Change Key approves, then APPROVED (or REJECTED). */
  status: string;
  /** The configuration-change work item that asks for the approval. */
  work_item_id: string | null;
  created_at: number;
}

export interface WorkItemsTable {
  id: string;
  workspace_id: string;
  /** CONFIG_CHANGE_APPROVAL now; KEYGEN and SIGN with the signing path. */
  kind: string;
  payload: string;
  /** READY → LEASED → DONE | FAILED (a lease that expires returns the item to READY). */
  state: string;
  lease_owner: string | null;
  lease_expires_at: number | null;
  attempts: number;
  result: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhooksTable {
  id: string;
  workspace_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  status: string;
  description: string | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_type: string;
  /** The exact body to POST (signed as is). */
  payload: string;
  /** PENDING → DELIVERED | FAILED */
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
}

export interface MpcKeysTable {
  workspace_id: string;
  /** MPC_ECDSA_SECP256K1 | MPC_EDDSA_ED25519 | MPC_BIP340_SECP256K1 */
  algorithm: string;
  /** Master (joint) public key, hex: 33-byte compressed secp256k1 or 32-byte Ed25519. */
  public_key: string;
  chain_code: string;
  /** The coordinator's share, encoded by the engine and sealed under the master key. */
  sealed_share: string;
  session_id: string;
  cosigner_id: string;
  created_at: number;
  /** PENDING until the co-signer reports GENERATED (its share is stored), then ACTIVE. */
  status: string;
}

export interface MpcSessionsTable {
  /** The 32-byte MPC session id, hex. */
  id: string;
  workspace_id: string;
  kind: 'KEYGEN' | 'SIGN';
  algorithm: string;
  work_item_id: string;
  transaction_id: string | null;
  message_index: number | null;
  /** What the coordinator's party needs to start (JSON): for SIGN the path and the hash it computed. */
  params: string;
  /** The co-signer that opened the session; only it may continue it. */
  cosigner_id: string | null;
  state: 'OPEN' | 'DONE' | 'FAILED';
  result: string | null;
  failure: string | null;
  created_at: number;
  updated_at: number;
}

export interface EvmNoncesTable {
  chain_id: number;
  /** Lower-case 0x address. */
  address: string;
  /** The lowest nonce never reserved. */
  next: number;
}

export interface EvmReleasedNoncesTable {
  chain_id: number;
  address: string;
  nonce: number;
}

export interface ChainTransfersTable {
  transaction_id: string;
  workspace_id: string;
  chain_id: number;
  from_address: string;
  nonce: number;
  /** RESERVED → SIGNING → SIGNED → SENT → CONFIRMED | FAILED (transfers/transfer-pipeline.ts). */
  state: 'RESERVED' | 'SIGNING' | 'SIGNED' | 'SENT' | 'CONFIRMED' | 'FAILED';
  serialized_unsigned: string | null;
  /** {r, s, v} (JSON) from the MPC session. */
  signature: string | null;
  /** The signed transaction, stored before it is broadcast (a restart broadcasts it again). */
  raw: string | null;
  tx_hash: string | null;
  created_at: number;
  updated_at: number;
}

export interface CosignerPairingTokensTable {
  id: string;
  workspace_id: string;
  api_user_id: string;
  /** SHA-256 (hex) of the token's secret; the secret itself is never stored. */
  secret_sha256: string;
  expires_at: number;
  used_at: number | null;
  created_by: string;
  created_at: number;
}

export interface ConfigChangesTable {
  id: string;
  workspace_id: string;
  type: string;
  initiator_id: string;
  work_item_id: string;
  /** WAITING_FOR_APPROVAL → APPROVED | REJECTED | CANCELLED (the handler said IGNORE) | FAILED */
  status: string;
  reason: string | null;
  /** The co-signer whose CCK decided. */
  decided_by: string | null;
  created_at: number;
  decided_at: number | null;
}

export interface CosignerPoliciesTable {
  change_id: string;
  workspace_id: string;
  /** The enclave policy JSON (shared/cosigner-api/enclave-policy.ts), as the Admin signed it. */
  document: string;
  approved_by: string;
  approved_at: number;
}

export interface CosignersTable {
  id: string;
  workspace_id: string;
  api_user_id: string;
  pairing_token_id: string;
  /** Ed25519, raw 32 bytes, base64. */
  identity_public_key: string;
  /** DER SPKI, base64. */
  cck_public_key: string;
  /** DER SPKI (RSA), base64. */
  callback_public_key: string;
  /** JSON {index: hex} of the PCRs the pairing document carried. */
  pcrs: string;
  module_id: string;
  refresh_token_sha256: string;
  /** The highest enclave state version this co-signer reported (null before its first report). */
  state_version: number | null;
  state_digest: string | null;
  created_at: number;
  updated_at: number;
}

export interface CosignerAccessTokensTable {
  token_sha256: string;
  cosigner_id: string;
  expires_at: number;
}

export interface CosignerAttestationPoliciesTable {
  workspace_id: string;
  /** hex, 48 bytes */
  pcr0: string;
  pcr8: string | null;
  updated_by: string;
  updated_at: number;
}

/** The latest run.log a co-signer sent (migration 009). */
export interface CosignerRunLogsTable {
  cosigner_id: string;
  workspace_id: string;
  content: string;
  size_bytes: number;
  received_at: number;
}

export interface MpcRelayAnswersTable {
  session_id: string;
  round_key: string;
  request_sha256: string;
  cosigner_id: string;
  status_code: number;
  answer: string;
  created_at: number;
}

export interface Database {
  evm_nonces: EvmNoncesTable;
  evm_released_nonces: EvmReleasedNoncesTable;
  chain_transfers: ChainTransfersTable;
  mpc_keys: MpcKeysTable;
  mpc_sessions: MpcSessionsTable;
  cosigner_pairing_tokens: CosignerPairingTokensTable;
  cosigners: CosignersTable;
  cosigner_access_tokens: CosignerAccessTokensTable;
  cosigner_attestation_policies: CosignerAttestationPoliciesTable;
  cosigner_run_logs: CosignerRunLogsTable;
  mpc_relay_answers: MpcRelayAnswersTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  external_wallets: ExternalWalletsTable;
  external_wallet_assets: ExternalWalletAssetsTable;
  work_items: WorkItemsTable;
  config_changes: ConfigChangesTable;
  cosigner_policies: CosignerPoliciesTable;
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
