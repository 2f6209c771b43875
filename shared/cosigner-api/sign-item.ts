// The payloads of KEYGEN and SIGN work items exactly as the coordinator sends them today
// (coordinator/mpc/signing-requests.ts: KeygenItemPayload, SignItemPayload; the TRANSFER `transfer`
// from coordinator/transfers/transfer-pipeline.ts), as closed schemas of shared/schema.ts with
// bounded sizes. The enclave parses a payload with these after the item's service-key signature
// checks (DESIGN.md, "The trust boundary is the design": "the request really comes from the
// coordinator"), so nothing else of it is read unchecked. Hex is lower-case without 0x except the
// EVM transaction (0x-prefixed, as viem writes it); EVM addresses are all lower-case or EIP-55.
// Pure: no I/O.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CosignerError } from '../errors.js';
import { array, literal, optional, struct, text, uint, type Infer, type Schema } from '../schema.js';

export const SIGN_ALGORITHMS = ['MPC_ECDSA_SECP256K1', 'MPC_EDDSA_ED25519', 'MPC_BIP340_SECP256K1'] as const;
export type SignAlgorithm = (typeof SIGN_ALGORITHMS)[number];

/** Party ids in every coordinator ↔ co-signer session (the coordinator is P1, the co-signer P2). */
export const COORDINATOR_PARTY_ID = 1;
export const COSIGNER_PARTY_ID = 2;

export const MAX_SIGN_MESSAGES = 16;
/** The coordinator refuses RAW messages longer than this (signing-requests.ts MAX_RAW_MESSAGE_BYTES). */
export const MAX_MESSAGE_BYTES = 4096;
export const MAX_DERIVATION_DEPTH = 8;
/** An unsigned EIP-1559 transfer is ~120 bytes (ERC-20: ~190); anything near this is not a transfer. */
export const MAX_SERIALIZED_TX_BYTES = 1024;
const HARDENED_OFFSET = 0x80000000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SESSION_ID = /^[0-9a-f]{64}$/;
const HEX_BYTES = /^(?:[0-9a-f]{2})+$/;
const TX_HEX = /^0x(?:[0-9a-f]{2})+$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const AMOUNT = /^[1-9][0-9]{0,77}$/;
const UINT256_MAX = (1n << 256n) - 1n;

function fail(path: string, what: string): never {
  throw new CosignerError('SCHEMA_VIOLATION', `${path || 'value'}: ${what}`, { path: path || 'value' });
}

/** A schema with a further check on the parsed value. */
function refine<T>(inner: Schema<T>, check: (v: T, path: string) => void): Schema<T> {
  return {
    kind: inner.kind,
    parse(v, path = '') {
      const out = inner.parse(v, path);
      check(out, path);
      return out;
    },
  };
}

/** EIP-55: a mixed-case address must carry its checksum; all lower-case (or all upper) carries none. */
export function isEip55OrUniformCase(address: string): boolean {
  if (!ADDRESS.test(address)) return false;
  const hex = address.slice(2);
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase()) return true;
  const hash = keccak_256(new TextEncoder().encode(hex.toLowerCase()));
  for (let i = 0; i < 40; i++) {
    const c = hex[i]!;
    if (!/[a-fA-F]/.test(c)) continue;
    const nibble = (hash[i >> 1]! >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    if ((nibble >= 8) !== (c === c.toUpperCase())) return false;
  }
  return true;
}

const evmAddress = refine(text({ min: 42, max: 42, pattern: ADDRESS }), (v, path) => {
  if (!isEip55OrUniformCase(v)) fail(path, 'mixed-case address with a wrong EIP-55 checksum');
});

const algorithm = text({ oneOf: SIGN_ALGORITHMS }) as Schema<SignAlgorithm>;
const sessionId = text({ min: 64, max: 64, pattern: SESSION_ID });
const derivationPath = array(uint({ max: HARDENED_OFFSET - 1 }), { min: 1, max: MAX_DERIVATION_DEPTH });

export const KeygenItemPayloadSchema = struct({
  sessionId,
  algorithm,
  coordinatorPartyId: literal(COORDINATOR_PARTY_ID),
  cosignerPartyId: literal(COSIGNER_PARTY_ID),
});
export type KeygenItemPayload = Infer<typeof KeygenItemPayloadSchema>;

const SignMessageSchema = struct({
  index: uint({ max: MAX_SIGN_MESSAGES - 1 }),
  sessionId,
  content: text({ min: 2, max: 2 * MAX_MESSAGE_BYTES, pattern: HEX_BYTES }),
  derivationPath,
});
export type SignMessage = Infer<typeof SignMessageSchema>;

const TransferSchema = struct({
  assetId: text({ min: 1, max: 64, pattern: /^[A-Za-z0-9_.-]+$/ }),
  chainId: refine(uint(), (v, path) => { if (v === 0) fail(path, 'a chain id is positive'); }),
  from: evmAddress,
  serializedUnsigned: text({ min: 4, max: 2 + 2 * MAX_SERIALIZED_TX_BYTES, pattern: TX_HEX }),
  to: evmAddress,
  amount: refine(text({ min: 1, max: 78, pattern: AMOUNT }), (v, path) => {
    if (BigInt(v) > UINT256_MAX) fail(path, 'amount exceeds 2^256-1');
  }),
});
export type SignItemTransfer = Infer<typeof TransferSchema>;

const SignItemStruct = struct({
  transactionId: text({ min: 36, max: 36, pattern: UUID }),
  /** The API user who created the transaction (whose callback handler decides). */
  initiatorId: optional(text({ min: 1, max: 64, pattern: /^[A-Za-z0-9-]+$/ })),
  algorithm,
  coordinatorPartyId: literal(COORDINATOR_PARTY_ID),
  cosignerPartyId: literal(COSIGNER_PARTY_ID),
  messages: array(SignMessageSchema, { min: 1, max: MAX_SIGN_MESSAGES }),
  transfer: optional(TransferSchema),
});
export type SignItemPayload = Infer<typeof SignItemStruct>;

/**
 * SIGN payload, with the rules across fields: message indices strictly increasing (a re-issued item
 * carries a subset), session ids distinct, ECDSA contents 32-byte hashes, and a TRANSFER (one with
 * `transfer`) is one ECDSA message.
 */
export const SignItemPayloadSchema: Schema<SignItemPayload> = refine(SignItemStruct, (p, path) => {
  const at = (s: string) => (path ? `${path}.${s}` : s);
  const sessions = new Set<string>();
  p.messages.forEach((m, i) => {
    if (i > 0 && m.index <= p.messages[i - 1]!.index) fail(at(`messages[${i}].index`), 'indices must be strictly increasing');
    if (sessions.has(m.sessionId)) fail(at(`messages[${i}].sessionId`), 'a session id appears twice');
    sessions.add(m.sessionId);
    if (p.algorithm === 'MPC_ECDSA_SECP256K1' && m.content.length !== 64) fail(at(`messages[${i}].content`), 'an ECDSA message is a 32-byte hash');
  });
  if (p.transfer) {
    if (p.algorithm !== 'MPC_ECDSA_SECP256K1') fail(at('algorithm'), 'an EVM transfer is signed with MPC_ECDSA_SECP256K1');
    if (p.messages.length !== 1 || p.messages[0]!.index !== 0) fail(at('messages'), 'an EVM transfer has exactly one message, index 0');
  }
});

/** The kinds the enclave takes part in: MPC (KEYGEN, SIGN) and CCK approvals (config-change.ts). */
export const WORK_ITEM_KINDS = ['KEYGEN', 'SIGN', 'CONFIG_CHANGE_APPROVAL'] as const;
export type SigningWorkItemKind = (typeof WORK_ITEM_KINDS)[number];

export const parseKeygenItemPayload = (v: unknown): KeygenItemPayload => KeygenItemPayloadSchema.parse(v, 'payload');
export const parseSignItemPayload = (v: unknown): SignItemPayload => SignItemPayloadSchema.parse(v, 'payload');
