// How the coordinator's party verifies a paired co-signer's MPC messages: with the Ed25519
// identity key the co-signer's attestation document bound at pairing (coordinator/cosigners/).
import { CosignerError } from '../../shared/errors.js';
import { ed25519Peers, type PeerVerifier } from '../../shared/mpc/authenticated-message.js';
import type { Db } from '../storage/database.js';
import { COSIGNER_PARTY_ID } from './signing-requests.js';

export async function pairedCosignerPeer(_db: Db, _workspaceId: string, _cosignerId: string): Promise<PeerVerifier> {
  throw new CosignerError('MPC_STATE', 'no co-signer is paired with this coordinator yet');
}

export const cosignerPeerFromKey = (identityPublicKey: Uint8Array): PeerVerifier => ed25519Peers(new Map([[COSIGNER_PARTY_ID, identityPublicKey]]));
