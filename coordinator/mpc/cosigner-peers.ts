// A paired co-signer's MPC identity: the Ed25519 key its attestation document bound at pairing
// (coordinator/cosigners/pairing.ts). It signs the co-signer's channel hello and every message.
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';

export async function pairedCosignerIdentity(db: Db, workspaceId: string, cosignerId: string): Promise<Uint8Array> {
  const row = await db.selectFrom('cosigners').select('identity_public_key').where('id', '=', cosignerId).where('workspace_id', '=', workspaceId).executeTakeFirst();
  if (!row) throw new CosignerError('MPC_STATE', 'the co-signer is not paired with this workspace');
  return new Uint8Array(Buffer.from(row.identity_public_key, 'base64'));
}
