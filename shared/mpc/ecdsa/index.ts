// Two-party ECDSA on secp256k1 (Lindell 2017 family, additive shares): the public surface.
export { ECDSA_KEYGEN_PROTOCOL, EcdsaKeygenP1, EcdsaKeygenP2, type EcdsaKeygenP1Options, type EcdsaKeygenP2Options } from './keygen.js';
export { ECDSA_SIGN_PROTOCOL, EcdsaSignP1, EcdsaSignP2, derivePublicKey, type EcdsaSignOptions, type EcdsaSignP2Options } from './sign.js';
export { ECDSA_KEY_SHARE_VERSION, EcdsaKeyShareP1, EcdsaKeyShareP2 } from './key-share.js';
export { CHAIN_CODE_BYTES, CHAIN_CODE_DOMAIN, jointChainCode } from './chain-code.js';
export { deriveEcdsaChild, ecdsaXpub, type DerivedEcdsaKey, type EcdsaKeyShare, type EcdsaXpubOptions } from './derive.js';
export { EcdsaSignature, finalizeSignature, hashToScalar, isCanonicalSignatureFor } from './signature.js';
export { DEFAULT_P1_ID, DEFAULT_P2_ID, type TwoPartyIds } from './two-party-session.js';
export { RHO_BITS, RING_PEDERSEN_MIN_BITS } from './bounds.js';
export { PaillierRandomizerPool } from './randomizer-pool.js';
