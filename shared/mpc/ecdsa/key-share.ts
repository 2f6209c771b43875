// The two parties' outputs of two-party ECDSA key generation (Lindell 2017 Protocol 3.2, additive shares:
// Q = Q1 + Q2 = (x1 + x2)·G), with sealing encodings. decode() re-validates every invariant that is
// cheap to check, so a corrupted or foreign blob is refused instead of producing bad signatures.
// The proofs (Πmod, Πfac, Πlog*) were verified at key generation and are not re-run on decode: the
// sealed blob is authenticated (KMS + AES-GCM), the checks here catch corruption and mix-ups.
//
// Both shares carry the jointly generated BIP32 master chain code (chain-code.ts) for xpub export and
// non-hardened derivation (derive.ts). Encoding version 2 added it; a version-1 blob (no chain code)
// is refused with a message saying so, since no xpub can ever be exported for it.
//
// P1 holds the `locked` flag (Lindell 2017 Protocol 3.3, "why P1 stops"; CVE-2023-33242): once a signature
// fails verification the share refuses to sign again; the flag is part of the sealed encoding.
import * as s from '../../schema.js';
import { CosignerError } from '../../errors.js';
import { decodeCbor, encodeCbor } from '../../cbor.js';
import { uintToWire } from '../bigint/wire.js';
import { PaillierPublicKey, PaillierSecretKey, checkPaillierModulusShape } from '../paillier/paillier.js';
import { PAILLIER_MAX_BITS } from '../paillier/modulus-shape.js';
import { CHAIN_CODE_BYTES } from './chain-code.js';
import { type Point, POINT_BYTES, SCALAR_BYTES, mulBase, pointFromBytes, pointToBytes, scalarFromBytes, scalarToBytes } from './curve.js';

const CT_BYTES = (2 * PAILLIER_MAX_BITS) / 8;

function sealedInvalid(why: string): never {
  throw new CosignerError('SEALED_STATE_INVALID', `ECDSA key share invalid: ${why}`);
}

function decodePoint(b: Uint8Array, what: string): Point {
  try {
    return pointFromBytes(b, what);
  } catch {
    return sealedInvalid(`${what} is not a valid point`);
  }
}

/** Sealed encoding version (2: chain code added). */
export const ECDSA_KEY_SHARE_VERSION = 2;

const P1Wire = s.struct({
  v: s.literal(ECDSA_KEY_SHARE_VERSION),
  kind: s.literal('ecdsa2p-secp256k1-p1'),
  x1: s.bytes({ len: SCALAR_BYTES }),
  Q1: s.bytes({ len: POINT_BYTES }),
  Q2: s.bytes({ len: POINT_BYTES }),
  Q: s.bytes({ len: POINT_BYTES }),
  chainCode: s.bytes({ len: CHAIN_CODE_BYTES }),
  paillier: s.bytes({ max: 4096 }),
  cKey: s.biguint({ maxBytes: CT_BYTES }),
  locked: s.bool(),
});

const P2Wire = s.struct({
  v: s.literal(ECDSA_KEY_SHARE_VERSION),
  kind: s.literal('ecdsa2p-secp256k1-p2'),
  x2: s.bytes({ len: SCALAR_BYTES }),
  Q1: s.bytes({ len: POINT_BYTES }),
  Q2: s.bytes({ len: POINT_BYTES }),
  Q: s.bytes({ len: POINT_BYTES }),
  chainCode: s.bytes({ len: CHAIN_CODE_BYTES }),
  N: s.biguint({ maxBytes: PAILLIER_MAX_BITS / 8 }),
  cKey: s.biguint({ maxBytes: CT_BYTES }),
});

function parseWire<T>(schema: s.Schema<T>, b: Uint8Array): T {
  let raw: unknown;
  try {
    if (!(b instanceof Uint8Array)) throw new TypeError('not bytes');
    raw = decodeCbor(b);
  } catch {
    return sealedInvalid('not a CBOR key share');
  }
  if (typeof raw === 'object' && raw !== null && (raw as { v?: unknown }).v === 1) {
    sealedInvalid('encoding version 1 has no BIP32 chain code and is no longer accepted; generate a new key');
  }
  try {
    return s.parse(schema, raw);
  } catch (e) {
    return sealedInvalid(e instanceof CosignerError ? e.message : 'not a key share');
  }
}

/** P1: owns the Paillier secret key; decrypts P2's last message and outputs signatures. */
export class EcdsaKeyShareP1 {
  private lockedFlag: boolean;

  constructor(
    readonly x1: bigint,
    readonly paillier: PaillierSecretKey,
    /** Enc(x1) under `paillier`, as given to P2. */
    readonly cKey: bigint,
    readonly Q1: Point,
    readonly Q2: Point,
    readonly Q: Point,
    /** BIP32 master chain code (32 bytes), generated jointly at key generation. */
    readonly chainCode: Uint8Array,
    locked = false,
  ) {
    if (!(chainCode instanceof Uint8Array) || chainCode.length !== CHAIN_CODE_BYTES) throw new CosignerError('INTERNAL', 'chain code must be 32 bytes');
    this.chainCode = new Uint8Array(chainCode);
    this.lockedFlag = locked;
  }

  /** True once a signature failed verification: the share never signs again (terminal abort). */
  get locked(): boolean {
    return this.lockedFlag;
  }

  /** Called by the signing protocol only. Re-seal the share after this. */
  lock(): void {
    this.lockedFlag = true;
  }

  /** The joint public key, compressed SEC1 (33 bytes). */
  get publicKey(): Uint8Array {
    return pointToBytes(this.Q);
  }

  encode(): Uint8Array {
    const sk = this.paillier.encode();
    const out = encodeCbor({
      v: ECDSA_KEY_SHARE_VERSION,
      kind: 'ecdsa2p-secp256k1-p1',
      x1: scalarToBytes(this.x1),
      Q1: pointToBytes(this.Q1),
      Q2: pointToBytes(this.Q2),
      Q: pointToBytes(this.Q),
      chainCode: this.chainCode,
      paillier: sk,
      cKey: uintToWire(this.cKey),
      locked: this.lockedFlag,
    });
    sk.fill(0);
    return out;
  }

  static decode(b: Uint8Array): EcdsaKeyShareP1 {
    const w = parseWire(P1Wire, b);
    const x1 = scalarFromBytes(w.x1, 'x1', 'SEALED_STATE_INVALID');
    const Q1 = decodePoint(w.Q1, 'Q1');
    const Q2 = decodePoint(w.Q2, 'Q2');
    const Q = decodePoint(w.Q, 'Q');
    w.x1.fill(0);
    if (!mulBase(x1).equals(Q1)) sealedInvalid('x1·G ≠ Q1');
    if (!Q1.add(Q2).equals(Q)) sealedInvalid('Q1 + Q2 ≠ Q');
    const paillier = PaillierSecretKey.decode(w.paillier);
    w.paillier.fill(0);
    if (!paillier.publicKey.isValidCiphertext(w.cKey) || paillier.decrypt(w.cKey) !== x1) sealedInvalid('c_key does not encrypt x1');
    return new EcdsaKeyShareP1(x1, paillier, w.cKey, Q1, Q2, Q, w.chainCode, w.locked);
  }

  /** Never serialise secrets by accident (logs, JSON). */
  toJSON(): { type: string; publicKey: string; locked: boolean } {
    return { type: 'EcdsaKeyShareP1', publicKey: Buffer.from(this.publicKey).toString('hex'), locked: this.lockedFlag };
  }
}

/** P2: holds x2 and the encryption of x1 under P1's (proven well-formed) Paillier key; never decrypts. */
export class EcdsaKeyShareP2 {
  readonly paillier: PaillierPublicKey;

  constructor(
    readonly x2: bigint,
    paillier: PaillierPublicKey,
    readonly cKey: bigint,
    readonly Q1: Point,
    readonly Q2: Point,
    readonly Q: Point,
    /** BIP32 master chain code (32 bytes), generated jointly at key generation. */
    readonly chainCode: Uint8Array,
  ) {
    if (!(chainCode instanceof Uint8Array) || chainCode.length !== CHAIN_CODE_BYTES) throw new CosignerError('INTERNAL', 'chain code must be 32 bytes');
    this.chainCode = new Uint8Array(chainCode);
    this.paillier = paillier;
  }

  get publicKey(): Uint8Array {
    return pointToBytes(this.Q);
  }

  /** P1's Paillier modulus. */
  get N(): bigint {
    return this.paillier.n;
  }

  encode(): Uint8Array {
    return encodeCbor({
      v: ECDSA_KEY_SHARE_VERSION,
      kind: 'ecdsa2p-secp256k1-p2',
      x2: scalarToBytes(this.x2),
      Q1: pointToBytes(this.Q1),
      Q2: pointToBytes(this.Q2),
      Q: pointToBytes(this.Q),
      chainCode: this.chainCode,
      N: uintToWire(this.paillier.n),
      cKey: uintToWire(this.cKey),
    });
  }

  static decode(b: Uint8Array): EcdsaKeyShareP2 {
    const w = parseWire(P2Wire, b);
    const x2 = scalarFromBytes(w.x2, 'x2', 'SEALED_STATE_INVALID');
    w.x2.fill(0);
    const Q1 = decodePoint(w.Q1, 'Q1');
    const Q2 = decodePoint(w.Q2, 'Q2');
    const Q = decodePoint(w.Q, 'Q');
    if (!mulBase(x2).equals(Q2)) sealedInvalid('x2·G ≠ Q2');
    if (!Q1.add(Q2).equals(Q)) sealedInvalid('Q1 + Q2 ≠ Q');
    let paillier: PaillierPublicKey;
    try {
      checkPaillierModulusShape(w.N);
      paillier = new PaillierPublicKey(w.N);
    } catch (e) {
      return sealedInvalid(e instanceof CosignerError ? e.message : 'bad Paillier modulus');
    }
    if (!paillier.isValidCiphertext(w.cKey)) sealedInvalid('c_key is not a valid ciphertext');
    return new EcdsaKeyShareP2(x2, paillier, w.cKey, Q1, Q2, Q, w.chainCode);
  }

  toJSON(): { type: string; publicKey: string } {
    return { type: 'EcdsaKeyShareP2', publicKey: Buffer.from(this.publicKey).toString('hex') };
  }
}
