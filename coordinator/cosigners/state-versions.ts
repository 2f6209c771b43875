// The highest enclave state version each co-signer has reported. A report must be signed by the
// co-signer's identity key for this request and recent; an older version than recorded (a parent
// that restored an old sealed blob) or the same version with another digest (a fork) is refused.
import { ed25519PublicKeyFromRaw } from '../../shared/cosigner-api/keys.js';
import { STATE_REPORT_MAX_SKEW_MS, verifyStateReport, type StateReport } from '../../shared/cosigner-api/state-report.js';
import { CosignerError } from '../../shared/errors.js';
import type { Db } from '../storage/database.js';
import type { CosignersTable } from '../storage/schema.js';

export async function recordStateReport(db: Db, cosigner: CosignersTable, report: StateReport, purpose: string, now = Date.now()): Promise<void> {
  const key = ed25519PublicKeyFromRaw(new Uint8Array(Buffer.from(cosigner.identity_public_key, 'base64')));
  if (!verifyStateReport(report, { cosignerId: cosigner.id, purpose }, key)) {
    throw new CosignerError('SCHEMA_VIOLATION', 'the state report is not signed by this co-signer\'s identity key for this request', { reason: 'state-signature' });
  }
  if (Math.abs(now - report.at) > STATE_REPORT_MAX_SKEW_MS) throw new CosignerError('SCHEMA_VIOLATION', 'the state report is not recent', { reason: 'state-stale' });
  for (let attempt = 0; attempt < 5; attempt++) {
    const cur = await db.selectFrom('cosigners').select(['state_version', 'state_digest']).where('id', '=', cosigner.id).executeTakeFirst();
    if (!cur) throw new CosignerError('TOKEN_INVALID', 'the co-signer was revoked', { reason: 'access' });
    const known = cur.state_version === null ? null : Number(cur.state_version);
    if (known !== null && report.stateVersion < known) {
      throw new CosignerError('STATE_ROLLBACK', `the enclave reports state version ${report.stateVersion}, older than version ${known} it reported before`);
    }
    if (known === report.stateVersion) {
      if (cur.state_digest !== report.stateDigest) throw new CosignerError('STATE_ROLLBACK', `state version ${known} was reported before with another digest`);
      return;
    }
    // Compare-and-set, so two concurrent reports cannot lower the recorded version.
    let q = db.updateTable('cosigners').set({ state_version: report.stateVersion, state_digest: report.stateDigest, updated_at: now }).where('id', '=', cosigner.id);
    q = known === null ? q.where('state_version', 'is', null) : q.where('state_version', '=', known);
    if (Number((await q.executeTakeFirst()).numUpdatedRows) === 1) return;
  }
  throw new CosignerError('CONFLICT', 'the state report raced with others; retry');
}
