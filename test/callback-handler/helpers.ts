// What the tests play: a co-signer with its own RSA key that signs requests, and a handler key pair.
import { generateKeyPairSync } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { pino, type Logger } from 'pino';

export interface Pems {
  privatePem: string;
  publicPem: string;
}

export function rsaPems(bits = 2048): Pems {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A request as the co-signer sends it: a compact RS256 JWT over the claims, no iat/exp unless the
 *  claims carry them. */
export async function signRequest(claims: Record<string, unknown>, privatePem: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(await importPKCS8(privatePem, 'RS256'));
}

export function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

export async function post(url: string, body: string | Buffer): Promise<{ status: number; text: string; contentType: string | null }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
}

/** A pino logger writing into an array, to check what the handler logs. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  return { logger, lines };
}

let n = 0;
export function txClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  return {
    requestId: `req-${n}-${Date.now()}`,
    txId: `tx-${n}`,
    operation: 'TRANSFER',
    sourceType: 'VAULT',
    sourceId: '0',
    destType: 'ONE_TIME_ADDRESS',
    destId: '',
    destAddress: '0x' + 'ab'.repeat(20),
    asset: 'ETH',
    amountStr: '0.5',
    destinations: [],
    rawTx: [{ payload: 'ff'.repeat(32), derivationPath: [44, 60, 0, 0, 0] }],
    signerId: 'signer-1',
    note: 'test',
    ...extra,
  };
}
