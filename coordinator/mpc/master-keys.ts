// A workspace's master keys on the coordinator's side: one per algorithm, made by DKG with a
// paired co-signer (sessions.ts), stored as the engine's encoding sealed under the master key
// (AAD = the row's name, so a share cannot be moved to another workspace or algorithm). Each
// share is decoded ONCE per process and that one object is used by every session
// (CVE-2023-33242: no second live copy of a P1 share; the durable lock covers other processes).
import { CosignerError } from '../../shared/errors.js';
import { EcdsaKeyShareP1 } from '../../shared/mpc/ecdsa/key-share.js';
import { FrostKeyShare, type FrostScheme } from '../../shared/mpc/frost/index.js';
import type { AssetAlgorithm, MasterPublicKeys } from '../assets/index.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import type { MasterKey } from '../secrets/master-key.js';
import type { Db } from '../storage/database.js';

export const FROST_SCHEME: Record<Exclude<AssetAlgorithm, 'MPC_ECDSA_SECP256K1'>, FrostScheme> = {
  MPC_EDDSA_ED25519: 'ed25519',
  MPC_BIP340_SECP256K1: 'bip340',
};

export type CoordinatorShare = EcdsaKeyShareP1 | FrostKeyShare;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sealName = (workspaceId: string, algorithm: AssetAlgorithm) => `mpc-share/${workspaceId}/${algorithm}`;

export function sharePublicKey(share: CoordinatorShare): { publicKey: Uint8Array; chainCode: Uint8Array } {
  if (share instanceof EcdsaKeyShareP1) return { publicKey: share.publicKey, chainCode: share.chainCode };
  return { publicKey: share.groupPublicKey, chainCode: share.chainCode };
}

export class MasterKeys {
  private readonly live = new Map<string, CoordinatorShare>();

  constructor(private readonly db: Db, private readonly masterKey: MasterKey) {}

  /** The workspace's master public keys (what addresses and public_key_info derive from). */
  async publicKeys(workspaceId: string): Promise<MasterPublicKeys> {
    const rows = await this.db.selectFrom('mpc_keys').select(['algorithm', 'public_key', 'chain_code']).where('workspace_id', '=', workspaceId).where('status', '=', 'ACTIVE').execute();
    const out: MasterPublicKeys = {};
    for (const r of rows) {
      out[r.algorithm as AssetAlgorithm] = { publicKey: new Uint8Array(Buffer.from(r.public_key, 'hex')), chainCode: new Uint8Array(Buffer.from(r.chain_code, 'hex')) };
    }
    return out;
  }

  /**
   * Whether the workspace has this key: `any` counts a PENDING one too (a key generation need not be
   * asked for again), `active` only one the co-signer confirmed (what may be signed with).
   */
  async has(trx: Db, workspaceId: string, algorithm: AssetAlgorithm, which: 'any' | 'active' = 'any'): Promise<boolean> {
    let q = trx.selectFrom('mpc_keys').select('algorithm').where('workspace_id', '=', workspaceId).where('algorithm', '=', algorithm);
    if (which === 'active') q = q.where('status', '=', 'ACTIVE');
    return (await q.executeTakeFirst()) !== undefined;
  }

  /**
   * Stores a new master key share, PENDING, in the caller's transaction; a second key for the same
   * algorithm is refused. It becomes usable with activate(), when the co-signer reports GENERATED.
   */
  async store(trx: Db, k: { workspaceId: string; algorithm: AssetAlgorithm; share: CoordinatorShare; sessionId: string; cosignerId: string }): Promise<void> {
    const encoded = k.share.encode();
    const { publicKey, chainCode } = sharePublicKey(k.share);
    try {
      await trx.insertInto('mpc_keys').values({
        workspace_id: k.workspaceId, algorithm: k.algorithm, public_key: hex(publicKey), chain_code: hex(chainCode),
        sealed_share: this.masterKey.seal(sealName(k.workspaceId, k.algorithm), encoded),
        session_id: k.sessionId, cosigner_id: k.cosignerId, created_at: Date.now(), status: 'PENDING',
      }).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new CosignerError('MPC_STATE', `the workspace already has a ${k.algorithm} master key`);
      throw e;
    } finally {
      encoded.fill(0);
    }
  }

  /** The co-signer holds its share of the key made in `sessionId`: the key counts from now. Whether one was pending. */
  async activate(trx: Db, sessionId: string): Promise<boolean> {
    const r = await trx.updateTable('mpc_keys').set({ status: 'ACTIVE' }).where('session_id', '=', sessionId).where('status', '=', 'PENDING').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The key generation in `sessionId` did not complete on the co-signer's side: its pending key is dropped. */
  async discardPending(trx: Db, sessionId: string): Promise<boolean> {
    const rows = await trx.selectFrom('mpc_keys').select(['workspace_id', 'algorithm']).where('session_id', '=', sessionId).where('status', '=', 'PENDING').execute();
    await trx.deleteFrom('mpc_keys').where('session_id', '=', sessionId).where('status', '=', 'PENDING').execute();
    for (const r of rows) this.live.delete(sealName(r.workspace_id, r.algorithm as AssetAlgorithm));
    return rows.length > 0;
  }

  /** The one live share object of this key (decoded on first use). */
  async share(workspaceId: string, algorithm: AssetAlgorithm): Promise<CoordinatorShare> {
    const id = sealName(workspaceId, algorithm);
    const hit = this.live.get(id);
    if (hit) return hit;
    const row = await this.db.selectFrom('mpc_keys').select(['sealed_share', 'public_key']).where('workspace_id', '=', workspaceId).where('algorithm', '=', algorithm).where('status', '=', 'ACTIVE').executeTakeFirst();
    if (!row) throw new CosignerError('MPC_STATE', `the workspace has no ${algorithm} master key yet (key generation has not completed)`);
    const raced = this.live.get(id); // another request decoded it while we read
    if (raced) return raced;
    const bytes = this.masterKey.open(id, row.sealed_share);
    try {
      const share = algorithm === 'MPC_ECDSA_SECP256K1' ? EcdsaKeyShareP1.decode(bytes) : FrostKeyShare.decode(bytes);
      if (hex(sharePublicKey(share).publicKey) !== row.public_key) throw new CosignerError('SEALED_STATE_INVALID', `the ${algorithm} share does not match its stored public key`);
      this.live.set(id, share);
      return share;
    } finally {
      bytes.fill(0);
    }
  }
}
