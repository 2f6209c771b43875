// Both production Dockerfiles, parsed (dockerfile-ast) and held to the rules a reproducible,
// minimal image needs: the Node 24 base pinned by digest with its source named, no `latest`, no
// fetching beyond the npm registry, production dependencies only from the lock file,
// SOURCE_DATE_EPOCH, and an absolute exec-form command (the Nitro init ignores WORKDIR and PATH).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { REPO_ROOT } from './support.js';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function load(name: string): { text: string; file: Dockerfile } {
  const text = readFileSync(join(REPO_ROOT, name), 'utf8');
  return { text, file: DockerfileParser.parse(text) };
}

/** The instructions of each stage, by stage name (the last, unnamed one is 'final'). */
function stages(file: Dockerfile): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] = [];
  for (const i of file.getInstructions()) {
    if (i.getKeyword() === 'FROM') {
      current = [];
      const name = /\s+AS\s+(\S+)\s*$/i.exec(i.getArgumentsContent() ?? '')?.[1];
      out.set(name ?? 'final', current);
    }
    current.push(i);
  }
  return out;
}

const args = (i: Instruction) => i.getArgumentsContent() ?? '';
/** COPY's --from stage (the parser keeps flags apart from the arguments). */
const fromFlag = (i: Instruction) => (i as unknown as { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags().find((f) => f.getName() === 'from')?.getValue() ?? null;
const ofKind = (list: Instruction[], kw: string) => list.filter((i) => i.getKeyword() === kw);

function execForm(i: Instruction): string[] {
  const parsed = JSON.parse(args(i)) as unknown;
  expect(Array.isArray(parsed) && parsed.every((x) => typeof x === 'string'), `${i.getKeyword()} must be exec form (a JSON array)`).to.equal(true);
  return parsed as string[];
}

for (const name of ['Dockerfile.enclave', 'Dockerfile.parent']) {
  describe(`deploy: ${name}`, () => {
    const { text, file } = load(name);
    const byStage = stages(file);
    const final = byStage.get('final')!;

    it('pins the Node 24 slim base by digest, says where the digest was read and when, and never uses latest', () => {
      const froms = file.getFROMs();
      const stageNames = new Set<string>();
      let bases = 0;
      for (const f of froms) {
        const image = f.getImageName();
        if (image && stageNames.has(image) && !f.getImageDigest()) {
          expect(f.getImageTag(), 'a stage reference has no tag').to.equal(null);
        } else {
          bases++;
          expect(image).to.equal('node');
          expect(f.getImageTag()).to.match(/^24-[a-z]+-slim$/);
          expect(f.getImageDigest()).to.match(DIGEST_RE);
        }
        const stage = f.getBuildStage();
        if (stage) stageNames.add(stage);
      }
      expect(bases).to.equal(1);
      expect(text).to.not.match(/:latest\b|\blatest\b(?!\s+version)/i);
      // The comment names the source of the digest and the date it was read.
      expect(text).to.match(/docker-library\/repo-info/);
      expect(text).to.match(/Read on \d{4}-\d{2}-\d{2}/);
      // No ARG can swap the base image out.
      expect(froms.map((f) => args(f)).join('\n')).to.not.contain('$');
    });

    it('uses the same base digest as the other production image', () => {
      const other = load(name === 'Dockerfile.enclave' ? 'Dockerfile.parent' : 'Dockerfile.enclave').file;
      const digest = (f: Dockerfile) => f.getFROMs().map((x) => x.getImageDigest()).filter(Boolean);
      expect(digest(file)).to.deep.equal(digest(other));
    });

    it('installs from the lock file only (npm ci), production dependencies only in the image, and fetches nothing else', () => {
      const runs = file.getInstructions().filter((i) => i.getKeyword() === 'RUN').map(args);
      for (const r of runs) {
        // Each command of the line (split at &&, ||, ;, |, { and }): what program it runs.
        for (const command of r.split(/&&|\|\||;|\||[{}]/).map((c) => c.trim()).filter(Boolean)) {
          const [program, sub] = command.split(/\s+/);
          expect(['curl', 'wget', 'git', 'apt-get', 'apt', 'apk', 'yarn', 'pnpm', 'pip', 'go'], command).to.not.include(program);
          if (program === 'npm') expect(sub, command).to.equal('ci');
          if (program === 'npm') expect(command).to.contain('--ignore-scripts');
          if (program === 'npx') expect(command).to.match(/^npx tsc /);
        }
      }
      expect(ofKind(file.getInstructions(), 'ADD')).to.deep.equal([]);
      // The final image's node_modules come from a stage that ran `npm ci --omit=dev`.
      const copies = ofKind(final, 'COPY').filter((c) => /node_modules/.test(args(c)));
      expect(copies).to.have.length(1);
      const from = fromFlag(copies[0]!)!;
      const stageRuns = ofKind(byStage.get(from)!, 'RUN').map(args);
      expect(stageRuns.filter((r) => /\bnpm ci\b/.test(r))).to.deep.equal(['npm ci --omit=dev --ignore-scripts --no-audit --no-fund']);
      // Everything copied into the image comes from a build stage, or is a named file of ours.
      for (const c of ofKind(final, 'COPY')) {
        if (fromFlag(c) === null) expect(args(c)).to.match(/^scripts\/run-enclave\.sh /);
        else expect(['build', 'deps']).to.include(fromFlag(c));
      }
      expect(ofKind(final, 'RUN').map(args).join('\n')).to.not.match(/\bnpm ci\b|\bnpx tsc\b/);
    });

    it('takes SOURCE_DATE_EPOCH as a build argument for fixed timestamps', () => {
      expect(ofKind(final, 'ARG').map(args)).to.include('SOURCE_DATE_EPOCH');
    });
  });
}

describe('deploy: Dockerfile.enclave specifics', () => {
  const { file } = load('Dockerfile.enclave');
  const final = stages(file).get('final')!;

  it('runs the enclave with an absolute exec-form CMD and no entrypoint', () => {
    const entry = ofKind(final, 'ENTRYPOINT');
    const cmd = ofKind(final, 'CMD');
    expect(entry.map(execForm)).to.deep.equal([[]]);
    expect(cmd).to.have.length(1);
    expect(file.getInstructions().indexOf(entry[0]!)).to.be.lessThan(file.getInstructions().indexOf(cmd[0]!));
    const argv = execForm(cmd[0]!);
    expect(argv[0]).to.equal('/usr/local/bin/node');
    expect(argv[1]).to.match(/^\/app\/dist\/enclave\/main\.js$/);
    expect(argv.slice(2)).to.deep.equal(['--transport', 'vsock', '--nsm', '/dev/nsm']);
    // Nothing that weakens a check is in the measured command line.
    expect(argv.join(' ')).to.not.match(/--kms-endpoint|--kms-tls-ca|--allow-plain-http-kms|--nsm-socket|loopback/);
  });

  it('builds the sealing key\'s Region and ARN in (measured), and refuses to build without them', () => {
    expect(ofKind(final, 'ARG').map(args)).to.include.members(['KMS_REGION', 'KMS_KEY_ARN']);
    const env = ofKind(final, 'ENV').map(args).join(' ');
    expect(env).to.contain('COSIGNER_KMS_REGION=${KMS_REGION}');
    expect(env).to.contain('COSIGNER_KMS_KEY_ARN=${KMS_KEY_ARN}');
    expect(ofKind(final, 'RUN').map(args).join('\n')).to.match(/test -n "\$\{KMS_REGION\}" && test -n "\$\{KMS_KEY_ARN\}" \|\| \{ .*exit 1; \}/);
  });

  it('removes the shells, the package managers and the base entrypoint script from the image', () => {
    const removal = ofKind(final, 'RUN').map(args).find((r) => r.startsWith('rm '))!;
    for (const path of ['/usr/bin/sh', '/usr/bin/bash', '/usr/bin/dash', '/bin/sh', '/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/lib/node_modules', '/usr/local/bin/corepack', '/usr/local/bin/yarn', '/usr/local/bin/docker-entrypoint.sh', '/usr/bin/apt*', '/usr/bin/dpkg*', '/usr/bin/perl*']) {
      expect(removal.split(/\s+/), path).to.include(path);
    }
    // It is the last RUN: nothing after it needs a shell.
    expect(ofKind(final, 'RUN').at(-1)).to.equal(ofKind(final, 'RUN').find((i) => args(i).startsWith('rm ')));
  });
});

describe('deploy: Dockerfile.parent specifics', () => {
  const { file } = load('Dockerfile.parent');
  const final = stages(file).get('final')!;

  it('runs the parent daemon with an absolute exec-form entrypoint, not as root', () => {
    const entry = ofKind(final, 'ENTRYPOINT').map(execForm);
    expect(entry).to.deep.equal([['/usr/local/bin/node', '/app/dist/parent/main.js']]);
    expect(ofKind(final, 'CMD')).to.deep.equal([]);
    expect(ofKind(final, 'USER').map(args)).to.deep.equal(['node']);
  });

  it('documents running it with the json-file log driver rotated at 4 MB per file', () => {
    const text = readFileSync(join(REPO_ROOT, 'Dockerfile.parent'), 'utf8');
    expect(text).to.contain('--log-driver json-file --log-opt max-size=4m');
  });
});
