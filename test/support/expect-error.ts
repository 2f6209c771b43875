// One assertion for "this must fail with that typed error" across the suite.
import { expect } from 'chai';
import { isCosignerError, type CosignerError, type ErrorCode } from '../../shared/errors.js';

function check(err: unknown, code: ErrorCode, message?: RegExp | string): CosignerError {
  expect(isCosignerError(err, code), `expected ${code}, got ${String(err)}`).to.equal(true);
  const e = err as CosignerError;
  if (typeof message === 'string') expect(e.message).to.equal(message);
  else if (message) expect(e.message).to.match(message);
  return e;
}

/** Runs `fn`; it must throw CosignerError `code` (and, when given, a message matching `message`). */
export function expectCosignerError(fn: () => unknown, code: ErrorCode, message?: RegExp | string): CosignerError {
  let err: unknown = new Error('it did not throw');
  try {
    fn();
  } catch (e) {
    err = e;
  }
  return check(err, code, message);
}

/** The same for a promise, or a function that returns one (or throws). */
export async function expectCosignerRejection(p: Promise<unknown> | (() => unknown), code: ErrorCode, message?: RegExp | string): Promise<CosignerError> {
  let err: unknown = new Error('it did not reject');
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  return check(err, code, message);
}
