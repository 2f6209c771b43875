// The sealed-file format: the AES-256-GCM blob (enclave/sealing/sealed-blob.ts), the enclave
// state inside it (enclave/state.ts), and the parent's file { kmsCiphertext, sealed }
// (parent/sealed-store.ts, SealedFileSchema). A mutated sealed blob must never verify.
import fc from 'fast-check';
import { createCipheriv, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { SEALED_MAGIC, SEALED_VERSION, seal, unseal } from '../../../enclave/sealing/sealed-blob.js';
import { ENCLAVE_STATE_VERSION, decodeState, encodeState } from '../../../enclave/state.js';
import { SealedStore } from '../../../parent/sealed-store.js';
import { encodeCbor } from '../../../shared/cbor.js';
import { concatBytes, hostileCbor, mutated } from '../support/mutate.js';
import { equalBytes, typedOnly, typedOnlyAsync, violation, type FuzzTarget } from '../support/target.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** A fixed test data key and KMS key ARN: findings saved as bytes replay against the same key. */
export const FUZZ_DATA_KEY = new Uint8Array(Buffer.from('6675' + '7a7a'.repeat(15), 'hex'));
export const FUZZ_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/0f0f0f0f-1313-4000-8000-fuzzfuzzfuzz';

/**
 * The documented layout (sealed-blob.ts header comment), written here independently with a
 * generated nonce so that generated blobs are reproducible from a seed.
 */
function sealDeterministic(plaintext: Uint8Array, nonce: Uint8Array): Uint8Array {
  const arn = Buffer.from(FUZZ_KEY_ARN);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(arn.length);
  const c = createCipheriv('aes-256-gcm', FUZZ_DATA_KEY, nonce);
  c.setAAD(concatBytes(SEALED_MAGIC, Uint8Array.of(SEALED_VERSION), len, arn));
  return concatBytes(SEALED_MAGIC, Uint8Array.of(SEALED_VERSION), nonce, c.update(plaintext), c.final(), c.getAuthTag());
}

/** Blobs really sealed (a fixed pool, reproducible from the seed and bounded in memory): hex → plaintext. */
const sealedBlobs = new Map<string, Uint8Array>();
const blobPool = fc.sample(fc.tuple(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ minLength: 12, maxLength: 12 })), { seed: 13, numRuns: 64 }).map(([p, n]) => {
  const blob = sealDeterministic(p, n);
  sealedBlobs.set(hex(blob), p);
  return blob;
});
const validBlob = fc.nat().map((i) => blobPool[i % blobPool.length]!);

export const sealedBlobTarget: FuzzTarget = {
  name: 'sealing.blob',
  weight: 4,
  input: mutated(validBlob),
  check(input) {
    const r = typedOnly(input, () => unseal(input, FUZZ_DATA_KEY, FUZZ_KEY_ARN), ['SEALED_STATE_INVALID']);
    const expected = sealedBlobs.get(hex(input));
    if (expected === undefined && r.ok) violation('a mutated sealed blob verified');
    if (expected !== undefined && (!r.ok || !equalBytes(r.value, expected))) violation('a sealed blob did not unseal to its plaintext');
    // Bound to its KMS key: the same blob never opens under another ARN.
    if (expected !== undefined && typedOnly(input, () => unseal(input, FUZZ_DATA_KEY, FUZZ_KEY_ARN + '2'), ['SEALED_STATE_INVALID']).ok) {
      violation('blob opened under another KMS key ARN');
    }
  },
};

/** seal() itself: what it seals opens again, and no single flipped bit of its output ever verifies. */
export const sealRoundTripTarget: FuzzTarget = {
  name: 'sealing.seal-roundtrip',
  weight: 4,
  input: fc.uint8Array({ maxLength: 2048 }),
  check(plaintext) {
    const blob = seal(plaintext, FUZZ_DATA_KEY, FUZZ_KEY_ARN);
    const r = typedOnly(blob, () => unseal(blob, FUZZ_DATA_KEY, FUZZ_KEY_ARN));
    if (!r.ok || !equalBytes(r.value, plaintext)) violation('seal then unseal did not give the plaintext back');
    const bit = (plaintext.length * 131 + (plaintext[0] ?? 0)) % (blob.length * 8);
    const flipped = new Uint8Array(blob);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    if (typedOnly(flipped, () => unseal(flipped, FUZZ_DATA_KEY, FUZZ_KEY_ARN), ['SEALED_STATE_INVALID']).ok) violation(`flipping bit ${bit} of a sealed blob still verified`);
  },
};

let rsaPkcs8: Uint8Array | undefined;
async function setupState(): Promise<void> {
  rsaPkcs8 ??= new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' }));
}

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const pairing = fc.record({
  tokenId: fc.uuid(),
  coordinatorUrl: fc.constantFrom('https://coordinator.example', 'http://127.0.0.1:8080'),
  serviceKeySha256: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
  serviceKeySpki: fc.uint8Array({ minLength: 44, maxLength: 44 }),
  status: fc.constantFrom('pending', 'active'),
  cosignerId: fc.option(fc.uuid(), { nil: null }),
  workspaceId: fc.option(fc.uuid(), { nil: null }),
  userId: fc.option(fc.uuid(), { nil: null }),
  createdAt: fc.nat(),
});
const validState = fc.oneof(
  fc.record({ createdAt: fc.nat(), stateVersion: fc.nat(), identitySeed: seed, cckSeed: fc.option(seed, { nil: null }), pairings: fc.uniqueArray(pairing, { maxLength: 3, selector: (p) => p.tokenId }), keyShares: fc.constant([] as never[]) }).map(
    (r): Uint8Array => encodeState({ version: ENCLAVE_STATE_VERSION, callbackSigningKey: rsaPkcs8!, ...r }),
  ),
  // The foundation's format 1, which still reads.
  fc.record({ createdAt: fc.nat(), identitySeed: seed }).map((r): Uint8Array => encodeCbor({ version: 1, createdAt: r.createdAt, callbackSigningKey: rsaPkcs8!, identitySeed: r.identitySeed })),
);

export const enclaveStateTarget: FuzzTarget = {
  name: 'sealing.enclave-state',
  weight: 25,
  input: mutated(validState, [hostileCbor()]),
  setup: setupState,
  check(input) {
    const r = typedOnly(input, () => decodeState(input), ['SEALED_STATE_INVALID']);
    if (r.ok) {
      // Whatever is accepted is a usable state that encodes back to the same value.
      const again = typedOnly(input, () => decodeState(encodeState(r.value)));
      if (!again.ok || !isDeepStrictEqual({ ...again.value }, { ...r.value })) violation('decoded enclave state does not round-trip');
      createPrivateKey({ key: Buffer.from(r.value.callbackSigningKey), format: 'der', type: 'pkcs8' });
    }
  },
};

let dir: string | undefined;
const validFile = fc.record({ kmsCiphertext: fc.uint8Array({ minLength: 1, maxLength: 200 }), sealed: fc.uint8Array({ minLength: 1, maxLength: 300 }) }).map((f) => encodeCbor(f));

/** The parent reading its file from disk: a value or SEALED_STORE_ERROR, and the file left as it was. */
export const sealedStoreTarget: FuzzTarget = {
  name: 'parent.sealed-store-read',
  weight: 30,
  input: mutated(validFile, [hostileCbor()]),
  suiteRuns: 150,
  async setup() {
    dir ??= mkdtempSync(join(tmpdir(), 'cosigner-fuzz-store-'));
    process.once('exit', () => rmSync(dir!, { recursive: true, force: true }));
  },
  async check(input) {
    const path = join(dir!, 'sealed-state.cbor');
    writeFileSync(path, input);
    const store = new SealedStore(path);
    const r = await typedOnlyAsync(input, () => store.read(), ['SEALED_STORE_ERROR']);
    if (r.ok && r.value === null) violation('an existing file read as absent');
    // Reading never changes the file, whether it parses or not (a corrupt file is left for the operator).
    if (!equalBytes(new Uint8Array(readFileSync(path)), input)) violation('reading changed the sealed file');
  },
};

export const sealingTargets = [sealedBlobTarget, sealRoundTripTarget, enclaveStateTarget, sealedStoreTarget];
