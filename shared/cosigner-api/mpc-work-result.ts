// What a co-signer reports when it is done with a KEYGEN or SIGN work item (the `result` of
// POST /cosigner/v1/work/{id}/result). SIGNED / GENERATED: it took part to the end. REJECTED: its
// callback handler or its enclave policy refused (final: the transaction is rejected). FAILED: it
// could not take part (the coordinator decides whether to issue the work again) — unless `final`:
// its callback gave no approval (no answer in 30 s, an error, an answer that does not verify), and
// asking again would only ask the handler again, so the request fails (DESIGN.md "Callback handler").
import * as s from '../schema.js';

export const MPC_WORK_OUTCOMES = ['GENERATED', 'SIGNED', 'REJECTED', 'FAILED'] as const;
export type MpcWorkOutcome = (typeof MPC_WORK_OUTCOMES)[number];

export const MpcWorkResultSchema = s.struct({
  outcome: s.text({ oneOf: MPC_WORK_OUTCOMES }),
  reason: s.optional(s.text({ max: 500 })),
  final: s.optional(s.bool()),
});

export type MpcWorkResult = { outcome: MpcWorkOutcome; reason?: string; final?: boolean };
