// Every hex line of test/fixtures/nsm/README.md (from aws-nitro-enclaves-nsm-api), both ways.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { encodeCbor } from '../../shared/cbor.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import {
  NSM_ERROR_NAMES,
  decodeNsmRequest,
  decodeNsmResponse,
  encodeNsmRequest,
  encodeNsmResponse,
  expectNsmResponse,
  type NsmRequest,
  type NsmResponse,
} from '../../shared/nsm/codec.js';
import { fixturePath } from '../support/fixtures.js';
import { expectCosignerError } from '../support/expect-error.js';

interface Row {
  message: string;
  /** One hex string per alternative ("a / b" lists two messages in one row). */
  hexes: string[];
  prefixOnly: boolean;
}

function readmeRows(): Row[] {
  const text = readFileSync(fixturePath('nsm', 'README.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !/^(request|response)/.test(cells[1]!)) continue;
    const alternatives = cells[2]!.split(' / ').map((alt) => [...alt.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).join(''));
    rows.push({
      message: cells[1]!.replace(/`/g, ''),
      hexes: alternatives.map((h) => h.replace(/…$/, '')),
      prefixOnly: alternatives.some((h) => h.endsWith('…')),
    });
  }
  return rows;
}

const abc = new TextEncoder().encode('abc');
const REQUESTS: Record<string, NsmRequest> = {
  'request DescribeNSM': { kind: 'DescribeNSM' },
  'request GetRandom': { kind: 'GetRandom' },
  'request DescribePCR{index:0}': { kind: 'DescribePCR', index: 0 },
  'request ExtendPCR{index:16, data:"abc"}': { kind: 'ExtendPCR', index: 16, data: abc },
  'request LockPCR{index:16}': { kind: 'LockPCR', index: 16 },
  'request LockPCRs{range:17}': { kind: 'LockPCRs', range: 17 },
  'request Attestation{user_data:null, nonce:null, public_key:null}': { kind: 'Attestation', userData: null, nonce: null, publicKey: null },
};
const RESPONSES: Record<string, NsmResponse[]> = {
  'response Attestation{document}': [{ kind: 'Attestation', document: new Uint8Array(7539).fill(0x84) }],
  'response GetRandom{random} (256 bytes)': [{ kind: 'GetRandom', random: new Uint8Array(256).fill(0) }],
  'response DescribePCR{lock, data}': [{ kind: 'DescribePCR', lock: true, data: new Uint8Array(48).fill(7) }],
  'response ExtendPCR{data}': [{ kind: 'ExtendPCR', data: new Uint8Array(48).fill(9) }],
  'response LockPCR / LockPCRs': [{ kind: 'LockPCR' }, { kind: 'LockPCRs' }],
  'response Error(InvalidArgument)': [{ kind: 'Error', error: 'InvalidArgument' }],
};

function expectNsmError(fn: () => unknown, name: string): void {
  expectCosignerError(fn, 'NSM_ERROR', name);
}

describe('NSM codec', () => {
  describe('the README hex lines', () => {

    it('covers every line of the README table', () => {
      const messages = readmeRows().map((r) => r.message);
      expect(messages.length).to.be.greaterThan(10);
      expect(messages.sort()).to.deep.equal([...Object.keys(REQUESTS), ...Object.keys(RESPONSES)].sort());
    });

    it('encodes every request exactly and decodes it back (device side)', () => {
      for (const row of readmeRows().filter((r) => r.message.startsWith('request'))) {
        const req = REQUESTS[row.message]!;
        expect(row.prefixOnly).to.equal(false);
        expect(toHex(encodeNsmRequest(req)), row.message).to.equal(row.hexes[0]);
        expect(decodeNsmRequest(fromHex(row.hexes[0]!)), row.message).to.deep.equal(req);
      }
    });

    it('encodes every response as the README shows and decodes it back (client side)', () => {
      for (const row of readmeRows().filter((r) => r.message.startsWith('response'))) {
        const variants = RESPONSES[row.message]!;
        const hexes = row.hexes;
        expect(hexes.length, row.message).to.equal(variants.length);
        variants.forEach((resp, i) => {
          const encoded = toHex(encodeNsmResponse(resp));
          if (row.prefixOnly) expect(encoded.startsWith(hexes[i]!), `${row.message}: ${encoded.slice(0, 80)}`).to.equal(true);
          else expect(encoded, row.message).to.equal(hexes[i]);
          expect(decodeNsmResponse(fromHex(encoded)), row.message).to.deep.equal(resp);
        });
      }
    });
  });

  describe('responses', () => {
    it('round-trips DescribeNSM with the nsm-api field order', () => {
      const resp: NsmResponse = { kind: 'DescribeNSM', versionMajor: 1, versionMinor: 0, versionPatch: 0, moduleId: 'i-0-enc0', maxPcrs: 32, lockedPcrs: [0, 1, 2], digest: 'SHA384' };
      const bytes = encodeNsmResponse(resp);
      // field names and order as serde emits them from the Rust struct
      const order = ['version_major', 'version_minor', 'version_patch', 'module_id', 'max_pcrs', 'locked_pcrs', 'digest'].map((k) => Buffer.from(bytes).indexOf(k));
      expect(order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1]!))).to.equal(true);
      expect(decodeNsmResponse(bytes)).to.deep.equal(resp);
    });

    it('turns every NSM error into NSM_ERROR named after it', () => {
      for (const name of NSM_ERROR_NAMES) {
        const resp = decodeNsmResponse(encodeNsmResponse({ kind: 'Error', error: name }));
        expectNsmError(() => expectNsmResponse(resp, 'GetRandom'), name);
      }
    });

    it('reports a response of the wrong kind as InvalidResponse', () => {
      expectNsmError(() => expectNsmResponse({ kind: 'LockPCR' }, 'Attestation'), 'InvalidResponse');
    });

    it('rejects malformed responses as InvalidResponse', () => {
      const bad = [
        'ff',
        encodeCbor('Nope'),
        encodeCbor({ GetRandom: { random: 'text' } }),
        encodeCbor({ GetRandom: { random: new Uint8Array(1), extra: 1 } }),
        encodeCbor({ Error: 'NotAnError' }),
        encodeCbor({ DescribePCR: { lock: 1, data: new Uint8Array(48) } }),
        encodeCbor({ a: 1, b: 2 }),
        encodeCbor('LockPCR').subarray(0, 3),
        new Uint8Array(0),
        new Uint8Array(0x3001),
      ];
      for (const b of bad) expectNsmError(() => decodeNsmResponse(typeof b === 'string' ? fromHex(b) : b), 'InvalidResponse');
    });
  });

  describe('requests (device side)', () => {
    it('rejects what cannot be parsed as InvalidArgument', () => {
      const bad = [
        fromHex('ff'),
        encodeCbor('Nope'),
        encodeCbor({ DescribePCR: { index: 70000 } }),
        encodeCbor({ DescribePCR: { index: -1 } }),
        encodeCbor({ DescribePCR: { index: '1' } }),
        encodeCbor({ DescribePCR: {} }),
        encodeCbor({ ExtendPCR: { index: 16, data: 'abc' } }),
        encodeCbor({ LockPCRs: { range: 1, index: 2 } }),
        encodeCbor({ Attestation: { user_data: 5 } }),
        encodeCbor({ GetRandom: {} }),
        encodeCbor(['GetRandom']),
      ];
      for (const b of bad) expectNsmError(() => decodeNsmRequest(b), 'InvalidArgument');
    });

    it('accepts Attestation with fields absent (serde reads them as None)', () => {
      expect(decodeNsmRequest(encodeCbor({ Attestation: {} }))).to.deep.equal({ kind: 'Attestation', userData: null, nonce: null, publicKey: null });
    });

    it('refuses requests larger than 0x1000 bytes both ways', () => {
      expectNsmError(() => encodeNsmRequest({ kind: 'ExtendPCR', index: 16, data: new Uint8Array(0x1000) }), 'InputTooLarge');
      expectNsmError(() => decodeNsmRequest(new Uint8Array(0x1001)), 'InputTooLarge');
    });
  });
});
