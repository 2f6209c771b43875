export * from './path.js';
export * from './base58check.js';
export * from './bip32.js';
export * from './xpub.js';
export * from './ed25519-additive.js';
