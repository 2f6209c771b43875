// The callback handler's wire contract (DESIGN.md "Callback handler"), as types both sides share:
// the claims of the request JWT the enclave signs, the claims of the response JWT the handler
// signs, and the plain-data shape in which the parent hands an HTTP answer (or its failure) back to
// the enclave. Field names are the Fireblocks co-signer's, so existing handlers read them unchanged.
// Nothing here is trusted by itself: the enclave verifies every response (response-jwt.ts).

/** Which endpoint: `{base}/v2/tx_sign_request` or `{base}/v2/config_change_sign_request`. */
export type CallbackKind = 'tx_sign_request' | 'config_change_sign_request';

export const CALLBACK_KINDS: readonly CallbackKind[] = ['tx_sign_request', 'config_change_sign_request'];

/** One entry of `rawTx`: `payload` is the hex of exactly what the enclave will sign. */
export interface RawTxClaim {
  payload: string;
  /** BIP44 path of the signing key, e.g. [44, 60, 0, 0, 0]. */
  derivationPath?: number[];
  keyDerivationPath?: number[];
  /** The unsigned transaction or preimage the payload was computed from, where there is one. */
  preHash?: { content: string; hashAlgorithm?: string };
}

/** One entry of `destinations` (multi-destination transfers list them all; single ones list one). */
export interface DestinationClaim {
  amountNativeStr: string;
  dstType: string;
  dstId?: string;
  dstAddressType?: string;
  displayDstAddress?: string;
  dstName?: string;
  dstSubType?: string;
  dstWalletId?: string;
  amountUSD?: number;
}

/** Claims of the request JWT POSTed to `/v2/tx_sign_request`. */
export interface TxSignRequestClaims {
  /** Unique per request; the response must carry the same value. */
  requestId: string;
  txId: string;
  /** TRANSFER, RAW, CONTRACT_CALL, TYPED_MESSAGE, ... (Fireblocks' default is TRANSFER). */
  operation: string;
  sourceType: string;
  sourceId: string;
  destType: string;
  destId: string;
  destAddressType?: string;
  destAddress: string;
  asset: string;
  amountStr: string;
  requestedAmountStr?: string;
  fee?: string;
  destinations: DestinationClaim[];
  rawTx: RawTxClaim[];
  /** The API user the request is signed for (the paired user whose callback this is). */
  signerId: string;
  note: string;
  extraParameters?: Record<string, unknown>;
}

/** Claims of the request JWT POSTed to `/v2/config_change_sign_request`. */
export interface ConfigChangeRequestClaims {
  requestId: string;
  /** e.g. UNMANAGED_WALLET, EXCHANGE, FIAT_ACCOUNT, POLICY_APPROVAL. */
  type: string;
  extraInfo: Record<string, unknown>;
}

export type CallbackRequestClaims = TxSignRequestClaims | ConfigChangeRequestClaims;

export type CallbackAction = 'APPROVE' | 'REJECT' | 'RETRY' | 'IGNORE';

export const CALLBACK_ACTIONS: readonly CallbackAction[] = ['APPROVE', 'REJECT', 'RETRY', 'IGNORE'];

/** Claims of the handler's response JWT, after verification. */
export interface CallbackResponseClaims {
  action: CallbackAction;
  requestId: string;
  rejectionReason?: string;
}

/**
 * What the parent hands back for one POST: the raw answer of a 200 (never interpreted by the
 * parent), or why there is none. Plain data, so it can cross the vsock channel as CBOR.
 */
export type CallbackHttpOutcome = CallbackHttpAnswer | CallbackHttpFailure;

export interface CallbackHttpAnswer {
  ok: true;
  status: 200;
  /** The Content-Type the handler sent, if any (informational: the body is sniffed, see response-jwt.ts). */
  contentType: string | undefined;
  body: Uint8Array;
}

/** The CALLBACK_* error codes (shared/errors.ts) a transport failure may carry. */
export type CallbackTransportCode = 'CALLBACK_URL_INVALID' | 'CALLBACK_UNREACHABLE' | 'CALLBACK_TIMEOUT' | 'CALLBACK_HTTP_STATUS' | 'CALLBACK_RESPONSE_TOO_LARGE';

export const CALLBACK_TRANSPORT_CODES: readonly CallbackTransportCode[] = [
  'CALLBACK_URL_INVALID', 'CALLBACK_UNREACHABLE', 'CALLBACK_TIMEOUT', 'CALLBACK_HTTP_STATUS', 'CALLBACK_RESPONSE_TOO_LARGE',
];

export interface CallbackHttpFailure {
  ok: false;
  code: CallbackTransportCode;
  message: string;
  /** The HTTP status, for CALLBACK_HTTP_STATUS. */
  status?: number;
}
