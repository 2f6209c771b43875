// The MPC relay between a paired co-signer and the coordinator's MPC party. It carries the
// session channel's hellos and encrypted frames (shared/cosigner-api/mpc-channel.ts) and cannot
// read them. Delivery is exactly once per round, a round being named by the frames' sequence
// numbers: the first POST for (session, round) reserves the round, calls receive() and
// stores its answer; a retried identical POST (the co-signer lost the answer) gets the stored
// answer without a second receive(), and a different POST for an answered round is a conflict.
// Typed refusals of the party are stored too (the party saw those messages); an unexpected
// failure frees the round so that a retry can deliver it.
import { canonicalJson } from '../../shared/cosigner-api/canonical-json.js';
import { frameFromJson, frameToJson, helloFromJson, helloToJson, type MpcFrameJson, type MpcHelloJson } from '../../shared/cosigner-api/mpc-channel.js';
import { fromHex } from '../../shared/bytes.js';
import { CosignerError, isCosignerError } from '../../shared/errors.js';
import type { MpcPartyEndpoint, MpcSessionRef } from '../mpc/party-endpoint.js';
import { isUniqueViolation } from '../plugins/authenticate.js';
import type { Db } from '../storage/database.js';
import type { CosignersTable } from '../storage/schema.js';
import { checkSessionAccess } from './mpc-sessions.js';
import { sha256Hex } from './token-secrets.js';

const RUNNING = -1;


function parseFrames(sessionId: string, messages: unknown[]) {
  return messages.map((m, i) => {
    const parsed = frameFromJson(m, `messages[${i}]`);
    if ((m as MpcFrameJson).sessionId !== sessionId) throw new CosignerError('SCHEMA_VIOLATION', `messages[${i}]: belongs to another session than the URL names`);
    return parsed;
  });
}

function ref(cosigner: CosignersTable, sessionId: string): MpcSessionRef {
  return { workspaceId: cosigner.workspace_id, cosignerId: cosigner.id, sessionId: fromHex(sessionId) };
}

export async function relayOpening(db: Db, party: MpcPartyEndpoint, cosigner: CosignersTable, sessionId: string, hello: unknown): Promise<{ hello: MpcHelloJson; messages: MpcFrameJson[] }> {
  await checkSessionAccess(db, sessionId, cosigner);
  const o = await party.opening(ref(cosigner, sessionId), helloFromJson(hello, 'hello'));
  return { hello: helloToJson(o.hello), messages: o.messages.map(frameToJson) };
}

/** Returns the answer to send: the party's messages, or a stored typed refusal to rethrow. */
export async function relayMessages(db: Db, party: MpcPartyEndpoint, cosigner: CosignersTable, sessionId: string, messages: unknown[]): Promise<{ messages: MpcFrameJson[]; replayed: boolean }> {
  await checkSessionAccess(db, sessionId, cosigner);
  const parsed = parseFrames(sessionId, messages);
  const roundKey = [...new Set(parsed.map((m) => m.seq))].sort((a, b) => a - b).join(',');
  const requestHash = sha256Hex(canonicalJson(messages));
  try {
    await db.insertInto('mpc_relay_answers').values({ session_id: sessionId, round_key: roundKey, request_sha256: requestHash, cosigner_id: cosigner.id, status_code: RUNNING, answer: '', created_at: Date.now() }).execute();
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const prior = await db.selectFrom('mpc_relay_answers').selectAll().where('session_id', '=', sessionId).where('round_key', '=', roundKey).executeTakeFirstOrThrow();
    if (prior.request_sha256 !== requestHash) throw new CosignerError('CONFLICT', `round ${roundKey} of this session was already delivered with other messages`, { reason: 'mpc-round-conflict' });
    if (prior.status_code === RUNNING) throw new CosignerError('CONFLICT', 'these messages are being delivered; retry shortly', { reason: 'mpc-round-conflict' });
    return { ...storedAnswer(prior.status_code, prior.answer), replayed: true };
  }
  let answer: MpcFrameJson[];
  try {
    answer = (await party.receive(ref(cosigner, sessionId), parsed)).map(frameToJson);
  } catch (e) {
    if (isCosignerError(e) && e.code !== 'INTERNAL') {
      await db.updateTable('mpc_relay_answers').set({ status_code: 422, answer: JSON.stringify({ code: e.code, message: e.message }) })
        .where('session_id', '=', sessionId).where('round_key', '=', roundKey).execute();
      throw e;
    }
    await db.deleteFrom('mpc_relay_answers').where('session_id', '=', sessionId).where('round_key', '=', roundKey).where('status_code', '=', RUNNING).execute();
    throw e;
  }
  await db.updateTable('mpc_relay_answers').set({ status_code: 200, answer: JSON.stringify(answer) })
    .where('session_id', '=', sessionId).where('round_key', '=', roundKey).execute();
  return { messages: answer, replayed: false };
}

function storedAnswer(status: number, text: string): { messages: MpcFrameJson[] } {
  if (status === 200) return { messages: JSON.parse(text) as MpcFrameJson[] };
  const e = JSON.parse(text) as { code: CosignerError['code']; message: string };
  throw new CosignerError(e.code, e.message);
}
