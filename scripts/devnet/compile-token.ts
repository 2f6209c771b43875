// Compiles scripts/devnet/TestToken.sol with solc-js (the `solc` npm package carries its compiler,
// so nothing is downloaded), through the standard JSON interface.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';
import { CosignerError } from '../../shared/errors.js';

export interface CompiledContract {
  readonly abi: readonly unknown[];
  readonly bytecode: `0x${string}`;
}

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'TestToken.sol');

let cached: CompiledContract | undefined;

/** The token's ABI and creation bytecode (compiled once per process). */
export function compileTestToken(): CompiledContract {
  if (cached) return cached;
  const input = {
    language: 'Solidity',
    sources: { 'TestToken.sol': { content: readFileSync(SOURCE, 'utf8') } },
    settings: {
      // Below the devnet's hardfork (prague), so every opcode used exists there.
      evmVersion: 'cancun',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { 'TestToken.sol': { TestToken: ['abi', 'evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new CosignerError('INTERNAL', `TestToken.sol does not compile: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = out.contracts?.['TestToken.sol']?.['TestToken'];
  if (!c || !/^[0-9a-f]+$/.test(c.evm.bytecode.object)) throw new CosignerError('INTERNAL', 'solc returned no bytecode for TestToken');
  cached = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  return cached;
}
