// A wait that ends early, with ABORTED, when the work it belongs to is stopped (lease lost, daemon stopping).
import { CosignerError } from '../shared/errors.js';

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new CosignerError('ABORTED', 'stopped before the wait began'));
      return;
    }
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new CosignerError('ABORTED', 'stopped while waiting to resend the callback request'));
    }, { once: true });
  });
}
