// The Transaction Authorization Policy document as published: `{ rules: TapRule[] }`, ordered,
// first match wins, no match blocks. These TypeBox schemas are the wire format (and go into the
// OpenAPI document); validate.ts adds the checks a JSON schema cannot express (unique names,
// threshold ≤ approvers, min ≤ max) and turns failures into path + reason.
import { Type, type Static } from '@sinclair/typebox';

/** Longest id accepted anywhere in a rule (API user, asset, vault account, external wallet ids). */
export const MAX_ID_LENGTH = 128;
/** Most entries in any id list, and most rules in a policy. */
export const MAX_LIST = 1000;
export const MAX_RULES = 1000;
/** Longest cumulative window: 366 days. */
export const MAX_WINDOW_SECONDS = 366 * 24 * 60 * 60;

// Printable ASCII without spaces: ids are opaque tokens, never free text. A lone "*" inside a
// list is refused: it reads as "everyone" but would match only a user literally named "*".
const Id = Type.String({
  minLength: 1,
  maxLength: MAX_ID_LENGTH,
  pattern: '^(?!\\*$)[\\x21-\\x7e]+$',
  description: 'an id of printable ASCII without spaces ("*" is not an id: write "*" instead of the list to mean any)',
});
const IdList = (what: string) => Type.Array(Id, { minItems: 1, maxItems: MAX_LIST, uniqueItems: true, description: `a non-empty list of distinct ${what}` });
const Star = Type.Literal('*');

/** A non-negative decimal in asset units, compared exactly (see coordinator/assets/amount.ts). */
export const DecimalAmountSchema = Type.String({
  maxLength: 100,
  pattern: '^(0|[1-9][0-9]*)(\\.[0-9]+)?$',
  description: 'a non-negative decimal amount in asset units, such as "0.5" (no sign, exponent or leading zeros)',
});

export const TapOperationSchema = Type.Union([Type.Literal('TRANSFER'), Type.Literal('RAW')], { description: 'TRANSFER or RAW' });
export type TapOperation = Static<typeof TapOperationSchema>;

export const TapActionSchema = Type.Union([Type.Literal('ALLOW'), Type.Literal('BLOCK'), Type.Literal('REQUIRE_APPROVAL')], {
  description: 'ALLOW, BLOCK or REQUIRE_APPROVAL',
});
export type TapAction = Static<typeof TapActionSchema>;

export const TapSourceSchema = Type.Union(
  [Star, Type.Object({ type: Type.Literal('VAULT_ACCOUNT'), ids: Type.Optional(IdList('vault account ids')) }, { additionalProperties: false })],
  { description: '"*" or {type: "VAULT_ACCOUNT", ids?: [...]}' },
);

export const TapDestinationSchema = Type.Union(
  [
    Star,
    // A whitelisted wallet: only matches when the wallet's address for the asset is approved.
    Type.Object({ type: Type.Literal('EXTERNAL_WALLET'), ids: Type.Optional(IdList('external wallet ids')) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('ONE_TIME_ADDRESS') }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('VAULT_ACCOUNT'), ids: Type.Optional(IdList('vault account ids')) }, { additionalProperties: false }),
  ],
  { description: '"*" or {type: "EXTERNAL_WALLET", ids?}, {type: "ONE_TIME_ADDRESS"} or {type: "VAULT_ACCOUNT", ids?}' },
);

export const TapAmountSchema = Type.Object(
  { min: Type.Optional(DecimalAmountSchema), max: Type.Optional(DecimalAmountSchema) },
  { additionalProperties: false, description: 'per-transaction bounds in asset units, both inclusive' },
);

export const TapCumulativeSchema = Type.Object(
  {
    max: DecimalAmountSchema,
    windowSeconds: Type.Integer({ minimum: 1, maximum: MAX_WINDOW_SECONDS }),
  },
  { additionalProperties: false, description: 'sum over the window of this rule\'s live transactions by the same initiator in the same asset, this one included, at most max' },
);

export const TapApproversSchema = Type.Object(
  {
    users: IdList('approver user ids'),
    threshold: Type.Integer({ minimum: 1, maximum: MAX_LIST }),
    /** Fireblocks' allowOperatorAsAuthorizer: may the initiator approve its own transaction? Default false. */
    allowInitiator: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const TapRuleSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: MAX_ID_LENGTH, pattern: '^[\\x20-\\x7e]+$', description: 'a name of 1 to 128 printable ASCII characters, unique within the policy (cumulative limits are kept per rule name)' }),
    operations: Type.Union([Star, Type.Array(TapOperationSchema, { minItems: 1, uniqueItems: true })], { description: '"*" or a non-empty list of distinct operations (TRANSFER, RAW)' }),
    initiators: Type.Union([Star, IdList('API user ids')], { description: '"*" or a non-empty list of distinct API user ids' }),
    assets: Type.Union([Star, IdList('asset ids')], { description: '"*" or a non-empty list of distinct asset ids' }),
    source: TapSourceSchema,
    destination: TapDestinationSchema,
    amount: Type.Optional(TapAmountSchema),
    cumulative: Type.Optional(TapCumulativeSchema),
    action: TapActionSchema,
    /** Required with REQUIRE_APPROVAL, refused with the other actions. */
    approvers: Type.Optional(TapApproversSchema),
  },
  { additionalProperties: false },
);

export const TapPolicySchema = Type.Object(
  { rules: Type.Array(TapRuleSchema, { maxItems: MAX_RULES }) },
  { additionalProperties: false },
);

/** An approver's vote (body of the approve / reject endpoint, if it takes one). */
export const VoteValueSchema = Type.Union([Type.Literal('APPROVE'), Type.Literal('REJECT')], { description: 'APPROVE or REJECT' });

export type TapSource = Static<typeof TapSourceSchema>;
export type TapDestination = Static<typeof TapDestinationSchema>;
export type TapAmount = Static<typeof TapAmountSchema>;
export type TapCumulative = Static<typeof TapCumulativeSchema>;
export type TapApprovers = Static<typeof TapApproversSchema>;
export type TapRule = Static<typeof TapRuleSchema>;
export type TapPolicy = Static<typeof TapPolicySchema>;
