import { expect } from 'chai';
import { parseParentConfig } from '../../parent/config.js';
import { parseEnclaveConfig } from '../../enclave/config.js';
import { AWS_NITRO_ROOT_G1_PEM } from '../../shared/attestation/verify.js';
import { expectCosignerError } from '../support/expect-error.js';

const base = ['--kms-region', 'eu-west-1'];

describe('entry-point configuration', () => {
  it('parent: production defaults — real vsock, the regional KMS endpoint as the only allowed target, the AWS root pinned', () => {
    const c = parseParentConfig(base);
    expect(c.transport).to.equal('vsock');
    expect(c.kms.endpoint).to.equal('https://kms.eu-west-1.amazonaws.com');
    expect(c.kmsTarget).to.deep.equal({ host: 'kms.eu-west-1.amazonaws.com', port: 443 });
    expect(c.kmsAllowlist).to.deep.equal([c.kmsTarget]);
    expect(c.attestationRootPem).to.equal(AWS_NITRO_ROOT_G1_PEM);
    expect(c.enclaveCid).to.deep.equal({ kind: 'fixed', cid: 16 });
    expect(c.logDir, 'customer_cosigner.log and run.log go to the state folder by default').to.equal(c.stateDir);
    expect(parseParentConfig([...base, '--log-dir', '/var/log/cosigner']).logDir).to.equal('/var/log/cosigner');
    expect(parseParentConfig([...base, '--enclave-cid', 'auto', '--enclave-name', 'cosigner']).enclaveCid).to.deep.equal({ kind: 'auto', name: 'cosigner', nitroCli: 'nitro-cli' });
  });

  it('parent: refuses what it cannot use', () => {
    expectCosignerError(() => parseParentConfig([]), 'CONFIG_INVALID', /--kms-region is required/);
    expectCosignerError(() => parseParentConfig([...base, '--enclave-cid', '3']), 'CONFIG_INVALID', /--enclave-cid/);
    expectCosignerError(() => parseParentConfig([...base, '--enclave-cid', '1e3']), 'CONFIG_INVALID', /--enclave-cid/);
    expectCosignerError(() => parseParentConfig([...base, '--transport', 'loopback']), 'CONFIG_INVALID', /--loopback-dir/);
    expectCosignerError(() => parseParentConfig([...base, '--kms-endpoint', 'ftp://x']), 'CONFIG_INVALID', /http/);
    expectCosignerError(() => parseParentConfig([...base, '--kms-allow', 'nohostport']), 'CONFIG_INVALID', /host:port/);
    expectCosignerError(() => parseParentConfig([...base, '--credentials', 'file']), 'CONFIG_INVALID', /--credentials/);
    // Another endpoint is not allowed by default: the proxy then refuses to start (kms-proxy tests).
    expect(parseParentConfig([...base, '--kms-endpoint', 'https://evil.example']).kmsAllowlist).to.deep.equal([{ host: 'kms.eu-west-1.amazonaws.com', port: 443 }]);
    expect(() => parseParentConfig([...base, '--surprise'])).to.throw(/Unknown option/);
  });

  it('enclave: the real device unless the emulator socket is named; local-only weakenings are off by default', () => {
    const key = ['--kms-region', 'eu-west-1', '--kms-key-arn', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'];
    const c = parseEnclaveConfig(key, {});
    expect(c.transport).to.equal('vsock');
    expect(c.nsmDevice).to.equal('/dev/nsm');
    expect(c.nsmSocket).to.equal(undefined);
    expect(c.allowPlainHttpKms).to.equal(false);
    expect(c.kmsTlsCa).to.equal(undefined);
    expect(c.callbackRetryIntervalMs, 'RETRY waits 3 minutes').to.equal(180_000);
    expect(parseEnclaveConfig([...key, '--callback-retry-interval-ms', '250'], {}).callbackRetryIntervalMs).to.equal(250);
    expectCosignerError(() => parseEnclaveConfig([...key, '--callback-retry-interval-ms', '5'], {}), 'CONFIG_INVALID', /--callback-retry-interval-ms/);
    // The endpoint is derived from the region; the parent has no say in it.
    expect(c.kms.endpoint).to.equal('https://kms.eu-west-1.amazonaws.com');
    expect(parseEnclaveConfig([], { COSIGNER_KMS_REGION: 'eu-west-1', COSIGNER_KMS_KEY_ARN: key[3] }).kms.keyArn).to.equal(key[3]);
    expectCosignerError(() => parseEnclaveConfig([], {}), 'CONFIG_INVALID', /--kms-region/);
    expectCosignerError(() => parseEnclaveConfig(['--kms-region', 'attacker.example#'], {}), 'CONFIG_INVALID', /--kms-region/);
    expectCosignerError(() => parseEnclaveConfig(['--kms-region', 'eu-west-1', '--kms-key-arn', 'alias/mine'], {}), 'CONFIG_INVALID', /--kms-key-arn/);
    expectCosignerError(() => parseEnclaveConfig(['--kms-region', 'us-east-1', '--kms-key-arn', key[3]!], {}), 'CONFIG_INVALID', /not in --kms-region/);
    const local = parseEnclaveConfig([...key, '--transport', 'loopback', '--loopback-dir', '/tmp/x', '--nsm-socket', '/tmp/x/nsm.sock', '--cid', '21'], {});
    expect(local.nsmDevice).to.equal(undefined);
    expect(local.cid).to.equal(21);
    expectCosignerError(() => parseEnclaveConfig([...key, '--nsm', '/dev/nsm', '--nsm-socket', '/x'], {}), 'CONFIG_INVALID', /not both/);
    expectCosignerError(() => parseEnclaveConfig([...key, '--rpc-port', '0'], {}), 'CONFIG_INVALID', /--rpc-port/);
    expectCosignerError(() => parseEnclaveConfig([...key, '--transport', 'tcp'], {}), 'CONFIG_INVALID', /--transport/);
  });
});
