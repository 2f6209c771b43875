// The host configuration in deploy/: both systemd units pass `systemd-analyze verify` (in a root
// of their own holding the programs they name, so nothing is installed on this machine), the
// parent's sandbox is the one the issue asks for, the enclave runner never asks for debug mode and
// fits in what the allocator reserves, and the vsock-proxy allowlist holds the Region's KMS only.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT, requireTool } from './support.js';

const UNITS = ['cosigner-parent.service', 'cosigner-enclave.service'];
const read = (name: string) => readFileSync(join(REPO_ROOT, 'deploy', name), 'utf8');

/** `Key=value` lines of one section of a unit file (continuations joined). */
function section(unit: string, name: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let current = '';
  for (const line of unit.replace(/\\\n/g, ' ').split('\n')) {
    const header = /^\[(.+)\]$/.exec(line.trim());
    if (header) current = header[1]!;
    else if (current === name && /^[A-Za-z]+=/.test(line)) {
      const i = line.indexOf('=');
      out.push([line.slice(0, i), line.slice(i + 1).trim()]);
    }
  }
  return out;
}

const values = (unit: string, sec: string, key: string) => section(unit, sec).filter(([k]) => k === key).map(([, v]) => v);

/**
 * Runs `systemd-analyze verify` on the units inside a temporary root: the host's own system units
 * (targets), a stand-in for the allocator unit the Nitro CLI package ships, and an executable at
 * every path the units' Exec lines name.
 */
function verify(units: Record<string, string>): { code: number | null; output: string } {
  const tool = requireTool('systemd-analyze');
  const root = mkdtempSync(join(tmpdir(), 'deploy-units-'));
  try {
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/systemd/system/nitro-enclaves-allocator.service'), '[Unit]\nDescription=stand-in for the Nitro CLI package unit\n[Service]\nType=oneshot\nExecStart=/usr/bin/true\n');
    for (const [name, text] of Object.entries(units)) {
      writeFileSync(join(root, 'etc/systemd/system', name), text);
      for (const [k, v] of section(text, 'Service')) {
        if (!k.startsWith('Exec')) continue;
        const program = v.replace(/^[-@:+!]+/, '').split(/\s+/)[0]!;
        mkdirSync(join(root, dirname(program)), { recursive: true });
        writeFileSync(join(root, program), '#!/bin/sh\n');
        chmodSync(join(root, program), 0o755);
      }
    }
    const r = spawnSync(tool, ['verify', '--man=no', `--root=${root}`, ...Object.keys(units)], { encoding: 'utf8' });
    return { code: r.status, output: (r.stdout + r.stderr).trim() };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('deploy: host configuration (systemd units, allocator, vsock-proxy)', function () {
  this.timeout(60_000);

  it('both units pass systemd-analyze verify with nothing to report', () => {
    const r = verify(Object.fromEntries(UNITS.map((u) => [u, read(u)])));
    expect(r.output).to.equal('');
    expect(r.code).to.equal(0);
  });

  it('systemd-analyze verify reports a misspelt directive and a missing program (the check can fail)', () => {
    const typo = verify({ 'cosigner-parent.service': read('cosigner-parent.service').replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes') });
    expect(typo.output).to.match(/Unknown key( name)? '?NoNewPrivilege'?/);
    const tool = requireTool('systemd-analyze');
    const dir = mkdtempSync(join(tmpdir(), 'deploy-unit-'));
    try {
      writeFileSync(join(dir, 'cosigner-parent.service'), read('cosigner-parent.service'));
      const r = spawnSync(tool, ['verify', '--man=no', join(dir, 'cosigner-parent.service')], { encoding: 'utf8' });
      expect(r.status).to.not.equal(0);
      expect(r.stdout + r.stderr).to.match(/node-24 is not executable/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the parent runs as its own user, restarts on failure, and is sandboxed (no privileges, read-only system, no capabilities)', () => {
    const unit = read('cosigner-parent.service');
    const want: Array<[string, string]> = [
      ['User', 'cosigner'], ['Restart', 'on-failure'], ['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'], ['StateDirectory', 'cosigner'], ['StateDirectoryMode', '0700'], ['CapabilityBoundingSet', ''], ['AmbientCapabilities', ''],
    ];
    for (const [k, v] of want) expect(values(unit, 'Service', k), k).to.deep.equal([v]);
    expect(values(unit, 'Service', 'User')[0]).to.not.equal('root');
    // The state volume must be mounted: an empty folder must not look like a first boot.
    expect(values(unit, 'Unit', 'AssertPathIsMountPoint')).to.deep.equal(['/var/lib/cosigner']);
    const exec = values(unit, 'Service', 'ExecStart')[0]!;
    expect(exec).to.match(/^\/usr\/bin\/node-24 \/opt\/cosigner\/current\/dist\/parent\/main\.js /);
    expect(exec).to.contain('--transport vsock');
    expect(exec).to.contain('--state-dir /var/lib/cosigner');
    expect(exec).to.contain('--enclave-cid 16');
    expect(exec).to.not.match(/--allow-debug|--kms-endpoint|--kms-allow/);
    const sysusers = read('cosigner.sysusers').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(sysusers).to.deep.equal(['u cosigner - "Nitro co-signer parent" /var/lib/cosigner /usr/sbin/nologin']);
  });

  it('the enclave runner never asks for debug mode, uses the CID the parent dials, and fits in the allocator', () => {
    const unit = read('cosigner-enclave.service');
    const exec = values(unit, 'Service', 'ExecStart')[0]!;
    expect(exec).to.not.match(/debug/);
    expect(values(unit, 'Service', 'Restart')).to.deep.equal(['on-failure']);
    expect(values(unit, 'Unit', 'Requires')).to.deep.equal(['nitro-enclaves-allocator.service']);
    // A missing EIF fails the unit visibly (a Condition would skip it without a trace).
    expect(values(unit, 'Unit', 'AssertPathExists')).to.deep.equal(['/opt/cosigner/cosigner.eif']);
    expect(exec).to.contain('--eif /opt/cosigner/cosigner.eif');
    const arg = (name: string) => Number(new RegExp(`--${name} (\\d+)`).exec(exec)![1]);
    const allocator = parse(read('allocator.yaml')) as { memory_mib: number; cpu_count: number };
    expect(Object.keys(allocator).sort()).to.deep.equal(['cpu_count', 'memory_mib']);
    expect(arg('memory')).to.be.at.most(allocator.memory_mib);
    expect(arg('cpu-count')).to.be.at.most(allocator.cpu_count);
    // Intel/AMD enclaves take whole cores (two vCPUs each).
    expect(allocator.cpu_count % 2).to.equal(0);
    expect(arg('cid')).to.equal(Number(/--enclave-cid (\d+)/.exec(values(read('cosigner-parent.service'), 'Service', 'ExecStart')[0]!)![1]));
  });

  it('the vsock-proxy allowlist holds the Region\'s KMS endpoint and nothing else; the parent env names the Region', () => {
    const allow = parse(read('vsock-proxy.yaml')) as { allowlist: Array<{ address: string; port: number }> };
    expect(allow).to.deep.equal({ allowlist: [{ address: 'kms.REGION.amazonaws.com', port: 443 }] });
    expect(read('parent.env').split('\n').filter((l) => l && !l.startsWith('#'))).to.deep.equal(['COSIGNER_KMS_REGION=REGION']);
    expect(JSON.parse(read('docker-daemon.json'))).to.deep.equal({ 'log-driver': 'json-file', 'log-opts': { 'max-size': '4m', 'max-file': '5' } });
  });
});
