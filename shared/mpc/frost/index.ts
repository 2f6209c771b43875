export * from './suite.js';
export * from './key-share.js';
export * from './messages.js';
export * from './dkg-party.js';
export * from './sign-party.js';
export * from './tweak.js';
export * from './derive.js';
