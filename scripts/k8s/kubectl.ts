/*
 * kubectl against one cluster, with bounded time. A refusal is thrown with the API server's own
 * message (kubectl's stderr), which is what an operator needs to read.
 */
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';
import type { KubeObject } from './sync-plan.ts';

export class KubectlError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`kubectl ${args.join(' ')} failed (exit ${code}):\n${stderr.trim()}`);
  }
}

export interface KubectlOptions {
  readonly input?: string;
  /** @default 120000 */
  readonly timeoutMs?: number;
}

export class Kubectl {
  /** The API server's warnings (`Warning: ...` on stderr of commands that succeeded), in order. */
  readonly warnings: string[] = [];

  constructor(
    readonly binary: string,
    readonly kubeconfig: string,
  ) {}

  run(args: readonly string[], options: KubectlOptions = {}): Promise<string> {
    const full = ['--kubeconfig', this.kubeconfig, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, full, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        stderr += `\n(killed after ${options.timeoutMs ?? 120_000} ms)`;
        child.kill('SIGKILL');
      }, options.timeoutMs ?? 120_000);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) {
          this.warnings.push(...stderr.split('\n').filter((line) => line.startsWith('Warning: ')));
          resolve(stdout);
        } else reject(new KubectlError(args, stderr, code));
      });
      child.stdin.end(options.input ?? '');
    });
  }

  async json<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.run([...args, '-o', 'json'])) as T;
  }

  /** Server-side apply, as ArgoCD does with `ServerSideApply=true`; `dryRun` asks the server to check only. */
  apply(objects: readonly KubeObject[], options: { dryRun?: boolean; fieldManager?: string } = {}): Promise<string> {
    const args = [
      'apply',
      '--server-side',
      '--force-conflicts',
      `--field-manager=${options.fieldManager ?? 'argocd-controller'}`,
    ];
    if (options.dryRun) args.push('--dry-run=server');
    args.push('-f', '-');
    return this.run(args, { input: objects.map((o) => `---\n${stringify(o)}`).join('') });
  }
}
