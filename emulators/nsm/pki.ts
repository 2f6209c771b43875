// The emulator's attestation PKI, shaped like AWS's: root → regional → zonal → instance → leaf,
// all P-384 / ECDSA-SHA384. Like the real chain, CAs carry critical basicConstraints with path
// lengths 2/1/0 below the root and critical key usage; the leaf is an end entity with
// digitalSignature + nonRepudiation and lives 3 hours. Everything persists in a state directory:
// `root.pem` is what verifiers pin; private keys are PKCS#8 PEM files with mode 0600.
// Certificates are re-issued when they come near expiry (a CA is re-issued, with everything below
// it, when it would not outlive a freshly issued child).
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { certificateFingerprint } from '../../shared/attestation/root-pin.js';
import { CosignerError } from '../../shared/errors.js';
import { issueCertificate, subjectKeyIdentifier, type CertificateSpec, type DistinguishedName } from './certificate-builder.js';

export const LEVELS = ['root', 'regional', 'zonal', 'instance', 'leaf'] as const;
export type Level = (typeof LEVELS)[number];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Lifetimes modelled on the real chain (regional ~20 days, zonal ~6 days, instance 1 day, leaf 3 h). */
export const VALIDITY_MS: Record<Level, number> = { root: 30 * 365 * DAY, regional: 20 * DAY, zonal: 6 * DAY, instance: DAY, leaf: 3 * HOUR };
/** The leaf is replaced when less than this remains, so a fresh document stays verifiable for a while. */
export const LEAF_RENEW_MARGIN_MS = 30 * MINUTE;
/** Emulator certificates say so in their OU, so nobody mistakes them for AWS's. */
const OU = 'AWS Nitro Enclaves Emulator';

export interface PkiIdentity {
  region: string;
  regionalId: string;
  zonalId: string;
  instanceId: string;
  enclaveId: string;
}

interface Issued {
  der: Uint8Array;
  key: KeyObject; // private
  notAfter: number;
}

function hex(n: number): string {
  return randomBytes(n).toString('hex');
}

function subjectOf(level: Level, id: PkiIdentity): DistinguishedName {
  switch (level) {
    case 'root':
      return [['C', 'US'], ['O', 'Amazon'], ['OU', OU], ['CN', 'aws.nitro-enclaves']];
    case 'regional':
      return [['C', 'US'], ['O', 'Amazon'], ['OU', OU], ['CN', `${id.regionalId}.${id.region}.aws.nitro-enclaves`]];
    case 'zonal':
      return [['CN', `${id.zonalId}.zonal.${id.region}.aws.nitro-enclaves`], ['OU', OU], ['O', 'Amazon'], ['C', 'US'], ['ST', 'WA'], ['L', 'Seattle']];
    case 'instance':
      return [['C', 'US'], ['ST', 'Washington'], ['L', 'Seattle'], ['O', 'Amazon'], ['OU', OU], ['CN', `${id.instanceId}.${id.region}.aws.nitro-enclaves`]];
    case 'leaf':
      return [['C', 'US'], ['ST', 'Washington'], ['L', 'Seattle'], ['O', 'Amazon'], ['OU', OU], ['CN', `${moduleIdOf(id)}.${id.region}.aws`]];
  }
}

/** Real module ids look like `i-0a22e5c5f24d22174-enc0191cceb4289903f`. */
export function moduleIdOf(id: PkiIdentity): string {
  return `${id.instanceId}-enc${id.enclaveId}`;
}

function extensionsOf(level: Level): Pick<CertificateSpec, 'caPathLength' | 'keyUsage' | 'keyUsageCritical'> {
  switch (level) {
    case 'root':
      return { caPathLength: null, keyUsage: ['cRLSign', 'digitalSignature', 'keyCertSign'], keyUsageCritical: true };
    case 'regional':
      return { caPathLength: 2, keyUsage: ['cRLSign', 'digitalSignature', 'keyCertSign'], keyUsageCritical: true };
    case 'zonal':
      return { caPathLength: 1, keyUsage: ['cRLSign', 'digitalSignature', 'keyCertSign'], keyUsageCritical: true };
    case 'instance':
      return { caPathLength: 0, keyUsage: ['keyCertSign'], keyUsageCritical: true };
    case 'leaf':
      return { caPathLength: undefined, keyUsage: ['digitalSignature', 'nonRepudiation'], keyUsageCritical: false };
  }
}

function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Write atomically; private material gets 0600 before any byte is written. */
function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export interface PkiOptions {
  stateDir: string;
  region?: string;
  instanceId?: string;
  clock?: () => Date;
}

export class EmulatorPki {
  private readonly issued = new Map<Level, Issued>();

  private constructor(
    private readonly stateDir: string,
    readonly identity: PkiIdentity,
    private readonly clock: () => Date,
  ) {}

  /** Load the PKI from `stateDir`, creating whatever is missing and renewing what is near expiry. */
  static open(opts: PkiOptions): EmulatorPki {
    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const identity = EmulatorPki.loadIdentity(opts);
    const pki = new EmulatorPki(opts.stateDir, identity, opts.clock ?? (() => new Date()));
    for (const level of LEVELS) pki.load(level);
    pki.ensureFresh();
    return pki;
  }

  private static loadIdentity(opts: PkiOptions): PkiIdentity {
    const path = join(opts.stateDir, 'identity.json');
    let id: PkiIdentity;
    if (existsSync(path)) {
      id = JSON.parse(readFileSync(path, 'utf8')) as PkiIdentity;
    } else {
      id = { region: 'us-east-1', regionalId: hex(8), zonalId: hex(8), instanceId: `i-0${hex(8)}`, enclaveId: hex(8) };
    }
    // Configured values win; a change of instance means a new enclave id too.
    if (opts.region && opts.region !== id.region) id = { ...id, region: opts.region };
    if (opts.instanceId && opts.instanceId !== id.instanceId) id = { ...id, instanceId: opts.instanceId, enclaveId: hex(8) };
    writeFileAtomic(path, JSON.stringify(id, null, 2) + '\n', 0o644);
    return id;
  }

  private certPath(level: Level): string {
    return join(this.stateDir, `${level}.pem`);
  }

  private keyPath(level: Level): string {
    return join(this.stateDir, `${level}.key`);
  }

  private load(level: Level): void {
    if (!existsSync(this.certPath(level)) || !existsSync(this.keyPath(level))) return;
    try {
      const cert = new X509Certificate(readFileSync(this.certPath(level)));
      const key = createPrivateKey(readFileSync(this.keyPath(level)));
      const der = new Uint8Array(cert.raw);
      const notAfter = notAfterOf(der);
      // Only keep a certificate that still carries this identity's subject (the instance may be reconfigured).
      if (cert.subject !== subjectOf(level, this.identity).map(([a, v]) => `${a}=${v}`).join('\n')) return;
      this.issued.set(level, { der, key, notAfter });
    } catch {
      // Unreadable state is re-issued below; the root changes only if root.pem itself is broken.
    }
  }

  /** Build a certificate for `level`, signed by the current certificate of the level above. */
  private issue(level: Level, key: KeyObject): Uint8Array {
    const now = this.clock();
    // X.509 times have one-second resolution; never start after the document that will cite it.
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const parentLevel = LEVELS[LEVELS.indexOf(level) - 1];
    const parent = parentLevel ? this.issued.get(parentLevel) : undefined;
    if (parentLevel && !parent) throw new CosignerError('INTERNAL', `emulator PKI: ${level} has no issuer`);
    const spec: CertificateSpec = {
      subject: subjectOf(level, this.identity),
      subjectKey: createPublicKey(key),
      issuer:
        parentLevel && parent
          ? { name: subjectOf(parentLevel, this.identity), key: parent.key, subjectKeyId: subjectKeyIdentifier(createPublicKey(parent.key)) }
          : null,
      issuerPrivateKey: key,
      notBefore,
      notAfter: new Date(notBefore.getTime() + VALIDITY_MS[level]),
      ...extensionsOf(level),
    };
    return issueCertificate(spec);
  }

  /** Minimum remaining validity: a CA must outlive a fresh child (plus the leaf margin). */
  private minRemaining(level: Level): number {
    const child = LEVELS[LEVELS.indexOf(level) + 1];
    return child ? VALIDITY_MS[child] + LEAF_RENEW_MARGIN_MS : LEAF_RENEW_MARGIN_MS;
  }

  /** Re-issue every certificate that is missing, near expiry, or whose issuer was re-issued. */
  ensureFresh(): void {
    const now = this.clock().getTime();
    let reissueBelow = false;
    for (const level of LEVELS) {
      const cur = this.issued.get(level);
      if (!reissueBelow && cur && cur.notAfter - now >= this.minRemaining(level)) continue;
      if (level === 'root' && cur) {
        throw new CosignerError('CONFIG_INVALID', `emulator root in ${this.stateDir} expires too soon; delete the state directory to start a new PKI`);
      }
      const key = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
      const der = this.issue(level, key);
      writeFileAtomic(this.keyPath(level), key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
      writeFileAtomic(this.certPath(level), toPem(der, 'CERTIFICATE'), 0o644);
      this.issued.set(level, { der, key, notAfter: notAfterOf(der) });
      reissueBelow = true;
    }
  }

  private get(level: Level): Issued {
    const i = this.issued.get(level);
    if (!i) throw new CosignerError('INTERNAL', `emulator PKI: ${level} missing`);
    return i;
  }

  get rootPem(): string {
    return toPem(this.get('root').der, 'CERTIFICATE');
  }

  get rootFingerprint(): string {
    return certificateFingerprint(this.get('root').der);
  }

  /** The bundle as the NSM reports it: root first, down to the leaf's issuer. */
  get cabundle(): Uint8Array[] {
    return (['root', 'regional', 'zonal', 'instance'] as const).map((l) => this.get(l).der);
  }

  get signer(): { certificate: Uint8Array; key: KeyObject } {
    const leaf = this.get('leaf');
    return { certificate: leaf.der, key: leaf.key };
  }

  get moduleId(): string {
    return moduleIdOf(this.identity);
  }
}

function notAfterOf(der: Uint8Array): number {
  return AsnConvert.parse(der, Certificate).tbsCertificate.validity.notAfter.getTime().getTime();
}
