// `cosigner verify-attestation <file> [--at <time>] [--root <pem>] [--allow-debug] [--expect-pcr <i>=<hex>]...`
// Verifies an attestation document (raw CBOR or base64) against the pinned AWS Nitro root (or
// another root given by file), prints what it attests and the verdict. Exit codes: 0 verified,
// 1 not verified, 2 usage or input error.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AWS_NITRO_ROOT_G1_PEM, AWS_NITRO_ROOT_G1_SHA256 } from '../../shared/attestation/aws-root.js';
import { certificateFingerprint } from '../../shared/attestation/root-pin.js';
import { verifyAttestationDocument, type AttestationDocument } from '../../shared/attestation/verify.js';
import { toHex } from '../../shared/bytes.js';
import { describeError, isCosignerError } from '../../shared/errors.js';

export const VERIFY_ATTESTATION_USAGE =
  'usage: cosigner verify-attestation <file> [--at <ISO time | epoch ms>] [--root <pem file>] [--allow-debug] [--expect-pcr <index>=<hex>]...';

export interface CommandIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

class UsageError extends Error {}

/** A document file holds either the raw COSE_Sign1 bytes or their base64 text. */
export function readDocumentFile(path: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(path));
  // COSE_Sign1 starts with an array of four (0x84) or tag 18 (0xd2); base64 text never does.
  if (bytes[0] === 0x84 || bytes[0] === 0xd2) return bytes;
  const text = Buffer.from(bytes).toString('latin1').replace(/\s+/g, '');
  if (text.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new UsageError(`${path}: neither CBOR nor base64`);
  return new Uint8Array(Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64'));
}

function parseTime(s: string): Date {
  const d = /^\d+$/.test(s) ? new Date(Number(s)) : new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--at: not a time: ${s}`);
  return d;
}

function parseExpectedPcrs(items: string[]): Record<number, Uint8Array> {
  const out: Record<number, Uint8Array> = {};
  for (const item of items) {
    const m = /^(\d{1,2})=([0-9a-fA-F]+)$/.exec(item);
    if (!m || Number(m[1]) > 31 || m[2]!.length % 2 !== 0) throw new UsageError(`--expect-pcr: expected <index 0-31>=<hex>, got ${item}`);
    out[Number(m[1])] = new Uint8Array(Buffer.from(m[2]!, 'hex'));
  }
  return out;
}

function describeBytes(b: Uint8Array | null): string {
  return b === null ? 'absent' : `${b.length} bytes`;
}

function printDocument(d: AttestationDocument, io: CommandIo): void {
  io.stdout(`module id:   ${d.moduleId}`);
  io.stdout(`timestamp:   ${new Date(d.timestamp).toISOString()} (${d.timestamp})`);
  io.stdout(`digest:      ${d.digest}`);
  io.stdout(`debug mode:  ${d.debug ? 'yes (PCR0/1/2 are zero)' : 'no'}`);
  io.stdout('PCRs:');
  for (const [i, v] of [...d.pcrs.entries()].sort(([a], [b]) => a - b)) io.stdout(`  PCR${String(i).padEnd(2)} ${toHex(v)}`);
  io.stdout(`public key:  ${describeBytes(d.publicKey)}`);
  io.stdout(`user data:   ${describeBytes(d.userData)}`);
  io.stdout(`nonce:       ${describeBytes(d.nonce)}`);
  io.stdout(`cabundle:    ${d.cabundle.length} certificates`);
}

export async function verifyAttestationCommand(argv: string[], io: CommandIo): Promise<number> {
  let doc: Uint8Array;
  let root: string;
  let at: Date;
  let expectedPcrs: Record<number, Uint8Array>;
  let allowDebug: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        at: { type: 'string' },
        root: { type: 'string' },
        'allow-debug': { type: 'boolean', default: false },
        'expect-pcr': { type: 'string', multiple: true, default: [] },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError(VERIFY_ATTESTATION_USAGE);
    doc = readDocumentFile(positionals[0]!);
    root = values.root ? readFileSync(values.root, 'utf8') : AWS_NITRO_ROOT_G1_PEM;
    at = values.at ? parseTime(values.at) : new Date();
    expectedPcrs = parseExpectedPcrs(values['expect-pcr'] ?? []);
    allowDebug = values['allow-debug'] ?? false;
    const fp = certificateFingerprint(root);
    io.stdout(`root:        ${values.root ?? 'AWS Nitro Enclaves Root-G1 (built in)'} sha256=${fp}${fp === AWS_NITRO_ROOT_G1_SHA256 ? ' (AWS Root-G1)' : ''}`);
    io.stdout(`checked at:  ${at.toISOString()}`);
  } catch (e) {
    io.stderr(`verify-attestation: ${e instanceof UsageError || !isCosignerError(e) ? (e as Error).message : describeError(e)}`);
    return 2;
  }
  try {
    const d = await verifyAttestationDocument(doc, { root, at, allowDebug, expectedPcrs });
    printDocument(d, io);
    io.stdout('verdict:     VERIFIED');
    return 0;
  } catch (e) {
    const reason = isCosignerError(e) ? e.message : describeError(e);
    io.stdout(`verdict:     NOT VERIFIED: ${reason}`);
    io.stderr(`verify-attestation: ${reason}`);
    return 1;
  }
}
