// The config file: defaults, paths relative to the file, and every mistake named.
import { expect } from 'chai';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../callback-handler/config.js';

describe('callback handler config', () => {
  const file = join('/etc', 'handler', 'config.json');
  const base = { privateKeyFile: 'handler.key', cosignerPublicKeyFile: '/keys/cosigner.pub' };

  it('defaults to loopback, port 0, no base path, approving config changes; key paths relative to the file', () => {
    expect(parseConfig(base, file)).to.deep.equal({
      port: 0,
      host: '127.0.0.1',
      basePath: '',
      privateKeyFile: resolve('/etc/handler/handler.key'),
      cosignerPublicKeyFile: '/keys/cosigner.pub',
      rules: { configChanges: 'APPROVE' },
    });
    const full = parseConfig({ ...base, port: 8443, host: '0.0.0.0', basePath: '/hooks', bodyLimit: 4096, rules: { limits: { ETH: '1.5', '*': '0' }, allowlist: ['0xab'], configChanges: 'REJECT' } }, file);
    expect(full).to.include({ port: 8443, host: '0.0.0.0', basePath: '/hooks', bodyLimit: 4096 });
    expect(full.rules).to.deep.equal({ limits: { ETH: '1.5', '*': '0' }, allowlist: ['0xab'], configChanges: 'REJECT' });
  });

  it('names each mistake', () => {
    const cases: Array<[unknown, RegExp]> = [
      [[], /must be a JSON object/],
      [{ ...base, prot: 1 }, /unknown key "prot"/],
      [{ ...base, rules: { allowList: [] } }, /unknown key "rules.allowList"/],
      [{ cosignerPublicKeyFile: 'x' }, /privateKeyFile is required/],
      [{ privateKeyFile: 'x' }, /cosignerPublicKeyFile is required/],
      [{ ...base, port: 70000 }, /port must be/],
      [{ ...base, port: '80' }, /port must be/],
      [{ ...base, basePath: 'hooks' }, /basePath must be/],
      [{ ...base, bodyLimit: 10 }, /bodyLimit/],
      [{ ...base, rules: { limits: { ETH: 1 } } }, /rules.limits.ETH must be a decimal string/],
      [{ ...base, rules: { limits: { ETH: '1e18' } } }, /rules.limits.ETH/],
      [{ ...base, rules: { allowlist: '0xab' } }, /rules.allowlist must be an array/],
      [{ ...base, rules: { allowlist: [''] } }, /rules.allowlist must be an array/],
      [{ ...base, rules: { configChanges: 'IGNORE' } }, /rules.configChanges/],
    ];
    for (const [raw, re] of cases) expect(() => parseConfig(raw, file), JSON.stringify(raw)).to.throw(re);
  });
});
