// run.log on the wire: the co-signer sends its setup and configuration history after each
// configuration command (PUT /cosigner/v1/run-log, text/plain, at most MAX_RUN_LOG_BYTES: the
// parent sends the newest lines that fit), and the workspace's admins read the latest copy.
import { Type, type Static } from '@sinclair/typebox';

export const RUN_LOG_PATH = '/cosigner/v1/run-log';
export const MAX_RUN_LOG_BYTES = 1024 * 1024;

export const RunLogReceipt = Type.Object({ receivedAt: Type.Number(), sizeBytes: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type RunLogReceipt = Static<typeof RunLogReceipt>;

export const RunLogView = Type.Object({
  cosignerId: Type.String(),
  receivedAt: Type.Number(),
  sizeBytes: Type.Integer({ minimum: 0 }),
  runLog: Type.String(),
}, { additionalProperties: false });
