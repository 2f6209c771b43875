// `cosigner setup <pairing-token>` / `add-user`, the parent's side (DESIGN.md "Coordinator ↔
// co-signer"): the parent carries bytes between the enclave and the coordinator; every decision
// is the enclave's (enclave/pairing.ts). Steps, each surviving a crash of either side:
//   1. fetch the coordinator's service key; BeginPairing (the enclave checks it against the
//      token's fingerprint and seals a pending pairing); store that state and confirm it;
//   2. PairingAttestation → POST /cosigner/v1/pair; save the answer (refresh token) at once;
//   3. CompletePairing with the coordinator's signed pairing record; store that state and confirm it.
// Re-running with the same token after a crash resumes: step 1 is a repeat, and a saved answer
// skips step 2 (the coordinator would refuse the spent token).
import type { RpcClient } from '../../shared/channel/rpc.js';
import type { EnclaveMessages } from '../../shared/messages.js';
import type { Logger } from '../../shared/log.js';
import { CosignerError } from '../../shared/errors.js';
import { decodePairingToken } from '../../shared/cosigner-api/pairing-token.js';
import type { SealedStore } from '../sealed-store.js';
import { storeStateChange } from '../state-sync.js';
import type { PairingRecord, PairingRecords } from './pairing-records.js';

/** The API user's callback handler, as the operator gave it at setup (sealed by the enclave). */
export interface CallbackSetup {
  url: string;
  /** DER SPKI of the handler's RSA public key. */
  handlerPublicKeySpki: Uint8Array;
  allowPlainHttp: boolean;
}

export interface PairingDeps {
  client: RpcClient<typeof EnclaveMessages>;
  store: SealedStore;
  records: PairingRecords;
  log: Logger;
  fetch?: typeof fetch;
}

const HTTP_TIMEOUT_MS = 30_000;

function endpoint(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

async function callCoordinator(f: typeof fetch, url: string, init: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await f(url, { ...init, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  } catch (e) {
    throw new CosignerError('TRANSPORT_ERROR', `coordinator unreachable at ${new URL(url).origin}: ${(e as Error).name}`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* reported below */
  }
  if (res.status !== 200) {
    const body = json as { message?: unknown; code?: unknown } | null;
    const msg = typeof body?.message === 'string' ? body.message.slice(0, 300) : `HTTP ${res.status}`;
    throw new CosignerError('PAIRING_INVALID', `the coordinator refused: ${msg}`, { status: res.status, ...(typeof body?.code === 'number' ? { code: body.code } : {}) });
  }
  if (json === null || typeof json !== 'object') throw new CosignerError('PAIRING_INVALID', 'the coordinator answered something that is not JSON');
  return json;
}

export async function pairWithCoordinator(pairingToken: string, deps: PairingDeps, callback: CallbackSetup | null = null): Promise<PairingRecord> {
  const f = deps.fetch ?? fetch;
  const token = decodePairingToken(pairingToken);
  const log = deps.log.child({ tokenId: token.tokenId });

  const key = (await callCoordinator(f, endpoint(token.url, '/cosigner/v1/service-key'), { method: 'GET' })) as { publicKeySpki?: unknown };
  if (typeof key.publicKeySpki !== 'string') throw new CosignerError('PAIRING_INVALID', 'the coordinator sent no service key');
  const begun = await deps.client.call('BeginPairing', { pairingToken, serviceKeySpki: new Uint8Array(Buffer.from(key.publicKeySpki, 'base64')), callback });
  await storeStateChange(deps.client, deps.store, begun.toStore, log);

  let record = await deps.records.load(token.tokenId);
  if (record) {
    log.info({ cosignerId: record.cosignerId }, 'the coordinator accepted this pairing before; completing it');
  } else {
    const att = await deps.client.call('PairingAttestation', { pairingToken });
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
    const answer = (await callCoordinator(f, endpoint(token.url, '/cosigner/v1/pair'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        pairingToken,
        attestationDocument: b64(att.document),
        identityPublicKey: b64(att.identityPublicKey),
        cckPublicKey: b64(att.cckPublicKeySpki),
        callbackPublicKey: b64(att.callbackPublicKeySpki),
      }),
    })) as Record<string, unknown>;
    const str = (k: string): string => {
      if (typeof answer[k] !== 'string') throw new CosignerError('PAIRING_INVALID', `the coordinator's pairing answer has no ${k}`);
      return answer[k] as string;
    };
    if (typeof answer.pairingRecord !== 'object' || answer.pairingRecord === null) throw new CosignerError('PAIRING_INVALID', 'the coordinator\'s pairing answer has no signed pairing record');
    record = {
      tokenId: token.tokenId, coordinatorUrl: token.url, cosignerId: str('cosignerId'), workspaceId: str('workspaceId'), userId: str('userId'), refreshToken: str('refreshToken'), pairedAt: Date.now(),
      signedRecord: JSON.stringify(answer.pairingRecord),
    };
    await deps.records.save(record);
    log.info({ cosignerId: record.cosignerId, workspaceId: record.workspaceId, userId: record.userId }, 'paired with the coordinator');
  }

  if (record.signedRecord === undefined) throw new CosignerError('PAIRING_INVALID', `the saved pairing answer for token ${record.tokenId} predates signed pairing records; issue a new pairing token`);
  // The enclave takes the ids from the signed record, not from what the parent saved beside it.
  const done = await deps.client.call('CompletePairing', { tokenId: record.tokenId, record: record.signedRecord });
  await storeStateChange(deps.client, deps.store, done.toStore, log);
  return record;
}
