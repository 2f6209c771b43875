// Transaction Authorization Policy: schema, validation, evaluation, approvals.
export * from './schema.js';
export * from './validate.js';
export * from './facts.js';
export * from './evaluate.js';
export * from './tally.js';
export * from './authorization-info.js';
