// What the emulator reports as PCRs, so that a code change changes the measurement as on Nitro.
//
// The enclave bundle is the deterministic list of regular files under `enclave/` and `shared/`
// of the bundle root, plus `package-lock.json` when present (symbolic links are not followed),
// sorted by their '/'-separated relative path compared as UTF-8 bytes. Each file contributes
//   u32be(len(path)) ‖ path ‖ u64be(len(content)) ‖ content
// and B = SHA384(concatenation of all records). With extend(x) = SHA384(48 zero bytes ‖ x), the
// PCR extend of a fresh register:
//   PCR0 = extend(B)                                          (the image, like the EIF hash)
//   PCR1 = extend(SHA384("nitro-cosigner emulated PCR1: kernel and boot ramfs" ‖ B))
//   PCR2 = extend(SHA384("nitro-cosigner emulated PCR2: user application" ‖ B))
//   PCR3 = extend(UTF-8 IAM role ARN of the parent)           (zero when no role is configured)
//   PCR4 = extend(UTF-8 parent instance id)                   (checked against real documents)
//   PCR8 = extend(SHA384(DER of the EIF signing certificate)) (zero when the image is unsigned)
// In debug mode PCR0, PCR1, PCR2 (and PCR8) read as zeros, as the real hypervisor reports them.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PCR_BYTES = 48;
export const BUNDLE_DIRS = ['enclave', 'shared'] as const;
export const BUNDLE_FILES = ['package-lock.json'] as const;
const PCR1_LABEL = 'nitro-cosigner emulated PCR1: kernel and boot ramfs';
const PCR2_LABEL = 'nitro-cosigner emulated PCR2: user application';

export function sha384(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** new = SHA384(old ‖ data): the NSM's PCR extend operation. */
export function extendPcrValue(old: Uint8Array, data: Uint8Array): Uint8Array {
  return sha384(old, data);
}

/** Extend a zeroed register once. */
export function measureOnce(data: Uint8Array): Uint8Array {
  return extendPcrValue(new Uint8Array(PCR_BYTES), data);
}

function walk(root: string, rel: string, out: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(join(root, rel));
  } catch {
    return; // an absent folder contributes nothing
  }
  for (const name of entries) {
    const r = `${rel}/${name}`;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) walk(root, r, out);
    else if (st.isFile()) out.push(r);
  }
}

/** The bundle's files as sorted relative paths. */
export function bundleFiles(bundleRoot: string): string[] {
  const out: string[] = [];
  for (const d of BUNDLE_DIRS) walk(bundleRoot, d, out);
  for (const f of BUNDLE_FILES) {
    try {
      if (lstatSync(join(bundleRoot, f)).isFile()) out.push(f);
    } catch {
      // optional
    }
  }
  return out.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** B = SHA384 of the length-prefixed records of every bundle file. */
export function bundleDigest(bundleRoot: string): { digest: Uint8Array; files: number } {
  const h = createHash('sha384');
  const files = bundleFiles(bundleRoot);
  for (const rel of files) {
    const path = Buffer.from(rel, 'utf8');
    const content = readFileSync(join(bundleRoot, rel));
    const header = Buffer.alloc(4 + path.length + 8);
    header.writeUInt32BE(path.length, 0);
    path.copy(header, 4);
    header.writeBigUInt64BE(BigInt(content.length), 4 + path.length);
    h.update(header);
    h.update(content);
  }
  return { digest: new Uint8Array(h.digest()), files: files.length };
}

export interface MeasurementConfig {
  bundleRoot: string;
  instanceId: string;
  roleArn?: string | null;
  /** DER of the certificate the EIF was signed with. */
  signingCertificate?: Uint8Array | null;
  debug?: boolean;
}

/** PCR0–15 as the NSM reports them at boot. */
export function bootPcrs(cfg: MeasurementConfig): Map<number, Uint8Array> {
  const zero = () => new Uint8Array(PCR_BYTES);
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) pcrs.set(i, zero());
  const utf8 = (s: string) => new TextEncoder().encode(s);
  if (!cfg.debug) {
    const { digest } = bundleDigest(cfg.bundleRoot);
    pcrs.set(0, measureOnce(digest));
    pcrs.set(1, measureOnce(sha384(utf8(PCR1_LABEL), digest)));
    pcrs.set(2, measureOnce(sha384(utf8(PCR2_LABEL), digest)));
    if (cfg.signingCertificate) pcrs.set(8, measureOnce(sha384(cfg.signingCertificate)));
  }
  if (cfg.roleArn) pcrs.set(3, measureOnce(utf8(cfg.roleArn)));
  pcrs.set(4, measureOnce(utf8(cfg.instanceId)));
  return pcrs;
}
