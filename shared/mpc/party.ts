// The shape every MPC protocol in this project takes (issue #3 "Shape"): a party is a state
// machine. It never does I/O; it takes one received message and returns the messages to send.
// Every message names its protocol, session and parties, and is checked against the session
// before its payload is even parsed, so a message replayed from another session is rejected.
// A party takes only AuthenticatedMessages (authenticated-message.ts): the sender's signature over
// the whole envelope is checked by openMpcMessage before a message can reach receive().
import * as s from '../schema.js';
import { CosignerError, isCosignerError } from '../errors.js';
import { equalBytes } from '../bytes.js';
import type { AuthenticatedMessage } from './authenticated-message.js';

export const SESSION_ID_BYTES = 32;

/** Party identifiers are small positive integers (FROST identifiers are derived from them). */
export const PartyIdSchema = s.uint({ max: 255 });

export interface MpcMessage {
  protocol: string;
  sessionId: Uint8Array;
  from: number;
  to: number;
  round: number;
  payload: unknown;
}

/** Envelope schema where the payload is left as an untrusted value for the protocol to parse. */
export const MpcEnvelopeSchema: s.Schema<MpcMessage> = {
  kind: 'mpc-envelope',
  parse(v, path = '') {
    const outer = s.struct({
      protocol: s.text({ max: 64 }),
      sessionId: s.bytes({ len: SESSION_ID_BYTES }),
      from: PartyIdSchema,
      to: PartyIdSchema,
      round: s.uint({ max: 64 }),
      payload: { kind: 'any', parse: (x: unknown) => x } as s.Schema<unknown>,
    });
    return outer.parse(v, path) as MpcMessage;
  },
};

export interface Party<Output> {
  readonly protocol: string;
  readonly sessionId: Uint8Array;
  readonly self: number;
  /** Messages this party sends before receiving anything (may be empty). */
  start(): MpcMessage[];
  /**
   * Consume one received message. It must come from openMpcMessage (sender, session, round and
   * payload authenticated); anything else is refused with MPC_INVALID_MESSAGE. Outgoing messages
   * are plain MpcMessages for the transport to sign (sealMpcMessage). Throws CosignerError on any
   * invalid input; the session is then dead.
   */
  receive(message: AuthenticatedMessage): MpcMessage[];
  readonly done: boolean;
  /** The protocol's output; throws MPC_STATE before `done`. */
  result(): Output;
}

/**
 * A protocol message that fails its schema (envelope or payload) is MPC_INVALID_MESSAGE in every
 * protocol of the engine (issue 7 item 11), never the generic SCHEMA_VIOLATION.
 */
export function parseMessagePart<T>(schema: s.Schema<T>, value: unknown, path: string, protocol: string): T {
  try {
    return s.parse(schema, value, path);
  } catch (e) {
    if (isCosignerError(e, 'SCHEMA_VIOLATION')) throw new CosignerError('MPC_INVALID_MESSAGE', `${protocol.slice(0, 64)}: ${e.message}`);
    throw e;
  }
}

/**
 * Envelope checks common to every protocol: right protocol, right session, addressed to us, from
 * an expected peer, and the round we are waiting for.
 */
export function checkEnvelope(
  m: MpcMessage,
  expected: { protocol: string; sessionId: Uint8Array; self: number; peers: readonly number[]; round: number },
): void {
  const msg = parseMessagePart(MpcEnvelopeSchema, m, '', expected.protocol);
  if (msg.protocol !== expected.protocol) throw new CosignerError('MPC_SESSION_MISMATCH', `message for protocol ${msg.protocol.slice(0, 64)}, expected ${expected.protocol}`);
  if (!equalBytes(msg.sessionId, expected.sessionId)) throw new CosignerError('MPC_SESSION_MISMATCH', 'message belongs to another session');
  if (msg.to !== expected.self) throw new CosignerError('MPC_INVALID_MESSAGE', `message addressed to party ${msg.to}, not ${expected.self}`);
  if (!expected.peers.includes(msg.from)) throw new CosignerError('MPC_INVALID_MESSAGE', `message from unexpected party ${msg.from}`);
  if (msg.round !== expected.round) throw new CosignerError('MPC_INVALID_MESSAGE', `message for round ${msg.round}, expected round ${expected.round}`);
}
