// AWS-shaped KMS errors: the JSON 1.1 protocol carries the error name in `__type` (body) and in the
// `x-amzn-errortype` header; the SDK maps it to the exception class of that name.
export type KmsErrorType =
  | 'AccessDeniedException'
  | 'IncorrectKeyException'
  | 'InvalidCiphertextException'
  | 'InvalidKeyUsageException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'MalformedPolicyDocumentException'
  | 'MissingAuthenticationTokenException'
  | 'NotFoundException'
  | 'SerializationException'
  | 'UnknownOperationException'
  | 'UnrecognizedClientException'
  | 'UnsupportedOperationException'
  | 'ValidationException'
  | 'KMSInternalException';

export class KmsError extends Error {
  constructor(readonly type: KmsErrorType, message: string, readonly status = 400) {
    super(message);
    this.name = type;
  }
}
