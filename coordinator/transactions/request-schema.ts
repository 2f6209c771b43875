// POST /v1/transactions as both SDKs send it (reference §3). Known fields are typed and checked;
// fields of the wider Fireblocks API that this coordinator does not act on (fee levels, travel
// rule, …) are accepted and ignored, so an integration that sets them keeps working.
import { Type, type Static } from '@sinclair/typebox';

const Peer = Type.Object({
  type: Type.String({ maxLength: 64 }),
  id: Type.Optional(Type.String({ maxLength: 128 })),
  walletId: Type.Optional(Type.String({ maxLength: 128 })),
  subType: Type.Optional(Type.String({ maxLength: 64 })),
  name: Type.Optional(Type.String({ maxLength: 256 })),
  oneTimeAddress: Type.Optional(Type.Object({ address: Type.String({ minLength: 1, maxLength: 256 }), tag: Type.Optional(Type.String({ maxLength: 256 })) })),
});

export const RawMessage = Type.Object({
  content: Type.String({ minLength: 2, maxLength: 16384, pattern: '^(0x)?([0-9a-fA-F]{2})+$' }),
  bip44addressIndex: Type.Optional(Type.Integer({ minimum: 0, maximum: 0x7fffffff })),
  bip44change: Type.Optional(Type.Integer({ minimum: 0, maximum: 1 })),
  derivationPath: Type.Optional(Type.Array(Type.Integer({ minimum: 0, maximum: 0x7fffffff }), { minItems: 1, maxItems: 8 })),
});

export const CreateTransactionBody = Type.Object({
  operation: Type.Optional(Type.String({ maxLength: 64 })),
  assetId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  source: Type.Optional(Peer),
  destination: Type.Optional(Peer),
  amount: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Number()])),
  note: Type.Optional(Type.String({ maxLength: 1024 })),
  externalTxId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  customerRefId: Type.Optional(Type.String({ maxLength: 255 })),
  extraParameters: Type.Optional(Type.Object({
    rawMessageData: Type.Optional(Type.Object({
      algorithm: Type.Optional(Type.String({ maxLength: 64 })),
      messages: Type.Array(RawMessage, { minItems: 1, maxItems: 16 }),
    })),
  })),
});
export type CreateTransactionBody = Static<typeof CreateTransactionBody>;
export type RawMessageBody = Static<typeof RawMessage>;
