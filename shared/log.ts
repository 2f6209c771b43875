// Logging: pino JSON lines. Components get child loggers named after themselves. Secret
// material must never be passed to a logger; the redact list is a second line of defence.
import { pino, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'secret', 'share', 'privateKey', 'dataKey', 'plaintext', 'password', 'token',
  'refreshToken', 'accessToken', 'SecretAccessKey', 'SessionToken', 'secretAccessKey', 'sessionToken', 'credentials',
];
// pino's wildcards match one level, so each name is listed at the top level and two levels down.
const REDACT = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(component: string, opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info');
  const options = { name: component, level, redact: { paths: REDACT, censor: '[redacted]' } };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}
