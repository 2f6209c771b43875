// Asset catalogue, exact amounts, addresses and public keys.
export * from './amount.js';
export * from './catalogue.js';
export * from './evm-address.js';
export * from './addresses.js';
export * from './public-key-info.js';
export * from './address-format.js';
