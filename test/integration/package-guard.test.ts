import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from '../helpers/processes';

jest.setTimeout(120000);

/**
 * The guard as an integrating team gets it: the package packed as npm would publish it (from the build in
 * dist/, `npm run -s build` first), unpacked into a fresh project's node_modules with its dependencies linked
 * from this repository (no registry here), then required from CommonJS and type-checked from TypeScript.
 */
const ROOT = path.resolve(__dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

describe('bulwark/guard from a packed package', () => {
  let project: string;

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-pack-'));
    const packed = execFileSync(
      'npm',
      ['pack', '--offline', '--ignore-scripts', '--silent', '--pack-destination', project],
      { cwd: ROOT, encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .pop()!;
    const into = path.join(project, 'node_modules/bulwark');
    fs.mkdirSync(into, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(project, packed), '-C', into, '--strip-components=1']);
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of [...Object.keys(manifest.dependencies), '@types/node']) {
      const link = path.join(project, 'node_modules', dep);
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(path.join(ROOT, 'node_modules', dep), link, 'dir');
    }
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  });

  afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

  it('ships the guard with declarations and keeps the CLI entry point', () => {
    const pkg = path.join(project, 'node_modules/bulwark');
    for (const file of [
      'dist/libs/withdrawal-guard/index.js',
      'dist/libs/withdrawal-guard/index.d.ts',
      'dist/services/cli/main.js',
      'config/breaker.default.yaml',
    ])
      expect({ file, exists: fs.existsSync(path.join(pkg, file)) }).toEqual({ file, exists: true });
    expect(fs.readdirSync(pkg)).not.toContain('node_modules');
    const usage = execFileSync(process.execPath, [path.join(pkg, 'dist/services/cli/main.js'), '--help'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(usage).toMatch(/^usage: bulwark/);
  });

  it("require('bulwark/guard') works from CommonJS and fails closed without Redis", async () => {
    const port = await closedPort();
    const script = `
      const { createWithdrawalGuard, MAX_CACHE_MS } = require('bulwark/guard');
      const guard = createWithdrawalGuard({ redisUrl: 'redis://127.0.0.1:${port}', prefix: 'p', timeoutMs: 200 });
      guard.check('ETH').then(async (s) => {
        await guard.close();
        console.log(JSON.stringify({ maxCacheMs: MAX_CACHE_MS, allowed: s.allowed, source: s.source }));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ maxCacheMs: 5000, allowed: false, source: 'error' });
  });

  it.each(['node16', 'node10'])(
    "type-checks `import { WithdrawalGuard } from 'bulwark/guard'` (moduleResolution %s)",
    (resolution) => {
      fs.writeFileSync(
        path.join(project, 'service.ts'),
        [
          "import { createWithdrawalGuard, type GuardStatus, WithdrawalGuard } from 'bulwark/guard';",
          "const guard: WithdrawalGuard = createWithdrawalGuard({ redisUrl: 'redis://127.0.0.1:1', prefix: 'p' });",
          "export const allowed: Promise<boolean> = guard.isAllowed('ETH');",
          "export const status: Promise<GuardStatus> = guard.check('ETH');",
          '// Real types, not `any`: a wrong argument must not compile.',
          '// @ts-expect-error isAllowed takes the asset as a string',
          'export const wrong = guard.isAllowed(42);',
          '',
        ].join('\n'),
      );
      const tsconfig = {
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: resolution === 'node16' ? 'node16' : 'commonjs',
          moduleResolution: resolution,
          types: ['node'],
          ignoreDeprecations: '6.0',
        },
        files: ['service.ts'],
      };
      fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
      let output = '';
      try {
        execFileSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
      } catch (err) {
        output = String((err as { stdout?: string }).stdout ?? err);
      }
      expect(output).toBe('');
    },
  );
});
