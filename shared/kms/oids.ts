// Object identifiers of the one CMS profile AWS KMS uses for CiphertextForRecipient.
export const OID = {
  /** RFC 5652 §3 / §6.1 */
  envelopedData: '1.2.840.113549.1.7.3',
  data: '1.2.840.113549.1.7.1',
  /** RFC 8017 Appendix A.2.1 / RFC 4055 §4 */
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
  /** NIST CSOR */
  sha256: '2.16.840.1.101.3.4.2.1',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;
