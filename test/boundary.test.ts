// The trust boundary (DESIGN.md "Parts"): enclave/ never imports parent/ or coordinator/, parent/ never
// imports enclave/, shared/ and emulators/ import none of the application folders.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|js|mjs|cjs)$/.test(e)) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function importedTopFolders(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const tops: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (!spec || !spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec));
    tops.push(target.split(/[\\/]/)[0]!);
  }
  return tops;
}

const FORBIDDEN: Record<string, string[]> = {
  enclave: ['parent', 'coordinator', 'emulators', 'test', 'scripts'],
  parent: ['enclave', 'coordinator', 'emulators', 'test', 'scripts'],
  coordinator: ['enclave', 'parent', 'emulators', 'test', 'scripts'],
  shared: ['enclave', 'parent', 'coordinator', 'emulators', 'test', 'scripts'],
  emulators: ['enclave', 'parent', 'coordinator', 'test', 'scripts'],
  // A customer's program, written from the protocol alone: it shares no code with the co-signer.
  'callback-handler': ['enclave', 'parent', 'coordinator', 'shared', 'emulators', 'test', 'scripts'],
};

describe('trust boundary', () => {
  for (const [folder, forbidden] of Object.entries(FORBIDDEN)) {
    it(`${folder}/ imports none of ${forbidden.join(', ')}`, () => {
      const violations: string[] = [];
      const files = sources(join(root, folder));
      expect(files.length, `${folder}/ has sources to scan`).to.be.greaterThan(0);
      for (const f of files) {
        for (const top of importedTopFolders(f)) {
          if (forbidden.includes(top)) violations.push(`${relative(root, f)} -> ${top}/`);
        }
      }
      expect(violations, violations.join('\n')).to.deep.equal([]);
    });
  }

  it('the import scanner itself catches a crossing', () => {
    // Guard against a scanner that silently matches nothing.
    const re = new RegExp(IMPORT_RE.source, 'gm');
    const m = [...`import { x } from '../parent/main.js';`.matchAll(re)];
    expect(m[0]?.[1]).to.equal('../parent/main.js');
  });
});
