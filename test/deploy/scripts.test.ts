// The deployment scripts, run for real with `nitro-cli` and `docker` replaced by recording stubs
// on PATH (these machines have neither a Docker engine nor Nitro hardware): argument handling,
// the debug-mode refusal, what they pass to the tools, and that they never overwrite a release.
// Every script passes shellcheck.
import { expect } from 'chai';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kmsPolicy, REPO_ROOT, requireTool } from './support.js';

const PCR = (b: string) => b.repeat(48);
const MEASUREMENTS = { Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: PCR('a1'), PCR1: PCR('b2'), PCR2: PCR('c3') } };
const REGION = 'eu-west-1';
const KEY_ARN = `arn:aws:kms:${REGION}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/**
 * A stub that appends its name and arguments (one JSON line per call) to $STUB_LOG and answers
 * like the real tool would for the calls the scripts make.
 */
const NITRO_CLI_STUB = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$('${process.execPath}' -e 'console.log(JSON.stringify(process.argv.slice(1)))' nitro-cli "$@")" >> "$STUB_LOG"
case "$1" in
  build-enclave)
    if [ "\${STUB_BUILD_FAIL:-0}" = 1 ]; then echo '[ E48 ] EIF building error' >&2; exit 3; fi
    if [ "\${STUB_BUILD_SILENT:-0}" = 1 ]; then exit 0; fi
    while [ "$#" -gt 0 ]; do
      if [ "$1" = --output-file ]; then printf 'EIF' > "$2"; fi
      shift
    done
    echo 'Start building the Enclave Image...'
    cat "$STUB_MEASUREMENTS" ;;
  describe-enclaves)
    n=$(cat "$STUB_DIR/describe-count" 2>/dev/null || echo 0)
    echo $((n + 1)) > "$STUB_DIR/describe-count"
    if [ "$n" -lt "\${STUB_RUNNING_FOR:-0}" ]; then
      printf '[\\n  {\\n    "EnclaveName": "cosigner",\\n    "EnclaveID": "i-0-enc1",\\n    "EnclaveCID": 16,\\n    "State": "RUNNING"\\n  }\\n]\\n'
    else
      echo '[]'
    fi ;;
  run-enclave) echo '{"EnclaveName": "cosigner", "EnclaveCID": 16}' ;;
  terminate-enclave) echo '{"Terminated": true}' ;;
esac
`;

const DOCKER_STUB = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$('${process.execPath}' -e 'console.log(JSON.stringify(process.argv.slice(1)))' docker "$@")" >> "$STUB_LOG"
case "$1 \${2:-}" in
  "image inspect") echo "sha256:$(printf '0123456789abcdef%.0s' 1 2 3 4)" ;;
  "create "*) echo c0ffee ;;
  "cp "*)
    if [ "\${STUB_IMAGE_EMPTY:-0}" = 1 ]; then mkdir -p "$3"; else mkdir -p "$3/dist/parent" && echo 'main' > "$3/dist/parent/main.js"; fi ;;
esac
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Every stub call, as [tool, ...args]. */
  calls: string[][];
}

class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'deploy-scripts-'));
  readonly bin = join(this.dir, 'bin');
  readonly log = join(this.dir, 'calls.log');
  readonly measurements = join(this.dir, 'measurements.json');

  constructor() {
    mkdirSync(this.bin);
    for (const [name, body] of [['nitro-cli', NITRO_CLI_STUB], ['docker', DOCKER_STUB]] as const) {
      writeFileSync(join(this.bin, name), body);
      chmodSync(join(this.bin, name), 0o755);
    }
    writeFileSync(this.measurements, JSON.stringify(MEASUREMENTS, null, 2));
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:${process.env.PATH}`,
      HOME: this.dir,
      STUB_LOG: this.log,
      STUB_DIR: this.dir,
      STUB_MEASUREMENTS: this.measurements,
      ...extra,
    };
  }

  calls(): string[][] {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : [];
  }

  run(script: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
    rmSync(this.log, { force: true });
    const r: SpawnSyncReturns<string> = spawnSync('bash', [script, ...args], { cwd: opts.cwd ?? this.dir, env: this.env(opts.env), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls: this.calls() };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_AUTHOR_DATE: '2026-11-30T12:00:00Z', GIT_COMMITTER_DATE: '2026-11-30T12:00:00Z' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('deploy: scripts', function () {
  this.timeout(120_000);
  let box: Sandbox;
  beforeEach(() => {
    box = new Sandbox();
  });
  afterEach(() => box?.remove());

  it('every shell script passes shellcheck', () => {
    const shellcheck = requireTool('shellcheck');
    const scripts = readdirSync(join(REPO_ROOT, 'scripts')).filter((f) => f.endsWith('.sh')).map((f) => join('scripts', f));
    expect(scripts).to.include.members(['scripts/build-eif.sh', 'scripts/run-enclave.sh', 'scripts/install-parent.sh', 'scripts/ci-deps.sh']);
    const r = spawnSync(shellcheck, ['--severity=style', ...scripts], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    // The check can fail: a classic unquoted expansion is reported.
    const bad = join(box.dir, 'bad.sh');
    writeFileSync(bad, '#!/usr/bin/env bash\nrm -rf $1/tmp\n');
    expect(spawnSync(shellcheck, [bad], { encoding: 'utf8' }).status).to.not.equal(0);
  });

  describe('run-enclave.sh', () => {
    const script = join(REPO_ROOT, 'scripts', 'run-enclave.sh');
    let eif: string;
    beforeEach(() => {
      eif = join(box.dir, 'cosigner.eif');
      writeFileSync(eif, 'EIF');
    });

    it('--help prints the options and runs nothing', () => {
      const r = box.run(script, ['--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/usage: scripts\/run-enclave\.sh/);
      expect(r.stdout).to.match(/--debug-mode/);
      expect(r.calls).to.deep.equal([]);
    });

    it('starts the enclave with the memory, CPU count and CID given (defaults 4096, 2, 16)', () => {
      let r = box.run(script, ['--eif', eif]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.calls).to.deep.equal([['nitro-cli', 'run-enclave', '--enclave-name', 'cosigner', '--eif-path', eif, '--memory', '4096', '--cpu-count', '2', '--enclave-cid', '16']]);
      r = box.run(script, ['--eif', eif, '--memory', '6144', '--cpu-count', '4', '--cid', '21', '--name', 'cosigner-b']);
      expect(r.calls).to.deep.equal([['nitro-cli', 'run-enclave', '--enclave-name', 'cosigner-b', '--eif-path', eif, '--memory', '6144', '--cpu-count', '4', '--enclave-cid', '21']]);
    });

    it('refuses --debug-mode without --allow-debug, saying that debug mode zeroes the PCRs so KMS refuses the key', () => {
      const r = box.run(script, ['--eif', eif, '--debug-mode']);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/--debug-mode refused: a debug-mode enclave attests with PCR0, PCR1, PCR2 \(and PCR8\) all zero, so KMS refuses the sealing key's policy/);
      expect(r.stderr).to.match(/--allow-debug/);
      expect(r.calls).to.deep.equal([]);
      const allowed = box.run(script, ['--eif', eif, '--debug-mode', '--allow-debug']);
      expect(allowed.code, allowed.stderr).to.equal(0);
      expect(allowed.stderr).to.match(/WARNING: debug mode: PCRs are zero, KMS will refuse the sealing key/);
      expect(allowed.calls[0]!.slice(-1)).to.deep.equal(['--debug-mode']);
    });

    it('refuses bad arguments before calling nitro-cli', () => {
      const cases: Array<[string[], RegExp]> = [
        [['--memory', 'lots'], /--memory must be an integer from 64 to/],
        [['--memory', '32'], /--memory must be an integer from 64/],
        [['--cpu-count', '0'], /--cpu-count must be an integer from 1/],
        [['--cid', '3'], /--cid must be an integer from 4 to 4294967294/],
        [['--cid', '4294967295'], /--cid must be/],
        [['--name', 'a b'], /--name may hold letters/],
        [['--memory'], /--memory needs a value/],
        [['--bogus'], /unknown argument: --bogus/],
      ];
      for (const [args, message] of cases) {
        const r = box.run(script, ['--eif', eif, ...args]);
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.stderr, args.join(' ')).to.match(message);
        expect(r.calls, args.join(' ')).to.deep.equal([]);
      }
      const missing = box.run(script, ['--eif', join(box.dir, 'none.eif')]);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.match(/no EIF at .*none\.eif/);
    });

    it('--watch exits 1 when the enclave is gone (so systemd restarts it)', () => {
      const r = box.run(script, ['--eif', eif, '--watch'], { env: { COSIGNER_WATCH_INTERVAL: '1', STUB_RUNNING_FOR: '2' } });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/enclave cosigner is no longer running/);
      expect(r.calls.map((c) => c[1])).to.deep.equal(['run-enclave', 'describe-enclaves', 'describe-enclaves', 'describe-enclaves']);
    });

    it('--watch terminates the enclave and exits 0 when stopped (SIGTERM)', async () => {
      rmSync(box.log, { force: true });
      const child = spawn('bash', [script, '--eif', eif, '--watch'], { env: box.env({ COSIGNER_WATCH_INTERVAL: '1', STUB_RUNNING_FOR: '1000' }), stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      const deadline = Date.now() + 30_000;
      while (!box.calls().some((c) => c[1] === 'describe-enclaves') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
      expect(box.calls().filter((c) => c[1] === 'describe-enclaves').length).to.be.greaterThan(0);
      expect(box.calls().at(-1)).to.deep.equal(['nitro-cli', 'terminate-enclave', '--enclave-name', 'cosigner']);
    });
  });

  describe('build-eif.sh', () => {
    let repo: string;
    let script: string;
    beforeEach(() => {
      // A checkout of its own, so that clean/dirty and the commit time are the test's.
      repo = join(box.dir, 'repo');
      mkdirSync(join(repo, 'scripts'), { recursive: true });
      copyFileSync(join(REPO_ROOT, 'scripts', 'build-eif.sh'), join(repo, 'scripts', 'build-eif.sh'));
      copyFileSync(join(REPO_ROOT, 'Dockerfile.enclave'), join(repo, 'Dockerfile.enclave'));
      git(repo, 'init', '-q');
      git(repo, 'add', '.');
      git(repo, 'commit', '-qm', 'release');
      script = join(repo, 'scripts', 'build-eif.sh');
    });

    it('--help prints the options and runs nothing', () => {
      const r = box.run(script, ['--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/usage: scripts\/build-eif\.sh --kms-region <region> --kms-key-arn <key arn>/);
      expect(r.stdout).to.match(/--signing-certificate/);
      expect(r.calls).to.deep.equal([]);
    });

    it('builds the image reproducibly (commit time as SOURCE_DATE_EPOCH, timestamps rewritten), then the EIF, and saves the measurements beside it', async () => {
      const out = join(box.dir, 'out', 'cosigner.eif');
      const r = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', out], { cwd: repo });
      expect(r.code, r.stderr).to.equal(0);
      const commit = git(repo, 'rev-parse', 'HEAD');
      const tag = `cosigner-enclave:${commit.slice(0, 12)}`;
      expect(r.calls).to.deep.equal([
        ['docker', 'buildx', 'build', '--file', join(repo, 'Dockerfile.enclave'), '--platform', 'linux/amd64',
          '--build-arg', `SOURCE_DATE_EPOCH=${Date.parse('2026-11-30T12:00:00Z') / 1000}`, '--build-arg', `KMS_REGION=${REGION}`, '--build-arg', `KMS_KEY_ARN=${KEY_ARN}`,
          '--provenance=false', '--sbom=false', '--output', `type=docker,name=${tag},rewrite-timestamp=true`, repo],
        ['nitro-cli', 'build-enclave', '--docker-uri', tag, '--output-file', out],
      ]);
      const measurements = join(box.dir, 'out', 'cosigner.measurements.json');
      expect(JSON.parse(readFileSync(measurements, 'utf8'))).to.deep.equal(MEASUREMENTS);
      expect(existsSync(`${measurements}.partial`) || existsSync(`${measurements}.output`)).to.equal(false);
      // The file is what `cosigner kms-policy --measurements` reads.
      const policy = await kmsPolicy('--account', '111122223333', '--parent-role', 'arn:aws:iam::111122223333:role/p', '--measurements', measurements);
      expect(policy.code, policy.stderr).to.equal(0);
      expect(policy.stdout).to.contain(PCR('a1'));

      // A second build never overwrites the release.
      const again = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', out], { cwd: repo });
      expect(again.code).to.equal(2);
      expect(again.stderr).to.match(/cosigner\.eif exists; refusing to overwrite it/);
      expect(again.calls).to.deep.equal([]);
    });

    it('leaves no measurements file when nitro-cli fails or prints none', () => {
      for (const env of [{ STUB_BUILD_FAIL: '1' }, { STUB_BUILD_SILENT: '1' }] as Array<Record<string, string>>) {
        const out = join(box.dir, `failed-${Object.keys(env)[0]}.eif`);
        const r = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', out], { cwd: repo, env });
        expect(r.code).to.not.equal(0);
        const base = out.replace(/\.eif$/, '.measurements.json');
        expect([existsSync(base), existsSync(`${base}.partial`), existsSync(`${base}.output`)]).to.deep.equal([false, false, false]);
      }
      const silent = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', join(box.dir, 'again.eif')], { cwd: repo, env: { STUB_BUILD_SILENT: '1' } });
      expect(silent.stderr).to.match(/nitro-cli did not print the measurements/);
    });

    it('signs the EIF when given a certificate and key (PCR8)', () => {
      const cert = join(box.dir, 'cert.pem');
      const key = join(box.dir, 'key.pem');
      writeFileSync(cert, 'cert');
      writeFileSync(key, 'key');
      const out = join(box.dir, 'signed.eif');
      const r = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', out, '--signing-certificate', cert, '--private-key', key], { cwd: repo });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.calls[1]!.slice(1)).to.deep.equal(['build-enclave', '--docker-uri', r.calls[1]![3]!, '--output-file', out, '--signing-certificate', cert, '--private-key', key]);
      expect(r.stderr).to.contain('--pin pcr8');
    });

    it('refuses a checkout with uncommitted changes unless --allow-dirty', () => {
      writeFileSync(join(repo, 'Dockerfile.enclave'), readFileSync(join(repo, 'Dockerfile.enclave'), 'utf8') + '\n# local change\n');
      const out = join(box.dir, 'dirty.eif');
      const r = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', out], { cwd: repo });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/uncommitted changes, so its PCR0 would match no commit/);
      expect(r.calls).to.deep.equal([]);
      const allowed = box.run(script, ['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', out, '--allow-dirty'], { cwd: repo });
      expect(allowed.code, allowed.stderr).to.equal(0);
    });

    it('refuses bad arguments before building anything', () => {
      const cases: Array<[string[], RegExp]> = [
        [[], /--kms-region is required/],
        [['--kms-region', REGION], /--kms-key-arn is required/],
        [['--kms-region', 'Europe', '--kms-key-arn', KEY_ARN], /--kms-region is not an AWS Region/],
        [['--kms-region', REGION, '--kms-key-arn', 'alias/cosigner'], /--kms-key-arn is not a KMS key ARN/],
        [['--kms-region', 'us-east-1', '--kms-key-arn', KEY_ARN], /--kms-key-arn is in eu-west-1, not in --kms-region us-east-1/],
        [['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--signing-certificate', 'c.pem'], /--signing-certificate and --private-key go together/],
        [['--kms-region', REGION, '--kms-key-arn', KEY_ARN, '--output', 'x.img'], /--output must end in \.eif/],
        [['--kms-region'], /--kms-region needs a value/],
        [['--frobnicate'], /unknown argument: --frobnicate/],
      ];
      for (const [args, message] of cases) {
        const r = box.run(script, args, { cwd: repo });
        expect(r.code, args.join(' ')).to.equal(2);
        expect(r.stderr, args.join(' ')).to.match(message);
        expect(r.calls, args.join(' ')).to.deep.equal([]);
      }
    });
  });

  describe('install-parent.sh', () => {
    const script = join(REPO_ROOT, 'scripts', 'install-parent.sh');

    it('copies the image\'s /app into a new release and switches current to it; never overwrites a release', () => {
      const prefix = join(box.dir, 'opt');
      const r = box.run(script, ['--image', 'cosigner-parent:abc', '--prefix', prefix]);
      expect(r.code, r.stderr).to.equal(0);
      const release = join(prefix, 'releases', '0123456789abcdef');
      expect(readFileSync(join(release, 'dist', 'parent', 'main.js'), 'utf8')).to.equal('main\n');
      expect(readlinkSync(join(prefix, 'current'))).to.equal('releases/0123456789abcdef');
      expect(r.calls).to.deep.equal([
        ['docker', 'image', 'inspect', '--format', '{{.Id}}', 'cosigner-parent:abc'],
        ['docker', 'create', 'cosigner-parent:abc'],
        ['docker', 'cp', 'c0ffee:/app', `${release}.partial`],
        ['docker', 'rm', '-f', 'c0ffee'],
      ]);
      const again = box.run(script, ['--image', 'cosigner-parent:abc', '--prefix', prefix]);
      expect(again.code).to.equal(2);
      expect(again.stderr).to.match(/is already installed; refusing to overwrite it/);
    });

    it('refuses an image that is not the parent\'s, and leaves nothing behind', () => {
      const prefix = join(box.dir, 'opt');
      const r = box.run(script, ['--image', 'something-else', '--prefix', prefix], { env: { STUB_IMAGE_EMPTY: '1' } });
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/has no \/app\/dist\/parent\/main\.js/);
      expect(readdirSync(join(prefix, 'releases'))).to.deep.equal([]);
      expect(existsSync(join(prefix, 'current'))).to.equal(false);
      expect(r.calls.at(-1)).to.deep.equal(['docker', 'rm', '-f', 'c0ffee']);
      const usage = box.run(script, []);
      expect(usage.code).to.equal(2);
      expect(usage.stderr).to.match(/--image is required/);
    });
  });
});
