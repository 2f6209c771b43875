// What a workspace expects of its co-signers' enclaves: PCR0 (the image measurement) and, when set,
// PCR8 (the signing certificate, which survives image upgrades). A workspace without expectations
// pairs only when the coordinator runs with `allowAnyPcrs` (development, the local stack), and
// even then never a debug-mode enclave.
import { fromHex } from '../../shared/bytes.js';
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { CosignerAttestationPoliciesTable } from '../storage/schema.js';

export async function attestationPolicyOf(db: Db, workspaceId: string): Promise<CosignerAttestationPoliciesTable | undefined> {
  return db.selectFrom('cosigner_attestation_policies').selectAll().where('workspace_id', '=', workspaceId).executeTakeFirst();
}

export async function setAttestationPolicy(db: Db, workspaceId: string, p: { pcr0: string; pcr8?: string | null }, by: string): Promise<CosignerAttestationPoliciesTable> {
  // All-zero PCR0 is what debug-mode enclaves report, and those are always refused: expecting it is a mistake.
  if (/^0+$/.test(p.pcr0)) throw new CosignerError('CONFIG_INVALID', 'pcr0 of zeros is a debug-mode enclave\'s, which never pairs');
  const row = { workspace_id: workspaceId, pcr0: p.pcr0, pcr8: p.pcr8 ?? null, updated_by: by, updated_at: Date.now() };
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('cosigner_attestation_policies').where('workspace_id', '=', workspaceId).execute();
    await trx.insertInto('cosigner_attestation_policies').values(row).execute();
  });
  return row;
}

/** The expectedPcrs argument of verifyAttestationDocument. */
export function expectedPcrs(p: CosignerAttestationPoliciesTable): Record<number, Uint8Array> {
  const out: Record<number, Uint8Array> = { 0: fromHex(p.pcr0) };
  if (p.pcr8) out[8] = fromHex(p.pcr8);
  return out;
}
