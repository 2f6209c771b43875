// Request validation with two Ajv instances. Query strings and path parameters arrive as text, so
// their schemas coerce ("5" → 5); bodies are JSON and must already have the declared types — a
// client sending {"name": 123} gets 400, not a silently stringified "123".
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';

export function installValidators(app: FastifyInstance): void {
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}
