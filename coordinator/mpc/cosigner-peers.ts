// How the coordinator's party verifies a paired co-signer's MPC messages: with the Ed25519
// identity key its attestation document bound at pairing (coordinator/cosigners/pairing.ts).
import { CosignerError } from '../../shared/errors.js';
import { ed25519Peers, type PeerVerifier } from '../../shared/mpc/authenticated-message.js';
import type { Db } from '../storage/database.js';
import { COSIGNER_PARTY_ID } from './signing-requests.js';

export async function pairedCosignerPeer(db: Db, workspaceId: string, cosignerId: string): Promise<PeerVerifier> {
  const row = await db.selectFrom('cosigners').select('identity_public_key').where('id', '=', cosignerId).where('workspace_id', '=', workspaceId).executeTakeFirst();
  if (!row) throw new CosignerError('MPC_STATE', 'the co-signer is not paired with this workspace');
  return ed25519Peers(new Map([[COSIGNER_PARTY_ID, new Uint8Array(Buffer.from(row.identity_public_key, 'base64'))]]));
}
