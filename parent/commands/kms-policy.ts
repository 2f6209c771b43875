// `cosigner kms-policy --account <id> --parent-role <arn> (--pcr0 <hex> | --pcr8 <hex> |
//  --measurements <file> [--pin pcr0|pcr8]) [--pcr3 <hex>] [--admin <arn>]...`
// Prints the sealing key's policy (parent/kms-policy.ts) as JSON on stdout, for
// `aws kms put-key-policy --policy file://...`. Writes no file. Exit codes: 0 printed, 2 usage.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isCosignerError } from '../../shared/errors.js';
import { buildKeyPolicy, parseMeasurements, type MeasurementPin } from '../kms-policy.js';
import type { CommandIo } from './verify-attestation.js';

export const KMS_POLICY_USAGE =
  'usage: cosigner kms-policy --account <12 digits> --parent-role <role arn> (--pcr0 <hex> | --pcr8 <hex> | --measurements <file> [--pin pcr0|pcr8]) [--pcr3 <hex>] [--admin <arn>]...';

class UsageError extends Error {}

function pinFrom(values: { pcr0?: string; pcr8?: string; measurements?: string; pin?: string }): MeasurementPin {
  const given = [values.pcr0, values.pcr8, values.measurements].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --pcr0, --pcr8 or --measurements');
  if (values.pin !== undefined && values.measurements === undefined) throw new UsageError('--pin goes with --measurements');
  if (values.pcr0 !== undefined) return { pcr: 0, hex: values.pcr0 };
  if (values.pcr8 !== undefined) return { pcr: 8, hex: values.pcr8 };
  const file = values.measurements!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const m = parseMeasurements(text, file);
  const pin = values.pin ?? 'pcr0';
  if (pin === 'pcr0') return { pcr: 0, hex: m.PCR0 };
  if (pin !== 'pcr8') throw new UsageError(`--pin must be pcr0 or pcr8, got ${JSON.stringify(pin.slice(0, 20))}`);
  if (m.PCR8 === undefined) throw new UsageError(`${file} has no PCR8: the EIF is not signed (build it with scripts/build-eif.sh --signing-certificate/--private-key), or pin pcr0`);
  return { pcr: 8, hex: m.PCR8 };
}

export async function kmsPolicyCommand(argv: string[], io: CommandIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        account: { type: 'string' },
        'parent-role': { type: 'string' },
        pcr0: { type: 'string' },
        pcr8: { type: 'string' },
        pcr3: { type: 'string' },
        measurements: { type: 'string' },
        pin: { type: 'string' },
        admin: { type: 'string', multiple: true, default: [] },
        help: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      io.stdout(KMS_POLICY_USAGE);
      return 0;
    }
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0]!.slice(0, 100))}`);
    if (!values.account || !values['parent-role']) throw new UsageError('--account and --parent-role are required');
    const policy = buildKeyPolicy({
      account: values.account,
      parentRoleArn: values['parent-role'],
      pin: pinFrom(values),
      pcr3: values.pcr3,
      admins: values.admin ?? [],
    });
    io.stdout(JSON.stringify(policy, null, 2));
    return 0;
  } catch (e) {
    const known = e instanceof UsageError || isCosignerError(e) || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr(`kms-policy: ${known ? (e as Error).message : String(e)}`);
    io.stderr(KMS_POLICY_USAGE);
    return 2;
  }
}
