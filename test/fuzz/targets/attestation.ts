// Attestation: the strict CBOR reader (shared/attestation/strict-cbor.ts), the COSE_Sign1 and
// payload parsers (cose.ts, document.ts) and the full verifier (verify.ts). A mutated document
// must never verify: if a changed byte string still verifies, it must carry exactly the signed
// content (protected header, payload and signature) of a document that was really signed — only
// the unsigned framing (tag 18, which the verifier accepts by design) may differ.
import fc from 'fast-check';
import { decodeStrictCbor, encodeStrictCbor } from '../../../shared/attestation/strict-cbor.js';
import { decodeCoseSign1 } from '../../../shared/attestation/cose.js';
import { decodeAttestation } from '../../../shared/attestation/document.js';
import { verifyAttestationDocument } from '../../../shared/attestation/verify.js';
import { signAttestationDocument } from '../../../emulators/nsm/document.js';
import { buildChain, testDocumentFields, type TestChain } from '../../attestation/chain-builder.js';
import { PRODUCTION_TIMESTAMP, readAwsRootPem, readFixtureDocument } from '../../support/fixtures.js';
import { hostileCbor, mutated } from '../support/mutate.js';
import { equalBytes, typedOnly, typedOnlyAsync, violation, type FuzzTarget } from '../support/target.js';
import { strictValue } from '../support/values.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

interface Pool {
  chain: TestChain;
  /** Genuinely signed documents (fixtures and fresh ones); the mutation sources. */
  docs: Uint8Array[];
  /** hex(protected) + hex(payload) + hex(signature) of every genuinely signed document. */
  signed: Set<string>;
}
let pool: Pool | undefined;

function signedKey(doc: Uint8Array): string {
  const c = decodeCoseSign1(doc);
  return `${hex(c.protectedBytes)}.${hex(c.payload)}.${hex(c.signature)}`;
}

function remember(p: Pool, doc: Uint8Array): Uint8Array {
  p.signed.add(signedKey(doc));
  return doc;
}

/** Field values for freshly signed documents (user data, nonce, public key, module id, PCRs). */
const freshFields = fc.record({
  userData: fc.option(fc.uint8Array({ maxLength: 1024 }), { nil: null }),
  nonce: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
  publicKey: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: null }),
  moduleId: fc.string({ minLength: 1, maxLength: 40 }),
  pcrFill: fc.nat({ max: 255 }),
});

/**
 * The pool is made once (the recorded AWS documents and 30 signed here with generated fields), so
 * the set of genuinely signed documents stays bounded however many inputs are generated.
 */
async function setupPool(): Promise<void> {
  if (pool) return;
  const chain = buildChain();
  const p: Pool = { chain, docs: [], signed: new Set() };
  for (const kind of ['production', 'debug'] as const) p.docs.push(remember(p, readFixtureDocument(kind)));
  for (const r of fc.sample(freshFields, { seed: 13, numRuns: 30 })) {
    const f = testDocumentFields(chain);
    const pcrs = new Map([...f.pcrs].map(([k, v]) => [k, new Uint8Array(v.length).fill(k < 3 ? r.pcrFill || 1 : 0)]));
    p.docs.push(remember(p, signAttestationDocument({ ...f, pcrs, moduleId: r.moduleId, userData: r.userData, nonce: r.nonce, publicKey: r.publicKey }, chain.leaf.key)));
  }
  pool = p;
}

/** The test chain the pool was signed with (for the harness's own checks). */
export function poolChain(): TestChain {
  return pool!.chain;
}

/** A genuinely signed document (chosen by index once the pool exists). */
const signedDoc = fc.nat().map((i) => pool!.docs[i % pool!.docs.length]!);

const validDoc = signedDoc;

export const strictCborTarget: FuzzTarget = {
  name: 'attestation.strict-cbor',
  weight: 1,
  input: mutated(strictValue().map((v) => encodeStrictCbor(v)), [hostileCbor(), signedDoc]),
  setup: setupPool,
  check(input) {
    const r = typedOnly(input, () => decodeStrictCbor(input), ['ATTESTATION_INVALID']);
    // One value, one encoding: whatever the strict reader accepts re-encodes to exactly the input.
    if (r.ok && !equalBytes(encodeStrictCbor(r.value), input)) violation('strict CBOR accepted an input that does not re-encode to itself');
  },
};

export const strictCborRoundTripTarget: FuzzTarget = {
  name: 'attestation.strict-cbor-roundtrip',
  weight: 1,
  input: strictValue(5).map((v) => encodeStrictCbor(v)),
  check(input) {
    const r = typedOnly(input, () => decodeStrictCbor(input));
    if (!r.ok) violation(`strict reader refused the strict encoder's output: ${r.error.message}`);
  },
};

export const documentTarget: FuzzTarget = {
  name: 'attestation.document',
  weight: 20,
  input: mutated(validDoc, [hostileCbor()]),
  setup: setupPool,
  check(input) {
    typedOnly(input, () => decodeAttestation(input), ['ATTESTATION_INVALID']);
  },
};

export const verifyTarget: FuzzTarget = {
  name: 'attestation.verify',
  weight: 120,
  input: mutated(validDoc),
  setup: setupPool,
  suiteRuns: 200,
  async check(input) {
    const roots = [
      { root: readAwsRootPem(), at: new Date(PRODUCTION_TIMESTAMP), allowDebug: true },
      { root: pool!.chain.root.der, allowDebug: true },
    ];
    for (const opts of roots) {
      const r = await typedOnlyAsync(input, () => verifyAttestationDocument(input, opts), ['ATTESTATION_INVALID']);
      if (r.ok && !pool!.signed.has(signedKey(input))) violation('a mutated attestation document verified');
    }
  },
};

export const attestationTargets = [strictCborTarget, strictCborRoundTripTarget, documentTarget, verifyTarget];
